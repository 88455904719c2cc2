// Package memapi is an in-memory implementation of Mattermost's server-side plugin.API for
// runtime tests.
//
// A Server holds one shared, in-memory "database" (users, teams, channels, posts, reactions,
// bots, KV, commands, configuration) and hands out one API per plugin, exactly as Mattermost's
// app layer builds one PluginAPI per manifest. The behaviour follows the Mattermost app layer
// (server/v8 channels/app) closely where plugins can observe it: validation through the model
// package's own PreSave/IsValid, KV semantics of the SQL store (atomic compare-and-set, expiry),
// and hooks fired through the plugin.Environment the way the app layer fires them —
// MessageWillBePosted/MessageWillBeUpdated synchronously with replace/reject, the
// "has been" hooks asynchronously afterwards. That is what makes re-entrancy tests real: a
// plugin that creates a post from inside a hook gets its own MessageWillBePosted called again.
//
// Hooks the server fires, all through Plugins.RunMultiPluginHook unless noted:
//
//   - synchronously, with the app layer's replace/reject handling: MessageWillBePosted,
//     MessageWillBeUpdated, ChannelMemberWillBeAdded, TeamMemberWillBeAdded,
//     ChannelWillBeArchived, MessagesWillBeConsumed(+WithContext) on every post read, and
//     OnConfigurationChange on every configuration save;
//   - asynchronously (wait with Server.WaitAsync): MessageHasBeenPosted, MessageHasBeenUpdated,
//     MessageHasBeenDeleted, ReactionHasBeenAdded/Removed, UserHasBeenCreated,
//     UserHasBeenDeactivated, UserHasJoined/LeftChannel, UserHasJoined/LeftTeam,
//     ChannelHasBeenCreated, and OnPluginClusterEvent of the publishing plugin;
//   - on one plugin through Plugins.HooksForPlugin: ExecuteCommand (ExecuteSlashCommand) and
//     ServeHTTP (PluginHTTP).
//
// Methods outside that core domain return a *model.AppError with status 501 and id
// "harness.memapi.not_supported" naming the method (or the same AppError as a plain error);
// methods without an error result return zero values. None panics, and every such call is
// logged as a warning naming the method. See notsupported_gen.go.
package memapi

