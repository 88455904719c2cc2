package harness_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

const goPluginID = "com.mmplugin.harness-goplugin"

// startGoPlugin installs and activates the Go test plugin in a fresh harness.
func startGoPlugin(t testing.TB, opts ...harness.Option) *harness.Harness {
	t.Helper()
	h := harness.New(t, opts...)
	manifest, _, err := model.FindManifest("testdata/goplugin")
	if err != nil {
		t.Fatal(err)
	}
	h.Install(harness.Bundle{Manifest: manifest, Executable: harness.BuildBinary(t, "./testdata/goplugin")})
	if err := h.Activate(goPluginID); err != nil {
		t.Fatalf("activate: %v", err)
	}
	return h
}

// world is a team with a channel and a member, made through the admin API.
type world struct {
	user    *model.User
	team    *model.Team
	channel *model.Channel
}

func newWorld(t testing.TB, h *harness.Harness) world {
	t.Helper()
	api := h.API()
	user, appErr := api.CreateUser(&model.User{Username: "alice", Email: "alice@example.com", Password: "Secret-123"})
	if appErr != nil {
		t.Fatal(appErr)
	}
	team, appErr := api.CreateTeam(&model.Team{Name: "team", DisplayName: "Team", Type: model.TeamOpen})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := api.CreateTeamMember(team.Id, user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	channel, appErr := api.CreateChannel(&model.Channel{TeamId: team.Id, Name: "town", DisplayName: "Town", Type: model.ChannelTypeOpen})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := api.AddChannelMember(channel.Id, user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	return world{user: user, team: team, channel: channel}
}

func TestGoPluginActivates(t *testing.T) {
	h := startGoPlugin(t)

	st := h.Status(goPluginID)
	if st == nil || st.State != model.PluginStateRunning || st.Error != "" {
		t.Fatalf("status = %+v, want running without error", st)
	}
	if err := h.HealthCheck(goPluginID); err != nil {
		t.Fatalf("health check: %v", err)
	}

	// OnActivate ensured the bot, counted the activation and logged both.
	bot, appErr := h.API().GetUserByUsername("greeter")
	if appErr != nil || !bot.IsBot {
		t.Fatalf("bot user: %+v, %v", bot, appErr)
	}
	entry := h.Log().Wait(t, harness.LogQuery{Level: "info", Message: "greeter activated",
		Fields: map[string]string{"plugin_id": goPluginID, "bot_id": bot.Id, "activations": "1"}}, 5*time.Second)
	if entry.Fields["plugin_id"] != goPluginID {
		t.Errorf("log entry %v lacks plugin_id", entry)
	}
	kv := h.Server().NewPluginAPI(&model.Manifest{Id: goPluginID})
	if got, _ := kv.KVGet("activations"); string(got) != "1" {
		t.Errorf("activations = %q, want 1", got)
	}
	if got, _ := kv.KVGet(plugin.BotUserKey); string(got) != bot.Id {
		t.Errorf("%s = %q, want the bot id %s", plugin.BotUserKey, got, bot.Id)
	}
	cmds := h.Server().Commands()[goPluginID]
	if len(cmds) != 1 || cmds[0].Trigger != "greet" {
		t.Errorf("registered commands = %+v, want /greet", cmds)
	}

	api, hooks := h.Exercised()
	for _, m := range []string{"LoadPluginConfiguration", "EnsureBotUser", "KVGet", "KVCompareAndSet", "RegisterCommand", "LogInfo"} {
		if api[m] == 0 {
			t.Errorf("API %s not counted; api = %v", m, api)
		}
	}
	if hooks["Implemented"] != 1 || hooks["OnActivate"] != 1 {
		t.Errorf("hooks = %v, want Implemented and OnActivate once each", hooks)
	}

	// Reactivation keeps the bot and increments the counter through compare-and-set.
	if !h.Deactivate(goPluginID) {
		t.Fatal("Deactivate reported the plugin was not running")
	}
	if len(h.Server().Commands()[goPluginID]) != 0 {
		t.Error("commands survived deactivation")
	}
	if err := h.Activate(goPluginID); err != nil {
		t.Fatal(err)
	}
	h.Log().Wait(t, harness.LogQuery{Message: "greeter activated", Fields: map[string]string{"activations": "2", "bot_id": bot.Id}}, 5*time.Second)
	_, hooks = h.Exercised()
	if hooks["OnDeactivate"] != 0 {
		t.Errorf("OnDeactivate counted %d times though the plugin does not implement it", hooks["OnDeactivate"])
	}
}

func TestMessageWillBePostedThroughTheRealRuntime(t *testing.T) {
	h := startGoPlugin(t)
	w := newWorld(t, h)
	api := h.API()

	// Replaced by the plugin.
	post, appErr := api.CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "shout: hello there"})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if post.Message != "HELLO THERE" {
		t.Errorf("message = %q, want the plugin's replacement", post.Message)
	}
	stored, appErr := api.GetPost(post.Id)
	if appErr != nil || stored.Message != "HELLO THERE" {
		t.Errorf("stored post = %+v, %v", stored, appErr)
	}

	// Rejected by the plugin, with the reason in the error id as the server does it.
	_, appErr = api.CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "this is Forbidden"})
	if appErr == nil || appErr.StatusCode != http.StatusBadRequest ||
		!strings.HasPrefix(appErr.Id, "Post rejected by plugin. the message contains the blocked word") {
		t.Fatalf("rejection = %v, want 400 'Post rejected by plugin. ...'", appErr)
	}
	list, appErr := api.GetPostsForChannel(w.channel.Id, 0, 100)
	if appErr != nil || len(list.Order) != 1 {
		t.Fatalf("channel posts = %v, %v; the rejected post must not be stored", list, appErr)
	}

	// Untouched.
	plain, appErr := api.CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "just text"})
	if appErr != nil || plain.Message != "just text" {
		t.Fatalf("plain post = %+v, %v", plain, appErr)
	}
	if plain.GetProp(model.PostPropsFromPlugin) != nil {
		t.Error("a post made through the admin API got from_plugin")
	}

	_, hooks := h.Exercised()
	if hooks["MessageWillBePosted"] != 3 {
		t.Errorf("MessageWillBePosted counted %d times, want 3", hooks["MessageWillBePosted"])
	}
}

