// Package harness runs server plugins the way a Mattermost server does, for runtime tests.
//
// It uses Mattermost's own plugin.Environment from the pinned server/public module: real
// plugin directories and manifests, real go-plugin subprocesses with the netrpc protocol,
// Mattermost's supervisor, health check and hook dispatch. Only the server behind plugin.API
// is replaced, by the in-memory implementation in memapi. So a plugin that passes here has
// passed through exactly the code path a stock server uses to load and call it — which is
// what our host binary (cmd/mmplugin-host) must survive, and what a Go plugin built with
// plugin.ClientMain is measured against.
//
// A test creates a Harness, installs a bundle, activates it and drives it:
//
//	h := harness.New(t)
//	h.Install(harness.Bundle{Manifest: manifest, Executable: harness.BuildBinary(t, "./testdata/goplugin")})
//	if err := h.Activate(manifest.Id); err != nil { t.Fatal(err) }
//	post, appErr := h.API().CreatePost(&model.Post{...}) // runs MessageWillBePosted in the plugin
//	h.Log().Wait(t, harness.LogQuery{Message: "posted"}, 5*time.Second)
//	api, hooks := h.Exercised()
//
// Every API call a plugin makes and every hook the server invokes is counted (Exercised); with
// MMPLUGIN_EXERCISED_OUT set, the counts of all harnesses are merged into that JSON file.
package harness

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness/memapi"
)

// asyncTimeout bounds how long WaitAsync and cleanup wait for hooks running in the background.
const asyncTimeout = 10 * time.Second

// Option configures a Harness.
type Option func(*options)

type options struct {
	driver     plugin.AppDriver
	serverOpts []memapi.Option
}

// WithDriver gives plugins a database driver (plugin.Driver calls); without it the
// Environment has none, as a server without a database connection for plugins would.
func WithDriver(d plugin.AppDriver) Option {
	return func(o *options) { o.driver = d }
}

// WithServerOptions passes options to the in-memory server (clock, configuration).
func WithServerOptions(opts ...memapi.Option) Option {
	return func(o *options) { o.serverOpts = append(o.serverOpts, opts...) }
}

// Harness is one simulated Mattermost server with its plugin environment.
type Harness struct {
	t         testing.TB
	env       *plugin.Environment
	server    *memapi.Server
	log       *ServerLog
	rec       *recorder
	pluginDir string
	webappDir string
}

// New creates a Harness with empty plugin and webapp directories in t's temporary directory.
// Cleanup waits for background hooks, shuts the Environment down (OnDeactivate, then the
// plugin processes are killed), merges the call counts into $MMPLUGIN_EXERCISED_OUT when set,
// and prints the server log if the test failed.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	log, err := newServerLog()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	root := t.TempDir()
	h := &Harness{
		t:         t,
		log:       log,
		rec:       newRecorder(),
		pluginDir: filepath.Join(root, "plugins"),
		webappDir: filepath.Join(root, "client-plugins"),
	}
	for _, dir := range []string{h.pluginDir, h.webappDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	h.server = memapi.NewServer(log.logger, h.pluginDir, o.serverOpts...)
	env, err := plugin.NewEnvironment(h.server.NewPluginAPI, o.driver, h.pluginDir, h.webappDir, log.logger, h.rec)
	if err != nil {
		t.Fatalf("harness: plugin.NewEnvironment: %v", err)
	}
	h.env = env
	h.server.SetPlugins(env)
	t.Cleanup(h.close)
	return h
}

func (h *Harness) close() {
	if !h.server.WaitAsync(asyncTimeout) {
		h.t.Errorf("harness: background hooks still running after %s at cleanup", asyncTimeout)
	}
	h.env.Shutdown()
	h.server.SetPlugins(nil)
	if path := os.Getenv(ExercisedEnv); path != "" {
		api, hooks := h.rec.counts()
		if err := mergeExercised(path, api, hooks); err != nil {
			h.t.Errorf("harness: write %s=%s: %v", ExercisedEnv, path, err)
		}
	}
	if h.t.Failed() {
		h.t.Logf("server log:\n%s", h.log.Dump())
	}
	_ = h.log.logger.Shutdown()
}

// Env is the underlying Mattermost plugin environment, for what the Harness does not wrap.
func (h *Harness) Env() *plugin.Environment { return h.env }

// Server is the in-memory server behind every plugin's API.
func (h *Harness) Server() *memapi.Server { return h.server }

// API acts on the in-memory server as the server itself (see memapi.Server.Admin): set up
// users, teams and channels, and post as a user, which runs the plugins' hooks.
func (h *Harness) API() *memapi.API { return h.server.Admin() }

