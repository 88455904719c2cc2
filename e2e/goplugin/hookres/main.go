// Command hookres is the Go twin of the Python plugin in e2e/plugins/hookres: both answer the
// same hooks the same way, so the end-to-end tests can show that the server does the same with
// a Python plugin's results as with a Go plugin's (docs/sdk/hooks.md, "What the server gets").
package main

import (
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// The markers and texts the e2e tests use; the Python twin has the same.
const (
	trigger         = "hookres-go"
	noEditMarker    = "noedit"
	noEditReason    = "edits containing noedit are not allowed"
	consumeMarker   = "consume-replace"
	consumedMessage = "replaced by the plugin when read"
)

// Plugin keeps edits unless they contain noEditMarker, replaces posts containing consumeMarker
// when they are read, and answers /hookres-go fail|failid|crash with errors.
type Plugin struct {
	plugin.MattermostPlugin
}

// OnActivate registers the slash command.
func (p *Plugin) OnActivate() error {
	return p.API.RegisterCommand(&model.Command{Trigger: trigger, AutoComplete: true, DisplayName: trigger})
}

// MessageWillBeUpdated keeps an edit by returning it (the Go equivalent of Python's None).
func (p *Plugin) MessageWillBeUpdated(_ *plugin.Context, newPost, _ *model.Post) (*model.Post, string) {
	if strings.Contains(newPost.Message, noEditMarker) {
		return nil, noEditReason
	}
	return newPost, ""
}

// MessagesWillBeConsumed replaces only the posts containing consumeMarker; nil when none does.
func (p *Plugin) MessagesWillBeConsumed(posts []*model.Post) []*model.Post {
	var out []*model.Post
	for _, post := range posts {
		if strings.Contains(post.Message, consumeMarker) {
			replaced := post.Clone()
			replaced.Message = consumedMessage
			out = append(out, replaced)
		}
	}
	return out
}

// ServeHTTP panics on /crash (the secret must never reach the client) and answers "ok" otherwise.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/crash":
		panic("secret detail of the crash")
	case "/echo": // the bytes of the X-Raw header and of the query string, as received
		_, _ = w.Write([]byte(hex.EncodeToString([]byte(r.Header.Get("X-Raw"))) + "|" + hex.EncodeToString([]byte(r.URL.RawQuery))))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// ExecuteCommand fails in the ways a command can.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	switch strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(args.Command), "/"+trigger)) {
	case "fail":
		return nil, model.NewAppError("ExecuteCommand", "The weather service is down", nil, "", http.StatusServiceUnavailable)
	case "failid":
		return nil, &model.AppError{Id: "weather.down", Message: "nicer text", Where: "ExecuteCommand",
			StatusCode: http.StatusServiceUnavailable, SkipTranslation: true}
	case "crash":
		panic("the command crashed")
	}
	return &model.CommandResponse{ResponseType: model.CommandResponseTypeEphemeral, Text: "ok"}, nil
}

func main() {
	plugin.ClientMain(&Plugin{})
}