func TestReentrantPostFromMessageHasBeenPosted(t *testing.T) {
	h := startGoPlugin(t)
	w := newWorld(t, h)

	ping, appErr := h.API().CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "ping"})
	if appErr != nil {
		t.Fatal(appErr)
	}
	// MessageHasBeenPosted runs in the background; the plugin's reply goes through CreatePost,
	// which runs MessageWillBePosted (in the same plugin) and MessageHasBeenPosted again.
	h.WaitAsync()
	thread, appErr := h.API().GetPostThread(ping.Id)
	if appErr != nil {
		t.Fatal(appErr)
	}
	if len(thread.Order) != 2 {
		t.Fatalf("thread has %d posts, want ping and pong: %+v", len(thread.Order), thread.Posts)
	}
	reply := thread.Posts[thread.Order[0]]
	bot, _ := h.API().GetUserByUsername("greeter")
	if reply.Message != "pong" || reply.UserId != bot.Id || reply.RootId != ping.Id {
		t.Errorf("reply = %+v, want pong by the bot in the thread", reply)
	}
	if reply.GetProp(model.PostPropsFromPlugin) != "true" || reply.GetProp(model.PostPropsFromBot) != "true" {
		t.Errorf("reply props = %v, want from_plugin and from_bot", reply.GetProps())
	}

	api, hooks := h.Exercised()
	if api["CreatePost"] != 1 {
		t.Errorf("CreatePost API calls = %d, want 1", api["CreatePost"])
	}
	if hooks["MessageHasBeenPosted"] != 2 || hooks["MessageWillBePosted"] != 2 {
		t.Errorf("hooks = %v, want MessageWillBePosted and MessageHasBeenPosted twice each", hooks)
	}
}

