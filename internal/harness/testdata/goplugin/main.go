// Command goplugin is the Go twin of the Python example plugin: a small, ordinary Mattermost
// server plugin built with plugin.ClientMain, which the harness tests run through Mattermost's
// own plugin.Environment and which benchmarks compare against the Python plugin doing the
// same work through mmplugin-host.
//
// Behaviour (keep the Python twin identical):
//   - OnConfigurationChange loads {"Greeting", "BlockedWord"} (defaults "Hello", "forbidden").
//   - OnActivate ensures the bot "greeter", counts activations in KV ("activations", decimal
//     text, updated with compare-and-set) and registers /greet.
//   - MessageWillBePosted rejects posts containing the blocked word, upper-cases posts starting
//     with "shout:" (dropping the prefix), and leaves everything else alone.
//   - MessageHasBeenPosted answers a root post "ping" with a bot reply "pong" in its thread.
//   - ExecuteCommand: "/greet [name]" answers ephemerally "<Greeting>, <name>!"
//     (name defaults to "world"); "/greet count" answers in channel with the activation count.
//   - ServeHTTP: GET /greeting → {"greeting": ..., "user_id": <Mattermost-User-Id>};
//     POST /kv/<key> stores the body, GET /kv/<key> returns it (404 if missing).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Trigger is the slash command the plugin registers.
const Trigger = "greet"

// Config is the plugin's settings (manifest settings_schema).
type Config struct {
	Greeting    string
	BlockedWord string
}

// Plugin is the greeter.
type Plugin struct {
	plugin.MattermostPlugin

	mu     sync.RWMutex
	config Config
	botID  string
}

func (p *Plugin) cfg() Config {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.config
}

// OnConfigurationChange loads the settings; the server calls it before OnActivate too.
func (p *Plugin) OnConfigurationChange() error {
	var c Config
	if err := p.API.LoadPluginConfiguration(&c); err != nil {
		return fmt.Errorf("load configuration: %w", err)
	}
	if c.Greeting == "" {
		c.Greeting = "Hello"
	}
	if c.BlockedWord == "" {
		c.BlockedWord = "forbidden"
	}
	p.mu.Lock()
	p.config = c
	p.mu.Unlock()
	return nil
}

// OnActivate ensures the bot, counts the activation and registers the command.
func (p *Plugin) OnActivate() error {
	botID, err := p.API.EnsureBotUser(&model.Bot{Username: "greeter", DisplayName: "Greeter"})
	if err != nil {
		return fmt.Errorf("ensure bot: %w", err)
	}
	p.mu.Lock()
	p.botID = botID
	p.mu.Unlock()

	count, err := p.incrementActivations()
	if err != nil {
		return err
	}
	if err := p.API.RegisterCommand(&model.Command{
		Trigger:          Trigger,
		AutoComplete:     true,
		AutoCompleteDesc: "Greets you",
		AutoCompleteHint: "[name|count]",
		DisplayName:      "Greeter",
	}); err != nil {
		return fmt.Errorf("register /%s: %w", Trigger, err)
	}
	p.API.LogInfo("greeter activated", "bot_id", botID, "activations", count)
	return nil
}

// incrementActivations adds one to the "activations" counter with compare-and-set, so two
// nodes activating at once cannot lose an increment.
func (p *Plugin) incrementActivations() (int, error) {
	for range 5 {
		old, appErr := p.API.KVGet("activations")
		if appErr != nil {
			return 0, fmt.Errorf("read activations: %w", appErr)
		}
		n := 0
		if old != nil {
			if n, appErr = parseCount(old); appErr != nil {
				return 0, appErr
			}
		}
		ok, appErr := p.API.KVCompareAndSet("activations", old, []byte(strconv.Itoa(n+1)))
		if appErr != nil {
			return 0, fmt.Errorf("update activations: %w", appErr)
		}
		if ok {
			return n + 1, nil
		}
	}
	return 0, fmt.Errorf("update activations: too much contention")
}

func parseCount(b []byte) (int, *model.AppError) {
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, model.NewAppError("parseCount", "goplugin.activations.corrupt", nil, err.Error(), http.StatusInternalServerError)
	}
	return n, nil
}

// MessageWillBePosted rejects or rewrites posts; the bot's own posts pass untouched.
func (p *Plugin) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	c := p.cfg()
	if post.UserId == p.bot() {
		return nil, ""
	}
	if c.BlockedWord != "" && strings.Contains(strings.ToLower(post.Message), strings.ToLower(c.BlockedWord)) {
		return nil, "the message contains the blocked word " + strconv.Quote(c.BlockedWord)
	}
	if rest, ok := strings.CutPrefix(post.Message, "shout:"); ok {
		post.Message = strings.ToUpper(strings.TrimSpace(rest))
		return post, ""
	}
	return nil, ""
}

// MessageHasBeenPosted answers "ping" with "pong" in the thread, as the bot.
func (p *Plugin) MessageHasBeenPosted(_ *plugin.Context, post *model.Post) {
	bot := p.bot()
	if post.UserId == bot || post.RootId != "" || strings.TrimSpace(post.Message) != "ping" {
		return
	}
	if _, appErr := p.API.CreatePost(&model.Post{
		UserId:    bot,
		ChannelId: post.ChannelId,
		RootId:    post.Id,
		Message:   "pong",
	}); appErr != nil {
		p.API.LogError("could not answer ping", "post_id", post.Id, "error", appErr.Error())
	}
}

func (p *Plugin) bot() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.botID
}

// ExecuteCommand answers /greet.
func (p *Plugin) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	// The server matches the trigger case-insensitively and passes the command as typed.
	_, arg, _ := strings.Cut(strings.TrimSpace(args.Command), " ")
	arg = strings.TrimSpace(arg)
	if arg == "count" {
		raw, appErr := p.API.KVGet("activations")
		if appErr != nil {
			return nil, appErr
		}
		return &model.CommandResponse{
			ResponseType: model.CommandResponseTypeInChannel,
			Text:         fmt.Sprintf("activations: %s", raw),
		}, nil
	}
	if arg == "" {
		arg = "world"
	}
	return &model.CommandResponse{
		ResponseType: model.CommandResponseTypeEphemeral,
		Text:         fmt.Sprintf("%s, %s!", p.cfg().Greeting, arg),
	}, nil
}

// ServeHTTP serves /greeting and /kv/<key>.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/greeting" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"greeting": p.cfg().Greeting,
			"user_id":  r.Header.Get("Mattermost-User-Id"),
		})
	case strings.HasPrefix(r.URL.Path, "/kv/"):
		p.serveKV(w, r, strings.TrimPrefix(r.URL.Path, "/kv/"))
	default:
		http.NotFound(w, r)
	}
}

func (p *Plugin) serveKV(w http.ResponseWriter, r *http.Request, key string) {
	switch r.Method {
	case http.MethodGet:
		value, appErr := p.API.KVGet(key)
		if appErr != nil {
			http.Error(w, appErr.Error(), appErr.StatusCode)
			return
		}
		if value == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(value)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if appErr := p.API.KVSet(key, body); appErr != nil {
			http.Error(w, appErr.Error(), appErr.StatusCode)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func main() {
	plugin.ClientMain(&Plugin{})
}
