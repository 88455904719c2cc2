// Package host is mmplugin-host: the executable a stock Mattermost server starts as a Python
// plugin's server part. It joins the layers that each do one job:
//
//	server ⇄ netrpc (Mattermost's wire protocol) ⇄ hooksclient / apiserver (gRPC) ⇄ supervisor ⇄ Python
//
// Start-up order matters: the server allows about 3 s for the handshake line, then asks
// Implemented() before activating the plugin. So Run prints the handshake at once (netrpc.Serve),
// prepares the bundle's venv and starts Python in the background, and answers Implemented() as
// soon as the Python process has said which hooks it defines.
package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/apiserver"
	"github.com/mmplugin/mmplugin/internal/hooksclient"
	"github.com/mmplugin/mmplugin/internal/netrpc"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
	"github.com/mmplugin/mmplugin/internal/pyenv"
	"github.com/mmplugin/mmplugin/internal/supervisor"
)

// Version is the host's version, sent to the plugin process at handshake.
var Version = "0.1.0"

// stopBudget is how long stopping Python may take once the server has asked the plugin to quit:
// go-plugin kills the host 2 s after Quit, and Python must be gone before that.
const stopBudget = 1700 * time.Millisecond

// Options configure Run. The zero value is what the real executable uses.
type Options struct {
	// PluginDir is the unpacked bundle. Default: the nearest directory holding plugin.json
	// at or above the executable (the server runs the executable with its own working
	// directory, so the executable's location is the only reliable clue).
	PluginDir string
	// Logger is where records go that cannot go through the plugin API (before activation,
	// after deactivation, and the netrpc layer's own); see serverlog.go. Default: hclog text
	// lines on stderr, which the server logs at their level.
	Logger hclog.Logger
}

// Run serves the plugin until the server deactivates it. It returns an error only when the
// plugin cannot be served at all; failures of the Python side are reported to the server (a
// failed activation, or the process exiting so that the server's health check notices).
func Run(opts Options) error {
	log := opts.Logger
	if log == nil {
		log = newStderrLogger(hclog.LevelFromString(envOr("MMPLUGIN_LOG_LEVEL", "debug")))
	}
	pluginDir := opts.PluginDir
	if pluginDir == "" {
		dir, err := findPluginDir()
		if err != nil {
			return err
		}
		pluginDir = dir
	}
	manifest, _, err := model.FindManifest(pluginDir)
	if err != nil {
		return fmt.Errorf("mmplugin-host: cannot read the plugin manifest in %s: %w", pluginDir, err)
	}

	back := netrpc.NewBackchannels(log.Named("netrpc"))
	// Everything but the netrpc layer itself (which reports failures of the API) logs through
	// the API once it is connected, so key/values stay fields of the server's log lines.
	serverLog := newServerLogger(log, func() plugin.API {
		if back.Connected() {
			return back.API
		}
		return nil
	})
	api := apiserver.New(back.API, back.Driver, serverLog.Named("api"))
	p := &pythonSide{log: serverLog, pluginDir: pluginDir, manifest: manifest, started: make(chan struct{})}
	// The supervisor's connection sends the unary hooks over the Python process's framed hooks
	// connection (internal/framed) and half-closes it itself before stopping Python.
	hooks := hooksclient.New(p.conn(), serverLog.Named("hooks"), manifest.Id)
	sup, err := p.newSupervisor(api, hooks)
	if err != nil {
		// Still serve, so that the server shows the reason as the activation error.
		p.fail(err)
	} else {
		go p.start(sup)
	}

	err = netrpc.Serve(netrpc.Config{
		Hooks:              detachAfterDeactivate{hooks, serverLog},
		Implemented:        p.implemented,
		ImplementedTimeout: pyenv.DefaultTimeout + supervisor.DefaultHandshakeTimeout,
		Backchannels:       back,
		Logger:             log.Named("netrpc"),
		OnActivate: func(plugin.API, plugin.Driver) error {
			serverLog.attached()
			return nil
		},
	})
	// The server closes the API connection when it asks the host to quit: from here on the
	// host's and Python's records go to stderr (see serverlog.go).
	serverLog.detach()
	p.stop()
	return err
}

// pythonSide owns the plugin's Python process for the host.
type pythonSide struct {
	log       hclog.Logger
	pluginDir string
	manifest  *model.Manifest

	sup      *supervisor.Supervisor
	started  chan struct{} // closed once start has finished, successfully or not
	startErr error
}

func (p *pythonSide) newSupervisor(api *apiserver.Server, hooks *hooksclient.Client) (*supervisor.Supervisor, error) {
	settings, err := supervisor.PythonSettingsFromManifest(p.manifest)
	if err != nil {
		return nil, err
	}
	if err := hooks.SetFailClosed(settings.FailClosedHooks); err != nil {
		return nil, err
	}
	handshakeTimeout, err := envDuration("MMPLUGIN_HANDSHAKE_TIMEOUT")
	if err != nil {
		return nil, err
	}
	queued, retried := hookDelivery()
	sup, err := supervisor.New(supervisor.Config{
		Queued:           queued,
		RetryOnce:        retried,
		RestartWait:      settings.RestartWait(),
		PluginID:         p.manifest.Id,
		PluginDir:        p.pluginDir,
		Python:           settings,
		Logger:           p.log.Named("python"),
		RegisterAPI:      api.Register,
		OnRestart:        p.replayActivation,
		HostVersion:      Version,
		HandshakeTimeout: handshakeTimeout,
	})
	if err != nil {
		return nil, err
	}
	p.sup = sup
	return sup, nil
}

