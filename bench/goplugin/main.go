// Command goplugin is the Go benchmark twin: an ordinary Mattermost server plugin built with
// plugin.ClientMain that does exactly what the Python twin (bench/pyplugin/plugin.py) does, so
// that `make bench` can put the two side by side through the same plugin.Environment.
//
// Behaviour (keep the Python twin identical):
//   - OnActivate does nothing: activation time is the runtime's own cost.
//   - MessageWillBePosted returns the post with its message upper-cased (a modification, so
//     the post crosses the wire both ways).
//   - MessageHasBeenPosted does nothing (no reply).
//   - ExecuteCommand "/bench noop" answers "ok"; "/bench <API method> <n>" calls the API
//     method n times from inside the hook, timing each call, and answers with the durations in
//     nanoseconds as JSON ({"ns": [...]}), so the driver measures the call itself rather than
//     the hook around it. Methods: KVGet (key "bench"), GetUser (the command's user),
//     CreatePost (in the command's channel, as the command's user).
//   - ServeHTTP: GET /hello → a small JSON body; POST /upload → reads the body and answers
//     {"bytes": n}; GET /download?bytes=n → n bytes written in 64 KiB pieces.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// chunk is the piece size of downloads, the same as the Python SDK's stream chunk.
const chunk = 64 << 10

// Plugin is the benchmark twin.
type Plugin struct {
	plugin.MattermostPlugin
}

// OnActivate does nothing.
func (p *Plugin) OnActivate() error { return nil }

// MessageWillBePosted upper-cases the message.
func (p *Plugin) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	post.Message = strings.ToUpper(post.Message)
	return post, ""
}

// MessageHasBeenPosted does nothing.
func (p *Plugin) MessageHasBeenPosted(_ *plugin.Context, _ *model.Post) {}

// ExecuteCommand runs /bench.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	fields := strings.Fields(args.Command)
	if len(fields) == 2 && fields[1] == "noop" {
		return &model.CommandResponse{Text: "ok"}, nil
	}
	if len(fields) != 3 {
		return nil, model.NewAppError("ExecuteCommand", "bench.usage", nil, "usage: /bench noop | /bench <KVGet|GetUser|CreatePost> <n>", http.StatusBadRequest)
	}
	n, err := strconv.Atoi(fields[2])
	if err != nil || n < 1 {
		return nil, model.NewAppError("ExecuteCommand", "bench.count", nil, "n must be a positive integer", http.StatusBadRequest)
	}
	var call func() *model.AppError
	switch fields[1] {
	case "KVGet":
		call = func() *model.AppError { _, e := p.API.KVGet("bench"); return e }
	case "GetUser":
		call = func() *model.AppError { _, e := p.API.GetUser(args.UserId); return e }
	case "CreatePost":
		call = func() *model.AppError {
			_, e := p.API.CreatePost(&model.Post{UserId: args.UserId, ChannelId: args.ChannelId, Message: "bench"})
			return e
		}
	default:
		return nil, model.NewAppError("ExecuteCommand", "bench.method", nil, "unknown API method "+fields[1], http.StatusBadRequest)
	}
	ns := make([]int64, n)
	for i := range ns {
		start := time.Now()
		if appErr := call(); appErr != nil {
			return nil, appErr
		}
		ns[i] = int64(time.Since(start))
	}
	text, _ := json.Marshal(map[string][]int64{"ns": ns})
	return &model.CommandResponse{Text: string(text)}, nil
}

// ServeHTTP serves /hello, /upload and /download.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/hello" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"hello":"world"}`))
	case r.URL.Path == "/upload" && r.Method == http.MethodPost:
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"bytes":%d}`, n)
	case r.URL.Path == "/download" && r.Method == http.MethodGet:
		n, err := strconv.Atoi(r.URL.Query().Get("bytes"))
		if err != nil || n < 0 {
			http.Error(w, "bytes must be a non-negative integer", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		buf := make([]byte, chunk)
		for n > 0 {
			piece := min(n, chunk)
			if _, err := w.Write(buf[:piece]); err != nil {
				return
			}
			n -= piece
		}
	default:
		http.NotFound(w, r)
	}
}

func main() {
	plugin.ClientMain(&Plugin{})
}
