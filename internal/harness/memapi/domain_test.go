package memapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness/memapi"
)

// fakePlugins stands in for the plugin.Environment: one plugin whose hooks are the fakeHooks
// methods, implementing only the hook ids in implements.
type fakePlugins struct {
	hooks *fakeHooks

	mu         sync.Mutex
	implements map[int]bool
}

func (f *fakePlugins) implement(hookIDs ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range hookIDs {
		f.implements[id] = true
	}
}

func (f *fakePlugins) RunMultiPluginHook(fn func(plugin.Hooks, *model.Manifest) bool, hookID int) {
	f.mu.Lock()
	ok := f.implements[hookID]
	f.mu.Unlock()
	if ok {
		fn(f.hooks, &model.Manifest{Id: "fake"})
	}
}

func (f *fakePlugins) HooksForPlugin(id string) (plugin.Hooks, error) {
	if id != "fake" {
		return nil, errors.New("plugin not found: " + id)
	}
	return f.hooks, nil
}

func (f *fakePlugins) PerformHealthCheck(string) error { return nil }

// fakeHooks records calls; a call of a hook it does not define panics (nil embedded
// interface), which the implements set prevents.
type fakeHooks struct {
	plugin.Hooks

	mu          sync.Mutex
	calls       []string
	willBePost  func(*model.Post) (*model.Post, string)
	willUpdate  func(newPost, oldPost *model.Post) (*model.Post, string)
	memberAdded func(*model.ChannelMember) (*model.ChannelMember, string)
	executed    func(*model.CommandArgs) (*model.CommandResponse, *model.AppError)
}

func (f *fakeHooks) record(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

func (f *fakeHooks) called(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakeHooks) MessageWillBePosted(_ *plugin.Context, p *model.Post) (*model.Post, string) {
	f.record("MessageWillBePosted")
	return f.willBePost(p)
}

func (f *fakeHooks) MessageHasBeenPosted(*plugin.Context, *model.Post) {
	f.record("MessageHasBeenPosted")
}

func (f *fakeHooks) MessageWillBeUpdated(_ *plugin.Context, newPost, oldPost *model.Post) (*model.Post, string) {
	f.record("MessageWillBeUpdated")
	return f.willUpdate(newPost, oldPost)
}

func (f *fakeHooks) MessageHasBeenUpdated(*plugin.Context, *model.Post, *model.Post) {
	f.record("MessageHasBeenUpdated")
}

func (f *fakeHooks) MessageHasBeenDeleted(*plugin.Context, *model.Post) {
	f.record("MessageHasBeenDeleted")
}

func (f *fakeHooks) ChannelMemberWillBeAdded(_ *plugin.Context, m *model.ChannelMember) (*model.ChannelMember, string) {
	f.record("ChannelMemberWillBeAdded")
	return f.memberAdded(m)
}

func (f *fakeHooks) UserHasJoinedChannel(*plugin.Context, *model.ChannelMember, *model.User) {
	f.record("UserHasJoinedChannel")
}

func (f *fakeHooks) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	f.record("ExecuteCommand")
	return f.executed(args)
}

func (f *fakeHooks) OnConfigurationChange() error {
	f.record("OnConfigurationChange")
	return nil
}

func (f *fakeHooks) OnPluginClusterEvent(*plugin.Context, model.PluginClusterEvent) {
	f.record("OnPluginClusterEvent")
}

