package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness"
)

// world is a team, a channel and a user on the in-memory server.
type world struct {
	user    *model.User
	channel *model.Channel
}

func newWorld(t *testing.T, h *harness.Harness) world {
	t.Helper()
	api := h.API()
	team, appErr := api.CreateTeam(&model.Team{Name: "team" + model.NewId()[:8], DisplayName: "Team", Type: model.TeamOpen})
	if appErr != nil {
		t.Fatal(appErr)
	}
	user, appErr := api.CreateUser(&model.User{Username: "user" + model.NewId()[:8], Email: model.NewId()[:8] + "@example.com", Password: "Password1!"})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := api.CreateTeamMember(team.Id, user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	channel, appErr := api.CreateChannel(&model.Channel{TeamId: team.Id, Name: "chan" + model.NewId()[:8], DisplayName: "Chan", Type: model.ChannelTypeOpen})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := api.AddChannelMember(channel.Id, user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	return world{user: user, channel: channel}
}

func (w world) post(h *harness.Harness, message string) (*model.Post, *model.AppError) {
	return h.API().CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: message})
}

func kvGet(h *harness.Harness, pluginID, key string) string {
	value, _ := h.Server().NewPluginAPI(&model.Manifest{Id: pluginID}).KVGet(key)
	return string(value)
}

const messagePlugin = `
from mmplugin import Context, Plugin, Reject
from mmplugin.models import Post


class TestPlugin(Plugin):
    def on_configuration_change(self) -> None:
        greeting = self.api.get_plugin_config().get("greeting", "")
        self.api.kv_set("events", (self._events() + "config:" + greeting + ";").encode())

    def on_activate(self) -> None:
        self.api.kv_set("events", (self._events() + "activate;").encode())

    def _events(self) -> str:
        return (self.api.kv_get("events") or b"").decode()

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | Reject | None:
        if "spam" in post.message:
            return Reject("no spam, please")
        if post.message == "echo":
            # Re-entrant: creating a post runs this hook again, for the new post.
            self.api.create_post(Post(channel_id=post.channel_id, user_id=post.user_id, message="echo reply"))
            return None
        if post.message == "wrong type":
            return 42  # type: ignore[return-value]
        if post.message.startswith("hello"):
            post.message = post.message.replace("hello", "HELLO")
            return post
        return None

    def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        if post.message == "boom":
            raise ValueError("boom from message_has_been_posted")
`

func activatePython(t *testing.T, h *harness.Harness, id, code string, config map[string]any) {
	t.Helper()
	pythonPlugin(t, h, id, map[string]string{"plugin.py": code})
	if config != nil {
		h.SetPluginConfig(id, config)
	}
	if err := h.Activate(id); err != nil {
		t.Fatalf("activate %s: %v", id, err)
	}
}

func TestConfigurationChangeRunsBeforeActivate(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, map[string]any{"greeting": "hi"})
	if got, want := kvGet(h, "com.example.msg", "events"), "config:hi;activate;"; got != want {
		t.Fatalf("events = %q, want %q", got, want)
	}
	implemented, err := h.Hooks("com.example.msg").Implemented()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MessageHasBeenPosted", "MessageWillBePosted", "OnActivate", "OnConfigurationChange"}
	if strings.Join(implemented, ",") != strings.Join(want, ",") {
		t.Fatalf("Implemented() = %v, want %v", implemented, want)
	}
}

func TestMessageWillBePostedReplacesAndRejects(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, nil)
	w := newWorld(t, h)

	post, appErr := w.post(h, "hello world")
	if appErr != nil {
		t.Fatal(appErr)
	}
	if post.Message != "HELLO world" {
		t.Errorf("replaced message = %q, want %q", post.Message, "HELLO world")
	}
	_, appErr = w.post(h, "buy spam now")
	if appErr == nil || !strings.Contains(appErr.Error(), "no spam, please") {
		t.Errorf("rejection = %v, want an error carrying the plugin's reason", appErr)
	}
	post, appErr = w.post(h, "untouched")
	if appErr != nil || post.Message != "untouched" {
		t.Errorf("allowed post = %v, %v", post, appErr)
	}
}

func TestReentrantHookDoesNotDeadlock(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, nil)
	w := newWorld(t, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, appErr := w.post(h, "echo"); appErr != nil {
			t.Error(appErr)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a hook that creates a post (running the hook again) did not return: deadlock")
	}
	posts, appErr := h.API().GetPostsForChannel(w.channel.Id, 0, 10)
	if appErr != nil {
		t.Fatal(appErr)
	}
	var messages []string
	for _, id := range posts.Order {
		messages = append(messages, posts.Posts[id].Message)
	}
	if len(messages) != 2 || !strings.Contains(strings.Join(messages, "|"), "echo reply") {
		t.Fatalf("posts in channel = %q, want the post and the reply created from inside the hook", messages)
	}
}