// Log is the captured server log.
func (h *Harness) Log() *ServerLog { return h.log }

// PluginDir is the directory plugins are installed in.
func (h *Harness) PluginDir() string { return h.pluginDir }

// Activate starts an installed plugin as the server does: Implemented, then OnActivate
// (which runs OnConfigurationChange first on the plugin side). The error is the one the
// server would record in the plugin's status.
func (h *Harness) Activate(id string) error {
	_, activated, err := h.env.Activate(id)
	if err != nil || !activated {
		return err
	}
	// Learn the implemented hooks for the recorder. The RPC client skips unimplemented hooks
	// without telling anyone, so this is the only way to know which invocations were real.
	hooks, err := h.env.HooksForPlugin(id)
	if err != nil {
		return fmt.Errorf("harness: plugin %s activated but has no hooks: %w", id, err)
	}
	h.rec.expectInternal(id, "Implemented")
	names, err := hooks.Implemented()
	if err != nil {
		return fmt.Errorf("harness: plugin %s activated but Implemented failed: %w", id, err)
	}
	h.rec.setImplemented(id, names)
	return nil
}

// Deactivate stops a plugin as disabling it does: OnDeactivate, the process is killed and its
// slash commands are unregistered. It reports whether the plugin was running.
func (h *Harness) Deactivate(id string) bool {
	stopped := h.env.Deactivate(id)
	h.server.UnregisterPluginCommands(id)
	return stopped
}

// Hooks returns the hooks of an active plugin (the server's RPC client for them); it fails
// the test if the plugin is not active. Call it from the test goroutine.
func (h *Harness) Hooks(id string) plugin.Hooks {
	h.t.Helper()
	hooks, err := h.env.HooksForPlugin(id)
	if err != nil {
		h.t.Fatalf("harness: hooks of %s: %v (is it installed and activated?)", id, err)
	}
	return hooks
}

// RunMultiPluginHook calls fn for every active plugin implementing hookID (a plugin.*ID
// constant) until fn returns false, as the server does for hooks every plugin may implement.
func (h *Harness) RunMultiPluginHook(hookID int, fn func(hooks plugin.Hooks, manifest *model.Manifest) bool) {
	h.env.RunMultiPluginHook(fn, hookID)
}

// Statuses returns the status of every installed plugin.
func (h *Harness) Statuses() model.PluginStatuses {
	h.t.Helper()
	statuses, err := h.env.Statuses()
	if err != nil {
		h.t.Fatalf("harness: plugin statuses: %v", err)
	}
	return statuses
}

// Status returns the status of one installed plugin, or nil if it is not installed.
func (h *Harness) Status(id string) *model.PluginStatus {
	h.t.Helper()
	for _, s := range h.Statuses() {
		if s.PluginId == id {
			return s
		}
	}
	return nil
}

// HealthCheck pings the plugin process like the server's health-check job (three tries).
func (h *Harness) HealthCheck(id string) error {
	return h.env.PerformHealthCheck(id)
}

// SetPluginConfig saves a plugin's settings as an admin would in the System Console; every
// active plugin's OnConfigurationChange runs before it returns.
func (h *Harness) SetPluginConfig(id string, config map[string]any) {
	h.server.SetPluginConfig(id, config)
}

// ServeHTTP sends r to the plugin's ServeHTTP hook, as the server routes
// /plugins/<id>/<path> after stripping the prefix: r.URL.Path is the path inside the plugin.
// Set the Mattermost-User-Id header to simulate an authenticated request.
func (h *Harness) ServeHTTP(id string, r *http.Request) *http.Response {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.Hooks(id).ServeHTTP(&plugin.Context{RequestId: model.NewId()}, rec, r)
	return rec.Result()
}

// WaitAsync waits for every hook the in-memory server started in the background
// (MessageHasBeenPosted, UserHasJoinedChannel, ...) and for those hooks' own consequences;
// it fails the test after 10 seconds.
func (h *Harness) WaitAsync() {
	h.t.Helper()
	if !h.server.WaitAsync(asyncTimeout) {
		h.t.Fatalf("harness: background hooks still running after %s", asyncTimeout)
	}
}

// Exercised returns how many times each plugin.API method was called by plugins and each
// plugin.Hooks method was invoked, by Go method name, over this Harness's life so far.
func (h *Harness) Exercised() (api map[string]int, hooks map[string]int) {
	return h.rec.counts()
}

// Stats is Exercised with failure counts and total server-side durations, for benchmarks.
func (h *Harness) Stats() (api map[string]CallStats, hooks map[string]CallStats) {
	return h.rec.stats()
}