type fixture struct {
	s       *memapi.Server
	hooks   *fakeHooks
	env     *fakePlugins
	user    *model.User
	team    *model.Team
	channel *model.Channel
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := newServer(t)
	hooks := &fakeHooks{}
	env := &fakePlugins{hooks: hooks, implements: map[int]bool{}}
	s.SetPlugins(env)
	admin := s.Admin()
	user, appErr := admin.CreateUser(&model.User{Username: "Alice", Email: "Alice@Example.com", Password: "pw"})
	if appErr != nil {
		t.Fatal(appErr)
	}
	team, appErr := admin.CreateTeam(&model.Team{Name: "team", DisplayName: "Team", Type: model.TeamOpen})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := admin.CreateTeamMember(team.Id, user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	channel, appErr := admin.CreateChannel(&model.Channel{TeamId: team.Id, Name: "town", DisplayName: "Town", Type: model.ChannelTypeOpen})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := admin.AddChannelMember(channel.Id, user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	if !s.WaitAsync(5 * time.Second) { // so the set-up's hooks do not count in the tests
		t.Fatal("async hooks did not finish")
	}
	return &fixture{s: s, hooks: hooks, env: env, user: user, team: team, channel: channel}
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	api := f.s.Admin()

	if f.user.Username != "alice" || f.user.Email != "alice@example.com" || f.user.Password != "" {
		t.Errorf("created user = %+v; want normalized names and no password", f.user)
	}
	if u, appErr := api.GetUserByUsername("ALICE"); appErr != nil || u.Id != f.user.Id {
		t.Errorf("GetUserByUsername = %v, %v", u, appErr)
	}
	if u, appErr := api.GetUserByEmail("alice@EXAMPLE.com"); appErr != nil || u.Id != f.user.Id {
		t.Errorf("GetUserByEmail = %v, %v", u, appErr)
	}
	if _, appErr := api.CreateUser(&model.User{Username: "alice", Email: "other@example.com"}); appErr == nil ||
		appErr.Id != "app.user.save.username_exists.app_error" {
		t.Errorf("duplicate username = %v", appErr)
	}
	if _, appErr := api.GetUser(model.NewId()); appErr == nil || appErr.StatusCode != http.StatusNotFound {
		t.Errorf("GetUser(unknown) = %v, want 404", appErr)
	}

	updated := *f.user
	updated.Nickname = "Al"
	if u, appErr := api.UpdateUser(&updated); appErr != nil || u.Nickname != "Al" {
		t.Fatalf("UpdateUser = %v, %v", u, appErr)
	}
	if appErr := api.DeleteUser(f.user.Id); appErr != nil {
		t.Fatal(appErr)
	}
	u, _ := api.GetUser(f.user.Id)
	if u.DeleteAt == 0 {
		t.Error("DeleteUser did not deactivate the user")
	}
	active, _ := api.GetUsers(&model.UserGetOptions{Active: true, PerPage: 10})
	if len(active) != 0 {
		t.Errorf("active users = %v", active)
	}
}

func TestChannelsAndMembers(t *testing.T) {
	f := newFixture(t)
	api := f.s.Admin()

	if c, appErr := api.GetChannelByNameForTeamName("team", "town", false); appErr != nil || c.Id != f.channel.Id {
		t.Errorf("GetChannelByNameForTeamName = %v, %v", c, appErr)
	}
	if _, appErr := api.CreateChannel(&model.Channel{TeamId: f.team.Id, Name: "town", DisplayName: "Dup", Type: model.ChannelTypeOpen}); appErr == nil {
		t.Error("duplicate channel name accepted")
	}

	// A user outside the team cannot join a team channel.
	bob, _ := api.CreateUser(&model.User{Username: "bob", Email: "bob@example.com"})
	if _, appErr := api.AddChannelMember(f.channel.Id, bob.Id); appErr == nil || appErr.StatusCode != http.StatusForbidden {
		t.Errorf("joining without team membership = %v, want 403", appErr)
	}
	_, _ = api.CreateTeamMember(f.team.Id, bob.Id)

	// ChannelMemberWillBeAdded may reject.
	f.env.implement(plugin.ChannelMemberWillBeAddedID, plugin.UserHasJoinedChannelID)
	f.hooks.memberAdded = func(m *model.ChannelMember) (*model.ChannelMember, string) {
		if m.UserId == bob.Id {
			return nil, "no bobs"
		}
		return nil, ""
	}
	if _, appErr := api.AddChannelMember(f.channel.Id, bob.Id); appErr == nil || !strings.Contains(appErr.Id, "no bobs") {
		t.Errorf("rejected join = %v", appErr)
	}
	f.hooks.memberAdded = func(m *model.ChannelMember) (*model.ChannelMember, string) {
		m.ExplicitRoles = "custom"
		return m, ""
	}
	m, appErr := api.AddUserToChannel(f.channel.Id, bob.Id, f.user.Id)
	if appErr != nil || m.ExplicitRoles != "custom" {
		t.Fatalf("replaced member = %+v, %v", m, appErr)
	}
	if !f.s.WaitAsync(5 * time.Second) {
		t.Fatal("async hooks did not finish")
	}
	if f.hooks.called("UserHasJoinedChannel") != 1 {
		t.Errorf("UserHasJoinedChannel called %d times", f.hooks.called("UserHasJoinedChannel"))
	}
	members, _ := api.GetChannelMembers(f.channel.Id, 0, 10)
	if len(members) != 2 {
		t.Errorf("members = %d, want 2", len(members))
	}
	stats, _ := api.GetChannelStats(f.channel.Id)
	if stats.MemberCount != 2 {
		t.Errorf("member count = %d", stats.MemberCount)
	}

	// Direct channels are created once, with both members.
	dm, appErr := api.GetDirectChannel(f.user.Id, bob.Id)
	if appErr != nil || dm.Type != model.ChannelTypeDirect {
		t.Fatalf("GetDirectChannel = %+v, %v", dm, appErr)
	}
	again, _ := api.GetDirectChannel(bob.Id, f.user.Id)
	if again.Id != dm.Id {
		t.Error("GetDirectChannel created a second channel for the same pair")
	}
	if _, appErr := api.GetChannelMember(dm.Id, bob.Id); appErr != nil {
		t.Errorf("DM member missing: %v", appErr)
	}
}

func TestPostHooks(t *testing.T) {
	f := newFixture(t)
	api := pluginAPI(f.s, "poster")
	f.env.implement(plugin.MessageWillBePostedID, plugin.MessageHasBeenPostedID, plugin.MessageWillBeUpdatedID,
		plugin.MessageHasBeenUpdatedID, plugin.MessageHasBeenDeletedID)
	f.hooks.willBePost = func(p *model.Post) (*model.Post, string) {
		switch p.Message {
		case "reject":
			return nil, "nope"
		case "dismiss":
			return nil, plugin.DismissPostError
		case "replace":
			p.Message = "replaced"
			return p, ""
		}
		return nil, ""
	}
	f.hooks.willUpdate = func(newPost, _ *model.Post) (*model.Post, string) {
		if newPost.Message == "bad edit" {
			return nil, "no edits like that"
		}
		return newPost, ""
	}

	post, appErr := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: f.channel.Id, Message: "replace"})
	if appErr != nil || post.Message != "replaced" || post.GetProp(model.PostPropsFromPlugin) != "true" {
		t.Fatalf("replaced post = %+v, %v", post, appErr)
	}
	if _, appErr := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: f.channel.Id, Message: "reject"}); appErr == nil ||
		appErr.Id != "Post rejected by plugin. nope" {
		t.Errorf("reject = %v", appErr)
	}
	if _, appErr := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: f.channel.Id, Message: "dismiss"}); appErr == nil ||
		appErr.Id != plugin.DismissPostError {
		t.Errorf("dismiss = %v", appErr)
	}
	if _, appErr := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: model.NewId(), Message: "x"}); appErr == nil ||
		appErr.StatusCode != http.StatusNotFound {
		t.Errorf("post to a missing channel = %v, want 404", appErr)
	}

	reply, appErr := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: f.channel.Id, RootId: post.Id, Message: "reply"})
	if appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: f.channel.Id, RootId: reply.Id, Message: "nested"}); appErr == nil {
		t.Error("a reply to a reply was accepted")
	}

	edited := post.Clone()
	edited.Message = "bad edit"
	if _, appErr := api.UpdatePost(edited); appErr == nil || !strings.Contains(appErr.Id, "no edits like that") {
		t.Errorf("rejected edit = %v", appErr)
	}
	edited.Message = "good edit"
	got, appErr := api.UpdatePost(edited)
	if appErr != nil || got.Message != "good edit" || got.EditAt == 0 {
		t.Fatalf("edit = %+v, %v", got, appErr)
	}

	thread, _ := api.GetPostThread(reply.Id)
	if len(thread.Order) != 2 || thread.Order[0] != reply.Id {
		t.Errorf("thread order = %v, want reply then root", thread.Order)
	}
	if appErr := api.DeletePost(post.Id); appErr != nil {
		t.Fatal(appErr)
	}
	if _, appErr := api.GetPost(reply.Id); appErr == nil {
		t.Error("deleting the root left its reply readable")
	}

	if !f.s.WaitAsync(5 * time.Second) {
		t.Fatal("async hooks did not finish")
	}
	// Posts refused before the hook (missing channel, nested reply) never reach it.
	for name, want := range map[string]int{"MessageWillBePosted": 4, "MessageHasBeenPosted": 2, "MessageWillBeUpdated": 2,
		"MessageHasBeenUpdated": 1, "MessageHasBeenDeleted": 1} {
		if got := f.hooks.called(name); got != want {
			t.Errorf("%s called %d times, want %d", name, got, want)
		}
	}
}