func TestTwoHundredHooksInFlight(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, nil)
	hooks := h.Hooks("com.example.msg")
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := &model.Post{Id: model.NewId(), Message: "hello " + strconv.Itoa(i)}
			out, reason := hooks.MessageWillBePosted(&plugin.Context{}, in)
			if reason != "" || out == nil || out.Message != "HELLO "+strconv.Itoa(i) {
				errs <- fmt.Sprintf("call %d: got %v, %q", i, out, reason)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestHookThatRaisesIsLoggedAndTheServerCarriesOn(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, nil)
	w := newWorld(t, h)
	if _, appErr := w.post(h, "boom"); appErr != nil {
		t.Fatalf("the post itself must succeed, the hook runs after it: %v", appErr)
	}
	h.WaitAsync()
	entry := h.Log().Wait(t, harness.LogQuery{Level: "error", Message: "boom from message_has_been_posted"}, 10*time.Second)
	if !strings.Contains(entry.String(), "Traceback") && !strings.Contains(entry.String(), "ValueError") {
		t.Errorf("the log entry has no traceback: %s", entry)
	}
	if post, appErr := w.post(h, "hello again"); appErr != nil || post.Message != "HELLO again" {
		t.Fatalf("after a failing hook: %v, %v", post, appErr)
	}
}

func TestWrongReturnTypeKeepsThePostAndSaysWhy(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, nil)
	w := newWorld(t, h)
	post, appErr := w.post(h, "wrong type")
	if appErr != nil || post.Message != "wrong type" {
		t.Fatalf("post = %v, %v; want it kept unchanged (Mattermost's default)", post, appErr)
	}
	h.Log().Wait(t, harness.LogQuery{Message: "message_will_be_posted"}, 10*time.Second)
}

func TestOnlyOnActivateIsReported(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.only", `
from mmplugin import Plugin


class TestPlugin(Plugin):
    def on_activate(self) -> None:
        self.api.kv_set("activated", b"yes")
`, nil)
	implemented, err := h.Hooks("com.example.only").Implemented()
	if err != nil {
		t.Fatal(err)
	}
	if len(implemented) != 1 || implemented[0] != "OnActivate" {
		t.Fatalf("Implemented() = %v, want exactly [OnActivate]", implemented)
	}
	if got := kvGet(h, "com.example.only", "activated"); got != "yes" {
		t.Fatalf("on_activate did not run: kv = %q", got)
	}
}

// pythonPIDs finds the plugin's Python processes by their working directory.
func pythonPIDs(t *testing.T, pluginDir string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if strings.Contains(string(cmdline), "mmplugin._runtime") && cwd == pluginDir {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestKilledPythonComesBackAndServes(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.msg", messagePlugin, map[string]any{"greeting": "hi"})
	pluginDir, _ := filepath.EvalSymlinks(filepath.Join(h.PluginDir(), "com.example.msg"))
	pids := pythonPIDs(t, pluginDir)
	if len(pids) != 1 {
		t.Fatalf("found Python processes %v, want one", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	hooks := h.Hooks("com.example.msg")
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := hooks.MessageWillBePosted(&plugin.Context{}, &model.Post{Message: "hello back"})
		if out != nil && out.Message == "HELLO back" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the plugin did not serve hooks again within 30s of its Python process being killed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if now := pythonPIDs(t, pluginDir); len(now) != 1 || now[0] == pids[0] {
		t.Fatalf("Python processes after restart = %v (killed %d)", now, pids[0])
	}
	// The restart replayed OnConfigurationChange and OnActivate.
	if got, want := kvGet(h, "com.example.msg", "events"), "config:hi;activate;config:hi;activate;"; got != want {
		t.Fatalf("events = %q, want %q", got, want)
	}
	if err := h.HealthCheck("com.example.msg"); err != nil {
		t.Fatalf("health check after restart: %v", err)
	}
}

func TestPluginLogsReachTheServerLogWithKeyValues(t *testing.T) {
	h := harness.New(t)
	activatePython(t, h, "com.example.logs", `
import logging

from mmplugin import Plugin


class TestPlugin(Plugin):
    def on_activate(self) -> None:
        self.log.info("activated with answer", answer=42, team="blue")
        logging.getLogger("third.party").warning("a library warns", extra={"code": "W1"})
        try:
            raise KeyError("missing-key")
        except KeyError:
            self.log.exception("lookup failed", key="missing-key")
`, nil)
	info := h.Log().Wait(t, harness.LogQuery{Level: "info", Message: "activated with answer"}, 10*time.Second)
	if info.Fields["answer"] != "42" || info.Fields["team"] != "blue" || info.Fields["plugin_id"] != "com.example.logs" {
		t.Errorf("key/values are not separate fields of the server's log line: %s", info)
	}
	warn := h.Log().Wait(t, harness.LogQuery{Level: "warn", Message: "a library warns"}, 10*time.Second)
	if warn.Fields["code"] != "W1" {
		t.Errorf("extra= values of a stdlib logger are lost: %s", warn)
	}
	failure := h.Log().Wait(t, harness.LogQuery{Level: "error", Message: "lookup failed"}, 10*time.Second)
	if !strings.Contains(failure.String(), "missing-key") || !strings.Contains(failure.String(), "Traceback") {
		t.Errorf("the exception's traceback is not in the log line: %s", failure)
	}
}