func TestSlashCommand(t *testing.T) {
	h := startGoPlugin(t)
	w := newWorld(t, h)
	api := h.API()

	resp, err := api.ExecuteSlashCommand(&model.CommandArgs{UserId: w.user.Id, ChannelId: w.channel.Id, TeamId: w.team.Id, Command: "/greet Bob"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "Hello, Bob!" || resp.ResponseType != model.CommandResponseTypeEphemeral {
		t.Errorf("response = %+v", resp)
	}
	eph := h.Server().EphemeralPosts()
	if len(eph) != 1 || eph[0].UserID != w.user.Id || eph[0].Post.Message != "Hello, Bob!" {
		t.Errorf("ephemeral posts = %+v, want the greeting sent to the user", eph)
	}

	// Configuration changes reach the plugin through OnConfigurationChange.
	h.SetPluginConfig(goPluginID, map[string]any{"Greeting": "Howdy"})
	resp, err = api.ExecuteSlashCommand(&model.CommandArgs{UserId: w.user.Id, ChannelId: w.channel.Id, TeamId: w.team.Id, Command: "/GREET"})
	if err != nil || resp.Text != "Howdy, world!" {
		t.Fatalf("after config change: %+v, %v", resp, err)
	}

	// An in-channel response becomes a post by the invoking user.
	if _, err := api.ExecuteSlashCommand(&model.CommandArgs{UserId: w.user.Id, ChannelId: w.channel.Id, TeamId: w.team.Id, Command: "/greet count"}); err != nil {
		t.Fatal(err)
	}
	list, _ := api.GetPostsForChannel(w.channel.Id, 0, 10)
	if len(list.Order) != 1 || list.Posts[list.Order[0]].Message != "activations: 1" || list.Posts[list.Order[0]].UserId != w.user.Id {
		t.Errorf("channel posts = %+v, want the in-channel response", list.Posts)
	}

	_, err = api.ExecuteSlashCommand(&model.CommandArgs{UserId: w.user.Id, ChannelId: w.channel.Id, TeamId: w.team.Id, Command: "/nosuch"})
	var appErr *model.AppError
	if err == nil || !asAppError(err, &appErr) || appErr.StatusCode != http.StatusNotFound {
		t.Errorf("unknown command error = %v, want 404", err)
	}

	_, hooks := h.Exercised()
	if hooks["ExecuteCommand"] != 3 || hooks["OnConfigurationChange"] != 1 {
		t.Errorf("hooks = %v, want ExecuteCommand 3 and OnConfigurationChange 1", hooks)
	}
}

func asAppError(err error, target **model.AppError) bool {
	ae, ok := err.(*model.AppError)
	if ok {
		*target = ae
	}
	return ok
}

func TestServeHTTP(t *testing.T) {
	h := startGoPlugin(t)

	r := httptest.NewRequest(http.MethodGet, "/greeting", nil)
	r.Header.Set("Mattermost-User-Id", "someuserid")
	resp := h.ServeHTTP(goPluginID, r)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /greeting: %d %v", resp.StatusCode, resp.Header)
	}
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body["greeting"] != "Hello" || body["user_id"] != "someuserid" {
		t.Errorf("body = %v", body)
	}

	// A request body streams to the plugin, which stores it through the KV API.
	resp = h.ServeHTTP(goPluginID, httptest.NewRequest(http.MethodPost, "/kv/note", strings.NewReader("remember me")))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /kv/note: %d", resp.StatusCode)
	}
	resp = h.ServeHTTP(goPluginID, httptest.NewRequest(http.MethodGet, "/kv/note", nil))
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(got) != "remember me" {
		t.Errorf("GET /kv/note: %d %q", resp.StatusCode, got)
	}
	resp = h.ServeHTTP(goPluginID, httptest.NewRequest(http.MethodGet, "/kv/missing", nil))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /kv/missing: %d, want 404", resp.StatusCode)
	}

	api, hooks := h.Exercised()
	if hooks["ServeHTTP"] != 4 || api["KVSet"] != 1 {
		t.Errorf("ServeHTTP = %d (want 4), KVSet = %d (want 1)", hooks["ServeHTTP"], api["KVSet"])
	}
}

func TestPluginHTTPBetweenPlugins(t *testing.T) {
	h := startGoPlugin(t)
	// The admin API has no plugin id; the destination still sees the request.
	req := httptest.NewRequest(http.MethodGet, "/"+goPluginID+"/greeting", nil)
	resp := h.API().PluginHTTP(req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PluginHTTP: %d", resp.StatusCode)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"greeting":"Hello"`) {
		t.Errorf("body = %s", b)
	}
}

func TestActivationFailureIsReported(t *testing.T) {
	h := harness.New(t)
	h.Install(harness.Bundle{
		Manifest: &model.Manifest{Id: "broken", Name: "broken", Version: "0.0.1",
			Server: &model.ManifestServer{Executable: "server/missing"}},
	})
	if err := h.Activate("broken"); err == nil {
		t.Fatal("activating a bundle without its executable succeeded")
	}
	st := h.Status("broken")
	if st == nil || st.State != model.PluginStateFailedToStart || st.Error == "" {
		t.Errorf("status = %+v, want failed to start with an error", st)
	}
}