func TestReactionsAndEphemeral(t *testing.T) {
	f := newFixture(t)
	api := pluginAPI(f.s, "p")
	post, _ := api.CreatePost(&model.Post{UserId: f.user.Id, ChannelId: f.channel.Id, Message: "hi"})
	if _, appErr := api.AddReaction(&model.Reaction{UserId: f.user.Id, PostId: post.Id, EmojiName: "smile"}); appErr != nil {
		t.Fatal(appErr)
	}
	if p, _ := api.GetPost(post.Id); !p.HasReactions {
		t.Error("HasReactions not set")
	}
	if rs, _ := api.GetReactions(post.Id); len(rs) != 1 || rs[0].ChannelId != f.channel.Id {
		t.Errorf("reactions = %+v", rs)
	}
	if appErr := api.RemoveReaction(&model.Reaction{UserId: f.user.Id, PostId: post.Id, EmojiName: "smile"}); appErr != nil {
		t.Fatal(appErr)
	}
	if p, _ := api.GetPost(post.Id); p.HasReactions {
		t.Error("HasReactions still set")
	}

	eph := api.SendEphemeralPost(f.user.Id, &model.Post{ChannelId: f.channel.Id, Message: "psst"})
	if eph.Id == "" || eph.Type != model.PostTypeEphemeral {
		t.Errorf("ephemeral post = %+v", eph)
	}
	api.DeleteEphemeralPost(f.user.Id, eph.Id)
	rec := f.s.EphemeralPosts()
	if len(rec) != 2 || rec[0].Action != "send" || rec[1].Action != "delete" || rec[1].Post.Id != eph.Id {
		t.Errorf("recorded ephemeral posts = %+v", rec)
	}
	api.PublishWebSocketEvent("thing", map[string]any{"a": 1}, &model.WebsocketBroadcast{UserId: f.user.Id})
	ws := f.s.WebSocketEvents()
	if len(ws) != 1 || ws[0].Event != "custom_p_thing" || ws[0].Broadcast.UserId != f.user.Id {
		t.Errorf("websocket events = %+v", ws)
	}
}

