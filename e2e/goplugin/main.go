// Command goplugin is an ordinary Mattermost server plugin written in Go.
//
// mmplugin's end-to-end tests install it on a real server next to Python
// plugins, so that a behaviour seen through the Python SDK can be compared
// with what a stock Go plugin sees on the same server.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Trigger is the slash command this plugin registers.
const Trigger = "gopong"

// The Go twin of the Python e2e plugin's MessageWillBePosted: a post containing GoForbidden is
// rejected with GoRejectReason, GoRewrite in a post becomes GoRewritten (props untouched).
const (
	GoForbidden    = "goforbidden"
	GoRejectReason = "the e2e Go plugin rejects posts containing goforbidden"
	GoRewrite      = "gorewrite"
	GoRewritten    = "rewritten-by-go"
)

// Plugin answers GET /ping over ServeHTTP and the /gopong slash command, and filters posts.
type Plugin struct {
	plugin.MattermostPlugin
}

// OnActivate registers the slash command.
func (p *Plugin) OnActivate() error {
	return p.API.RegisterCommand(&model.Command{
		Trigger:          Trigger,
		AutoComplete:     true,
		AutoCompleteDesc: "Answers pong (mmplugin e2e Go plugin)",
		DisplayName:      "gopong",
	})
}

// MessageWillBePosted rejects GoForbidden and rewrites GoRewrite (see the constants).
func (p *Plugin) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	switch {
	case strings.Contains(post.Message, GoForbidden):
		return nil, GoRejectReason
	case strings.Contains(post.Message, GoRewrite):
		post.Message = strings.ReplaceAll(post.Message, GoRewrite, GoRewritten)
		return post, ""
	}
	return nil, ""
}

// ServeHTTP answers GET /ping with "pong" and echoes the user id that the
// server authenticated (the server sets Mattermost-User-Id; it is empty for
// anonymous requests), and GET /versions with what a Go plugin's call of an
// API method newer than the server returns.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/versions" {
		p.serveVersions(w)
		return
	}
	if r.URL.Path != "/ping" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Mattermost-User-Id", r.Header.Get("Mattermost-User-Id"))
	fmt.Fprintf(w, `{"pong":true,"user_id":%q}`, r.Header.Get("Mattermost-User-Id"))
}

// serveVersions calls GetGroupByRemoteID (Minimum server version: 10.7): on an
// older server Mattermost's own API client logs the failed RPC and returns
// (nil, nil), which a Go plugin cannot tell from "no such group".
func (p *Plugin) serveVersions(w http.ResponseWriter) {
	group, appErr := p.API.GetGroupByRemoteID("e2e-nothing", model.GroupSourceCustom)
	report := map[string]any{
		"server_version": p.API.GetServerVersion(),
		"group_is_nil":   group == nil,
		"app_error":      nil,
	}
	if appErr != nil {
		report["app_error"] = appErr.Id
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(report)
}

// ExecuteCommand answers /gopong [text] with an ephemeral "pong" naming the caller.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(args.Command), "/"+Trigger))
	return &model.CommandResponse{
		ResponseType: model.CommandResponseTypeEphemeral,
		Text:         fmt.Sprintf("pong from Go for %s: %s", args.UserId, text),
	}, nil
}

func main() {
	plugin.ClientMain(&Plugin{})
}
