package main

// The hooks the probe records: each call's arguments (without the *plugin.Context) in canonical
// form, while recording is on (POST /hooks/start clears and starts, GET /hooks answers
// {"events": [{"hook": name, "args": [...]}]}). Every hook leaves what it gets unchanged.

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

type hookEvent struct {
	Hook string `json:"hook"`
	Args []any  `json:"args"`
}

type recorder struct {
	mu     sync.Mutex
	on     bool
	events []hookEvent
}

var hooks recorder

func (r *recorder) record(hook string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	encoded := make([]any, len(args))
	for i, a := range args {
		encoded[i] = encode(reflect.ValueOf(a))
	}
	r.events = append(r.events, hookEvent{hook, encoded})
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Method == http.MethodPost {
		r.on, r.events = true, []hookEvent{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"events": r.events})
}

func (p *Probe) UserHasBeenCreated(_ *plugin.Context, user *model.User) {
	hooks.record("UserHasBeenCreated", user)
}

func (p *Probe) UserWillLogIn(_ *plugin.Context, user *model.User) string {
	hooks.record("UserWillLogIn", user)
	return ""
}

func (p *Probe) UserHasLoggedIn(_ *plugin.Context, user *model.User) {
	hooks.record("UserHasLoggedIn", user)
}

func (p *Probe) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	hooks.record("MessageWillBePosted", post)
	return post, ""
}

func (p *Probe) MessageWillBeUpdated(_ *plugin.Context, newPost, oldPost *model.Post) (*model.Post, string) {
	hooks.record("MessageWillBeUpdated", newPost, oldPost)
	return newPost, ""
}

func (p *Probe) MessageHasBeenPosted(_ *plugin.Context, post *model.Post) {
	hooks.record("MessageHasBeenPosted", post)
}

func (p *Probe) MessageHasBeenUpdated(_ *plugin.Context, newPost, oldPost *model.Post) {
	hooks.record("MessageHasBeenUpdated", newPost, oldPost)
}

func (p *Probe) MessageHasBeenDeleted(_ *plugin.Context, post *model.Post) {
	hooks.record("MessageHasBeenDeleted", post)
}

func (p *Probe) ChannelHasBeenCreated(_ *plugin.Context, channel *model.Channel) {
	hooks.record("ChannelHasBeenCreated", channel)
}

func (p *Probe) UserHasJoinedChannel(_ *plugin.Context, member *model.ChannelMember, actor *model.User) {
	hooks.record("UserHasJoinedChannel", member, actor)
}

func (p *Probe) UserHasLeftChannel(_ *plugin.Context, member *model.ChannelMember, actor *model.User) {
	hooks.record("UserHasLeftChannel", member, actor)
}

func (p *Probe) UserHasJoinedTeam(_ *plugin.Context, member *model.TeamMember, actor *model.User) {
	hooks.record("UserHasJoinedTeam", member, actor)
}

func (p *Probe) UserHasLeftTeam(_ *plugin.Context, member *model.TeamMember, actor *model.User) {
	hooks.record("UserHasLeftTeam", member, actor)
}

func (p *Probe) ReactionHasBeenAdded(_ *plugin.Context, reaction *model.Reaction) {
	hooks.record("ReactionHasBeenAdded", reaction)
}

func (p *Probe) ReactionHasBeenRemoved(_ *plugin.Context, reaction *model.Reaction) {
	hooks.record("ReactionHasBeenRemoved", reaction)
}

func (p *Probe) UserHasBeenDeactivated(_ *plugin.Context, user *model.User) {
	hooks.record("UserHasBeenDeactivated", user)
}

func (p *Probe) PreferencesHaveChanged(_ *plugin.Context, preferences []model.Preference) {
	hooks.record("PreferencesHaveChanged", preferences)
}

func (p *Probe) MessagesWillBeConsumed(posts []*model.Post) []*model.Post {
	hooks.record("MessagesWillBeConsumed", posts)
	return posts
}

func (p *Probe) ConfigurationWillBeSaved(newCfg *model.Config) (*model.Config, error) {
	hooks.record("ConfigurationWillBeSaved", newCfg)
	return nil, nil
}