import (
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

// Plugins is how the Server reaches the plugins it serves. *plugin.Environment implements it,
// so hooks travel the real go-plugin/netrpc path.
type Plugins interface {
	RunMultiPluginHook(hookRunnerFunc func(hooks plugin.Hooks, manifest *model.Manifest) bool, hookID int)
	HooksForPlugin(id string) (plugin.Hooks, error)
	PerformHealthCheck(id string) error
}

// Option configures a Server.
type Option func(*Server)

// WithClock replaces the clock used for timestamps and KV expiry (milliseconds since the
// epoch, like model.GetMillis). Tests use it to expire KV entries without sleeping.
func WithClock(now func() int64) Option {
	return func(s *Server) { s.now = now }
}

// WithConfig lets a test adjust the server configuration before any plugin starts.
func WithConfig(mutate func(*model.Config)) Option {
	return func(s *Server) { mutate(s.cfg) }
}

// Server is the shared in-memory state behind every plugin's API.
type Server struct {
	logger    *mlog.Logger
	pluginDir string
	now       func() int64
	installAt int64

	pluginsMu sync.RWMutex
	plugins   Plugins

	async asyncTracker

	mu             sync.RWMutex
	cfg            *model.Config
	users          map[string]*model.User
	teams          map[string]*model.Team
	teamMembers    map[string]map[string]*model.TeamMember    // team id -> user id -> member
	channels       map[string]*model.Channel                  // channel id -> channel
	channelMembers map[string]map[string]*model.ChannelMember // channel id -> user id -> member
	posts          map[string]*model.Post
	lastPostAt     int64                        // CreateAt of the newest post, to keep creation times unique
	reactions      map[string][]*model.Reaction // post id -> reactions
	bots           map[string]*model.Bot        // bot user id -> bot
	kv             map[string]map[string]kvEntry
	commands       []*pluginCommand
	ephemeral      []EphemeralPost
	wsEvents       []WebSocketEvent
	clusterEvents  []ClusterEvent
}

// NewServer returns an empty server. logger receives the plugins' LogDebug/Info/Warn/Error
// calls (with plugin_id and their key/value pairs); pluginDir is the directory bundles live in
// (GetBundlePath answers inside it).
func NewServer(logger *mlog.Logger, pluginDir string, opts ...Option) *Server {
	cfg := &model.Config{}
	cfg.SetDefaults()
	cfg.PluginSettings.Directory = model.NewPointer(pluginDir)
	cfg.PluginSettings.Enable = model.NewPointer(true)
	if cfg.PluginSettings.Plugins == nil {
		cfg.PluginSettings.Plugins = map[string]map[string]any{}
	}
	s := &Server{
		logger:         logger,
		pluginDir:      pluginDir,
		now:            model.GetMillis,
		cfg:            cfg,
		users:          map[string]*model.User{},
		teams:          map[string]*model.Team{},
		teamMembers:    map[string]map[string]*model.TeamMember{},
		channels:       map[string]*model.Channel{},
		channelMembers: map[string]map[string]*model.ChannelMember{},
		posts:          map[string]*model.Post{},
		reactions:      map[string][]*model.Reaction{},
		bots:           map[string]*model.Bot{},
		kv:             map[string]map[string]kvEntry{},
	}
	for _, opt := range opts {
		opt(s)
	}
	s.installAt = s.now()
	return s
}

// SetPlugins connects the server to the environment that runs the plugins. Until it is
// called (or with nil) no hooks fire.
func (s *Server) SetPlugins(p Plugins) {
	s.pluginsMu.Lock()
	defer s.pluginsMu.Unlock()
	s.plugins = p
}

func (s *Server) env() Plugins {
	s.pluginsMu.RLock()
	defer s.pluginsMu.RUnlock()
	return s.plugins
}

// NewPluginAPI returns the API a plugin with this manifest talks to. Its signature is the one
// plugin.NewEnvironment expects for creating API implementations.
func (s *Server) NewPluginAPI(manifest *model.Manifest) plugin.API {
	return s.pluginAPI(manifest)
}

func (s *Server) pluginAPI(manifest *model.Manifest) *API {
	return &API{
		notSupported: notSupported{report: s.reportUnsupported(manifest.Id)},
		s:            s,
		manifest:     manifest,
		pluginID:     manifest.Id,
		logger:       s.logger.Sugar(mlog.String("plugin_id", manifest.Id)),
	}
}

// reportUnsupported logs every call of a method the in-memory API lacks, so a failing test
// shows why.
func (s *Server) reportUnsupported(pluginID string) func(method string) {
	return func(method string) {
		s.logger.Warn("harness: plugin called a plugin.API method the in-memory API does not support",
			mlog.String("plugin_id", pluginID), mlog.String("method", method))
	}
}

// Admin returns an API that acts as the server itself rather than a plugin: what a test uses
// to set up users, teams and channels, or to post "as a user" the way the REST API would
// (posts made through it do not get the from_plugin prop). Plugin-scoped methods (KV,
// commands, plugin configuration) fail on it with a clear error.
func (s *Server) Admin() *API {
	return &API{
		notSupported: notSupported{report: s.reportUnsupported("")},
		s:            s,
		logger:       s.logger.Sugar(mlog.String("source", "harness")),
	}
}

// WaitAsync blocks until every hook the server started asynchronously (MessageHasBeenPosted,
// UserHasJoinedChannel, OnPluginClusterEvent, ...) has returned, including hooks those hooks
// caused in turn, or until timeout passes. It reports whether everything finished.
func (s *Server) WaitAsync(timeout time.Duration) bool {
	return s.async.wait(timeout)
}

// BundlePath is where the plugin with this id is installed.
func (s *Server) BundlePath(pluginID string) string {
	p, err := filepath.Abs(filepath.Join(s.pluginDir, pluginID))
	if err != nil {
		return filepath.Join(s.pluginDir, pluginID)
	}
	return p
}

// asyncTracker counts goroutines started for asynchronous hooks so tests can wait for them.
// A plain sync.WaitGroup cannot be used: hooks start new hooks while someone is waiting.
type asyncTracker struct {
	mu      sync.Mutex
	running int
	idle    chan struct{} // closed when running drops to 0; nil while idle
}

func (a *asyncTracker) goAsync(f func()) {
	a.mu.Lock()
	if a.running == 0 {
		a.idle = make(chan struct{})
	}
	a.running++
	a.mu.Unlock()
	go func() {
		defer func() {
			a.mu.Lock()
			a.running--
			if a.running == 0 {
				close(a.idle)
				a.idle = nil
			}
			a.mu.Unlock()
		}()
		f()
	}()
}

func (a *asyncTracker) wait(timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		a.mu.Lock()
		idle := a.idle
		a.mu.Unlock()
		if idle == nil {
			return true
		}
		select {
		case <-idle:
		case <-deadline:
			return false
		}
	}
}

// runHook runs hookRunner over every active plugin implementing hookID, synchronously.
func (s *Server) runHook(hookID int, hookRunner func(hooks plugin.Hooks, manifest *model.Manifest) bool) {
	if env := s.env(); env != nil {
		env.RunMultiPluginHook(hookRunner, hookID)
	}
}

// runHookAsync is runHook on a tracked goroutine, like the app layer's a.Srv().Go(...).
func (s *Server) runHookAsync(hookID int, hookRunner func(hooks plugin.Hooks, manifest *model.Manifest) bool) {
	if s.env() == nil {
		return
	}
	s.async.goAsync(func() { s.runHook(hookID, hookRunner) })
}

func (s *Server) nowMillis() int64 { return s.now() }

// Error helpers. Ids and status codes follow the app layer where plugins can observe them
// (pluginapi maps 404 to ErrNotFound, for example).

func notFound(where, id, details string) *model.AppError {
	return model.NewAppError(where, id, nil, details, http.StatusNotFound)
}

func badRequest(where, id, details string) *model.AppError {
	return model.NewAppError(where, id, nil, details, http.StatusBadRequest)
}

func forbidden(where, id, details string) *model.AppError {
	return model.NewAppError(where, id, nil, details, http.StatusForbidden)
}