func TestExercisedFileMerges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exercised.json")
	t.Setenv(harness.ExercisedEnv, path)
	for range 2 {
		t.Run("run", func(t *testing.T) {
			startGoPlugin(t)
		})
	}
	f, err := harness.ReadExercised(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Hooks["OnActivate"] != 2 || f.API["EnsureBotUser"] != 2 {
		t.Errorf("merged counts = %+v, want two activations", f)
	}
	if f.APIMethods != 258 || f.HookMethods != 52 {
		t.Errorf("interface sizes = %d/%d, want 258/52 for the pinned module", f.APIMethods, f.HookMethods)
	}
	if s := f.Summary(); !strings.HasPrefix(s, "exercised: api ") || !strings.Contains(s, "/258 hooks ") {
		t.Errorf("summary = %q", s)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// BenchmarkCreatePost measures a post through the real runtime: MessageWillBePosted in the
// plugin process and back, then MessageHasBeenPosted in the background.
func BenchmarkCreatePost(b *testing.B) {
	h := startGoPlugin(b)
	w := newWorld(b, h)
	api := h.API()
	for b.Loop() {
		if _, appErr := api.CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "shout: benchmark"}); appErr != nil {
			b.Fatal(appErr)
		}
	}
	b.StopTimer()
	h.WaitAsync()
}

// BenchmarkServeHTTP measures a plugin HTTP request whose handler makes one KV call.
func BenchmarkServeHTTP(b *testing.B) {
	h := startGoPlugin(b)
	h.ServeHTTP(goPluginID, httptest.NewRequest(http.MethodPost, "/kv/bench", strings.NewReader("value")))
	for b.Loop() {
		resp := h.ServeHTTP(goPluginID, httptest.NewRequest(http.MethodGet, "/kv/bench", nil))
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func TestPluginStderrAndCrash(t *testing.T) {
	h := harness.New(t)
	h.Install(harness.Bundle{
		Manifest:   &model.Manifest{Id: "crash", Name: "crash", Version: "0.0.1"},
		Executable: harness.BuildBinary(t, "./testdata/crashplugin"),
	})
	if err := h.Activate("crash"); err != nil {
		t.Fatal(err)
	}
	// A Go plugin's stderr travels over go-plugin's stdio stream and is logged by the
	// supervisor at info level with source=plugin_stderr.
	h.Log().Wait(t, harness.LogQuery{Level: "info", Message: "crashplugin: hello from stderr",
		Fields: map[string]string{"plugin_id": "crash", "source": "plugin_stderr"}}, 5*time.Second)

	// The request kills the plugin process; the server side sees a broken connection.
	h.ServeHTTP("crash", httptest.NewRequest(http.MethodGet, "/crash", nil))
	deadline := time.Now().Add(5 * time.Second)
	for h.HealthCheck("crash") == nil {
		if time.Now().After(deadline) {
			t.Fatal("health check still passes after the plugin process exited")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.Log().Wait(t, harness.LogQuery{Message: "plugin process exited", Fields: map[string]string{"plugin_id": "crash"}}, 5*time.Second)
}

func TestHooksChainAcrossPlugins(t *testing.T) {
	h := harness.New(t)
	bin := harness.BuildBinary(t, "./testdata/goplugin")
	for _, id := range []string{"twin.a", "twin.b"} {
		manifest, _, err := model.FindManifest("testdata/goplugin")
		if err != nil {
			t.Fatal(err)
		}
		manifest.Id = id
		h.Install(harness.Bundle{Manifest: manifest, Executable: bin})
		if err := h.Activate(id); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.Env().Active()); n != 2 {
		t.Fatalf("%d active plugins, want 2", n)
	}
	w := newWorld(t, h)

	// The first plugin rewrites the post; the second sees the rewritten post, as the app layer
	// passes each replacement on to the next plugin.
	post, appErr := h.API().CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "shout: twice"})
	if appErr != nil || post.Message != "TWICE" {
		t.Fatalf("post = %+v, %v", post, appErr)
	}
	_, hooks := h.Exercised()
	if hooks["MessageWillBePosted"] != 2 {
		t.Errorf("MessageWillBePosted ran %d times, want once per plugin", hooks["MessageWillBePosted"])
	}

	// A rejection stops the chain.
	if _, appErr := h.API().CreatePost(&model.Post{UserId: w.user.Id, ChannelId: w.channel.Id, Message: "forbidden"}); appErr == nil {
		t.Fatal("rejected post was stored")
	}
	_, hooks = h.Exercised()
	if hooks["MessageWillBePosted"] != 3 {
		t.Errorf("MessageWillBePosted ran %d times in total, want 3 (the rejection stops the chain)", hooks["MessageWillBePosted"])
	}
}