func TestBots(t *testing.T) {
	f := newFixture(t)
	api := pluginAPI(f.s, "botplugin")

	id, err := api.EnsureBotUser(&model.Bot{Username: "helper", DisplayName: "Helper"})
	if err != nil {
		t.Fatal(err)
	}
	bot, appErr := api.GetBot(id, false)
	if appErr != nil || bot.OwnerId != "botplugin" || bot.DisplayName != "Helper" {
		t.Fatalf("bot = %+v, %v", bot, appErr)
	}
	user, _ := api.GetUser(id)
	if !user.IsBot || user.Username != "helper" {
		t.Errorf("bot user = %+v", user)
	}
	// Ensuring again returns the same bot, patched to the new display name.
	again, err := api.EnsureBotUser(&model.Bot{Username: "helper", DisplayName: "Helper 2"})
	if err != nil || again != id {
		t.Fatalf("second EnsureBotUser = %q, %v; want %q", again, err, id)
	}
	if bot, _ := api.GetBot(id, false); bot.DisplayName != "Helper 2" {
		t.Errorf("bot not patched: %+v", bot)
	}

	// Bots cannot own bots.
	if _, appErr := api.CreateBot(&model.Bot{Username: "sub", OwnerId: id}); appErr == nil {
		t.Error("a bot-owned bot was created")
	}
	other, appErr := api.CreateBot(&model.Bot{Username: "other"})
	if appErr != nil || other.OwnerId != "botplugin" {
		t.Fatalf("CreateBot = %+v, %v", other, appErr)
	}
	if _, appErr := api.UpdateBotActive(other.UserId, false); appErr != nil {
		t.Fatal(appErr)
	}
	active, _ := api.GetBots(&model.BotGetOptions{OwnerId: "botplugin", PerPage: 10})
	all, _ := api.GetBots(&model.BotGetOptions{OwnerId: "botplugin", IncludeDeleted: true, PerPage: 10})
	if len(active) != 1 || len(all) != 2 {
		t.Errorf("active bots = %d (want 1), all = %d (want 2)", len(active), len(all))
	}
	if _, appErr := api.GetBot(model.NewId(), true); appErr == nil || appErr.StatusCode != http.StatusNotFound {
		t.Errorf("missing bot = %v", appErr)
	}
}

