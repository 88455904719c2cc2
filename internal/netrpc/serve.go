package netrpc

import (
	"context"
	"errors"
	"net/rpc"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Handshake is Mattermost's go-plugin handshake. The pinned module keeps it unexported
// (plugin.handshake in api.go), so it is replicated here; a stock server refuses to start an
// executable that does not present exactly these values.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "MATTERMOST_PLUGIN",
	MagicCookieValue: "Securely message teams, anywhere.",
}

// DefaultImplementedTimeout bounds how long the answer to the server's Implemented() call may
// wait for Config.Implemented. The server asks right after the handshake, before OnActivate,
// and has no timeout of its own: without a bound a plugin process that never reports its hooks
// would hang the server's plugin start forever.
const DefaultImplementedTimeout = 30 * time.Second

// Config is what the host passes to Serve.
type Config struct {
	// Hooks receives every hook the server calls, except Implemented (answered from
	// Implemented below) and OnActivate's API/Driver set-up (see OnActivate). Calls arrive
	// concurrently, one goroutine per RPC, exactly as in a Go plugin. Required.
	Hooks plugin.Hooks

	// Implemented returns the names of the hooks the plugin defines (Go hook method names,
	// e.g. "MessageWillBePosted"). It is asked once, when the server calls Implemented()
	// right after the handshake, and may block until the plugin process has said them; the
	// context ends after ImplementedTimeout. Names that are not plugin.Hooks methods are
	// dropped with a warning. Required.
	Implemented func(ctx context.Context) ([]string, error)

	// ImplementedTimeout overrides DefaultImplementedTimeout.
	ImplementedTimeout time.Duration

	// OnActivate is called when the server activates the plugin, with clients for the
	// server's API and database Driver back-channels, before OnConfigurationChange and
	// OnActivate are forwarded to Hooks (the same order a Go plugin sees: SetAPI/SetDriver,
	// OnConfigurationChange, OnActivate). An error fails the activation with that error.
	// Optional.
	OnActivate func(api plugin.API, driver plugin.Driver) error

	// Backchannels, when set, are the API and Driver clients connected at activation; the host
	// creates them up front (NewBackchannels) to wrap them in its gRPC services before the
	// server activates the plugin. Default: fresh clients made at activation.
	Backchannels *Backchannels

	// Logger receives this package's own diagnostics (failed streams, failed API calls).
	// Defaults to JSON lines on the process's stderr, which the server's go-plugin client
	// parses into its log at the right level.
	Logger hclog.Logger

	// Test, when set, serves in go-plugin's test mode: no handshake cookie check, no
	// handshake line on stdout, and the ReattachConfig is delivered on
	// Test.ReattachConfigCh so that plugin.Environment.Reattach can attach to an in-process
	// plugin.
	Test *goplugin.ServeTestConfig
}

// Serve serves the plugin side of Mattermost's wire protocol until the server disconnects
// (Control.Quit on deactivation) or, in test mode, Test.Context ends. It prints go-plugin's
// handshake line at once, so the host must call it before any slow start-up work (the server
// allows 3 seconds). After Serve returns the server kills the process within 2 seconds if it
// has not exited.
func Serve(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg.setDefaults()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{"hooks": &hooksPlugin{cfg: &cfg}},
		Logger:          cfg.Logger,
		Test:            cfg.Test,
	})
	return nil
}

func (c *Config) validate() error {
	if c.Hooks == nil {
		return errors.New("netrpc: Config.Hooks is required (the plugin.Hooks implementation to forward hooks to)")
	}
	if c.Implemented == nil {
		return errors.New("netrpc: Config.Implemented is required (it answers the server's Implemented() call)")
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.ImplementedTimeout <= 0 {
		c.ImplementedTimeout = DefaultImplementedTimeout
	}
	if c.Logger == nil {
		c.Logger = hclog.New(&hclog.LoggerOptions{
			Name:       "mmplugin-host",
			Level:      hclog.Debug,
			Output:     os.Stderr,
			JSONFormat: true,
		})
	}
}

// hooksPlugin is the go-plugin Plugin dispensed under the name "hooks", the one Mattermost's
// supervisor asks for. Only the Server half is used: this process is always the plugin.
type hooksPlugin struct {
	cfg *Config
}

var _ goplugin.Plugin = (*hooksPlugin)(nil)

func (p *hooksPlugin) Server(broker *goplugin.MuxBroker) (any, error) {
	return newHooksServer(p.cfg, broker), nil
}

func (p *hooksPlugin) Client(*goplugin.MuxBroker, *rpc.Client) (any, error) {
	return nil, errors.New("netrpc: this package serves the plugin side only; the server side is Mattermost's own plugin package")
}
