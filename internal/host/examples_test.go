package host_test

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness"
)

// The examples' own tests run them against the SDK's in-memory fake (examples/*/tests). These
// run the same plugins, unchanged, through the real host and Mattermost's plugin.Environment,
// checking the same behaviour.

func exampleDir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", name)
}

func installExample(t *testing.T, h *harness.Harness, name string, config map[string]any) string {
	t.Helper()
	t.Setenv("MMPLUGIN_PYTHON", repoPython(t))
	dir := h.Install(harness.Bundle{
		SourceDir:  exampleDir(name),
		Executable: harness.BuildBinary(t, "github.com/mmplugin/mmplugin/cmd/mmplugin-host"),
	})
	manifest, _, err := model.FindManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if config != nil {
		h.SetPluginConfig(manifest.Id, config)
	}
	if err := h.Activate(manifest.Id); err != nil {
		t.Fatalf("activate %s: %v", name, err)
	}
	return manifest.Id
}

func runCommand(t *testing.T, h *harness.Harness, w world, command string) string {
	t.Helper()
	resp, err := h.API().ExecuteSlashCommand(&model.CommandArgs{
		Command: command, UserId: w.user.Id, ChannelId: w.channel.Id, TeamId: w.channel.TeamId,
	})
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return resp.Text
}

func TestHelloExampleThroughTheHost(t *testing.T) {
	h := harness.New(t)
	w := newWorld(t, h)
	id := installExample(t, h, "hello", nil)

	implemented, err := h.Hooks(id).Implemented()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(implemented)
	if want := []string{"ExecuteCommand", "MessageWillBePosted", "OnActivate", "OnConfigurationChange"}; !slices.Equal(implemented, want) {
		t.Errorf("Implemented() = %v, want %v", implemented, want)
	}
	bot, appErr := h.API().GetUserByUsername("hello")
	if appErr != nil || !bot.IsBot {
		t.Fatalf("the hello bot was not created: %v, %v", bot, appErr)
	}
	if got := runCommand(t, h, w, "/hello"); got != "Hello, "+w.user.Username+"!" {
		t.Errorf("/hello = %q", got)
	}
	if got := runCommand(t, h, w, "/hello Mattermost"); got != "Hello, Mattermost!" {
		t.Errorf("/hello Mattermost = %q", got)
	}
	// The server keeps plugin settings under lower-cased keys.
	h.SetPluginConfig(id, map[string]any{"greeting": "Howdy"})
	if got := runCommand(t, h, w, "/hello"); got != "Howdy, "+w.user.Username+"!" {
		t.Errorf("/hello after a settings change = %q", got)
	}
	if _, appErr := w.post(h, "SPOILER: it was the butler"); appErr == nil || !strings.Contains(appErr.Error(), "Please keep the spoilers to yourself") {
		t.Errorf("banned word: %v", appErr)
	}
	if post, appErr := w.post(h, "teh end"); appErr != nil || post.Message != "the end" {
		t.Errorf("teh → the: %v, %v", post, appErr)
	}
	if post, appErr := w.post(h, "tehran"); appErr != nil || post.Message != "tehran" {
		t.Errorf("tehran must stay: %v, %v", post, appErr)
	}
}

func TestWelcomebotExampleThroughTheHost(t *testing.T) {
	h := harness.New(t)
	w := newWorld(t, h)
	team, appErr := h.API().GetTeam(w.channel.TeamId)
	if appErr != nil {
		t.Fatal(appErr)
	}
	id := installExample(t, h, "welcomebot", map[string]any{
		"welcomemessages": []any{map[string]any{
			"TeamName":       team.Name,
			"DelayInSeconds": 0,
			"Message":        []any{"Welcome {{.UserDisplayName}} to {{.Team.DisplayName}}!"},
		}},
	})
	bot, appErr := h.API().GetUserByUsername("welcomebot")
	if appErr != nil || !bot.IsBot {
		t.Fatalf("the welcome bot was not created: %v, %v", bot, appErr)
	}
	member, appErr := h.API().GetTeamMember(team.Id, w.user.Id)
	if appErr != nil {
		t.Fatal(appErr)
	}
	h.Hooks(id).UserHasJoinedTeam(&plugin.Context{}, member, nil)

	dm, appErr := h.API().GetDirectChannel(w.user.Id, bot.Id)
	if appErr != nil {
		t.Fatal(appErr)
	}
	want := "Welcome " + w.user.Username + " to " + team.DisplayName + "!"
	deadline := time.Now().Add(10 * time.Second)
	for {
		posts, appErr := h.API().GetPostsForChannel(dm.Id, 0, 10)
		if appErr != nil {
			t.Fatal(appErr)
		}
		for _, p := range posts.Posts {
			if p.UserId == bot.Id && strings.Contains(p.Message, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no welcome DM %q from the bot; posts: %v", want, posts.Posts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