// start prepares the bundle's venv (offline, from its wheelhouse) and starts Python.
func (p *pythonSide) start(sup *supervisor.Supervisor) {
	ctx := context.Background()
	settings, err := pyenv.SettingsFromProps(p.manifest.Props)
	if err == nil && settings.HasWheelhouse() {
		var res pyenv.Result
		res, err = pyenv.Prepare(ctx, pyenv.Options{
			PluginDir: p.pluginDir,
			Settings:  settings,
			Logf:      func(format string, args ...any) { p.log.Info(fmt.Sprintf(format, args...)) },
		})
		if err == nil {
			p.log.Info("Python environment ready", "python", res.Python, "reused", res.Reused)
		}
	}
	if err == nil {
		err = sup.Start(ctx)
	}
	if err != nil {
		p.fail(err)
		return
	}
	close(p.started)
	go p.exitWhenSupervisorGivesUp(sup)
}

func (p *pythonSide) fail(err error) {
	p.log.Error("the plugin's Python side could not start", "error", err.Error())
	p.startErr = err
	close(p.started)
}

// implemented answers the server's Implemented() once Python has said its hooks.
func (p *pythonSide) implemented(ctx context.Context) ([]string, error) {
	select {
	case <-p.started:
	case <-ctx.Done():
		return nil, errors.New("the plugin's Python process did not start in time; see the plugin's log lines")
	}
	if p.startErr != nil {
		return nil, p.startErr
	}
	return p.sup.ImplementedHooks(), nil
}

// replayActivation brings a restarted Python process to where the old one was: the server
// activated the plugin once, so the new process gets OnConfigurationChange and OnActivate now,
// in the order a Go plugin sees them.
func (p *pythonSide) replayActivation(ctx context.Context) error {
	hooks := pb.NewPluginHooksServiceClient(p.sup.ClientConn())
	implemented := map[string]bool{}
	for _, h := range p.sup.ImplementedHooks() {
		implemented[h] = true
	}
	if implemented["OnConfigurationChange"] {
		if _, err := hooks.OnConfigurationChange(ctx, &pb.OnConfigurationChangeRequest{}); err != nil {
			p.log.Error("OnConfigurationChange failed after the restart", "error", err.Error())
		}
	}
	if implemented["OnActivate"] {
		resp, err := hooks.OnActivate(ctx, &pb.OnActivateRequest{})
		if err != nil {
			return fmt.Errorf("OnActivate after the restart: %w", err)
		}
		if e := resp.GetError(); e != nil {
			return fmt.Errorf("OnActivate after the restart: %s", e.GetMessage())
		}
	}
	return nil
}

// exitWhenSupervisorGivesUp ends the host when Python keeps crashing: the server's health
// check then sees a dead plugin and applies its own restart limits and status
// (FailedToStayRunning), which is where an admin looks.
func (p *pythonSide) exitWhenSupervisorGivesUp(sup *supervisor.Supervisor) {
	<-sup.Done()
	if err := sup.Err(); err != nil {
		p.log.Error("giving up on the plugin's Python process", "error", err.Error())
		os.Exit(1)
	}
}

// conn is the connection the hooks client uses; calls fail with a clear Unavailable error while
// there is no live Python process.
func (p *pythonSide) conn() supervisorConn {
	return supervisorConn{p}
}

func (p *pythonSide) stop() {
	if p.sup == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	if err := p.sup.Stop(ctx); err != nil {
		p.log.Warn("stopping the Python process", "error", err.Error())
	}
}

// findPluginDir walks up from the executable to the directory holding the plugin manifest.
func findPluginDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("mmplugin-host: cannot locate its own executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	dir := filepath.Dir(exe)
	for range 6 {
		for _, name := range []string{"plugin.json", "plugin.yaml", "plugin.yml"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("mmplugin-host: no plugin.json at or above %s; the host must be "+
		"inside a plugin bundle (build one with 'mmplugin bundle')", filepath.Dir(exe))
}

// envDuration reads an optional duration setting from the server's environment (0 when unset,
// which means the supervisor's default).
func envDuration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 30s or 2m", name, v)
	}
	return d, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// detachAfterDeactivate sends the log to stderr once OnDeactivate has run: the server closes
// the API connection right after it (see serverlog.go).
type detachAfterDeactivate struct {
	plugin.Hooks
	log *serverLogger
}

func (h detachAfterDeactivate) OnDeactivate() error {
	defer h.log.detach()
	return h.Hooks.OnDeactivate()
}