func TestCommandsAndConfig(t *testing.T) {
	f := newFixture(t)
	api := pluginAPI(f.s, "fake")
	f.env.implement(plugin.OnConfigurationChangeID)
	f.hooks.executed = func(args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
		return &model.CommandResponse{Text: "ran " + args.Command}, nil
	}

	if err := api.RegisterCommand(&model.Command{Trigger: "Do", AutoCompleteDesc: "does"}); err != nil {
		t.Fatal(err)
	}
	resp, err := f.s.Admin().ExecuteSlashCommand(&model.CommandArgs{UserId: f.user.Id, ChannelId: f.channel.Id, TeamId: f.team.Id, Command: "/do it"})
	if err != nil || resp.Text != "ran /do it" {
		t.Fatalf("ExecuteSlashCommand = %+v, %v", resp, err)
	}
	if f.hooks.called("ExecuteCommand") != 1 {
		t.Error("ExecuteCommand not called")
	}
	if err := api.UnregisterCommand("", "DO"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Admin().ExecuteSlashCommand(&model.CommandArgs{UserId: f.user.Id, TeamId: f.team.Id, Command: "/do"}); err == nil {
		t.Error("unregistered command still ran")
	}

	// Plugin configuration: defaults from the manifest, overridden by saved values.
	manifest := &model.Manifest{Id: "fake", SettingsSchema: &model.PluginSettingsSchema{Settings: []*model.PluginSetting{
		{Key: "Greeting", Default: "hi"}, {Key: "Count", Default: 1},
	}}}
	cfgAPI := f.s.NewPluginAPI(manifest)
	var cfg struct {
		Greeting string
		Count    int
	}
	if err := cfgAPI.LoadPluginConfiguration(&cfg); err != nil || cfg.Greeting != "hi" || cfg.Count != 1 {
		t.Fatalf("defaults = %+v, %v", cfg, err)
	}
	if appErr := cfgAPI.SavePluginConfig(map[string]any{"greeting": "hello"}); appErr != nil {
		t.Fatal(appErr)
	}
	if err := cfgAPI.LoadPluginConfiguration(&cfg); err != nil || cfg.Greeting != "hello" || cfg.Count != 1 {
		t.Errorf("after save = %+v, %v", cfg, err)
	}
	if got := cfgAPI.GetPluginConfig(); got["greeting"] != "hello" {
		t.Errorf("GetPluginConfig = %v", got)
	}
	if f.hooks.called("OnConfigurationChange") != 1 {
		t.Errorf("OnConfigurationChange called %d times, want 1", f.hooks.called("OnConfigurationChange"))
	}
	if path, err := cfgAPI.GetBundlePath(); err != nil || !strings.HasSuffix(path, "/fake") {
		t.Errorf("GetBundlePath = %q, %v", path, err)
	}
	if cfgAPI.GetServerVersion() != model.CurrentVersion {
		t.Error("GetServerVersion is not the pinned module's version")
	}

	// Cluster events reach the same plugin.
	if err := api.PublishPluginClusterEvent(model.PluginClusterEvent{Id: "e", Data: []byte("d")}, model.PluginClusterEventSendOptions{}); err != nil {
		t.Fatal(err)
	}
	if !f.s.WaitAsync(5*time.Second) || f.hooks.called("OnPluginClusterEvent") != 1 {
		t.Error("cluster event not delivered")
	}
}

func TestUnsupportedMethodsFailClearly(t *testing.T) {
	s := newServer(t)
	api := pluginAPI(s, "p")

	_, appErr := api.GetEmoji("x")
	if appErr == nil || appErr.Id != memapi.NotSupportedID || appErr.StatusCode != http.StatusNotImplemented ||
		!strings.Contains(appErr.DetailedError, "GetEmoji") {
		t.Fatalf("GetEmoji = %v, want a 501 naming the method", appErr)
	}
	// Plain-error methods return the same AppError as their error.
	_, err := api.CreatePropertyField(&model.PropertyField{})
	var ae *model.AppError
	if !errors.As(err, &ae) || ae.Id != memapi.NotSupportedID {
		t.Errorf("CreatePropertyField = %v", err)
	}
	// Methods without an error result return zero values and do not panic.
	if api.HasPermissionTo("u", model.PermissionManageSystem) {
		t.Error("HasPermissionTo returned true")
	}
	// The AppError survives JSON like any other (what the protocol carries).
	b, _ := json.Marshal(appErr)
	if !strings.Contains(string(b), memapi.NotSupportedID) {
		t.Errorf("JSON = %s", b)
	}
}
