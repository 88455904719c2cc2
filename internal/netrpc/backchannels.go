package netrpc

import (
	"fmt"
	"net/rpc"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Backchannels are the server's plugin API and database Driver as seen from the plugin side.
// They exist from the moment the host starts — so that the gRPC services wrapping them can be
// registered before the plugin process is launched, which happens before the server activates
// the plugin — and are connected when the server activates the plugin (Z_OnActivateArgs carries
// the MuxBroker ids of both streams). Until then every call fails with an error that says so,
// exactly as a Go plugin's nil API would be unusable before SetAPI.
type Backchannels struct {
	api    *backchannel
	driver *backchannel
	// API and Driver are the clients; they are valid for the life of the process.
	API    plugin.API
	Driver plugin.Driver
}

// NewBackchannels makes unconnected clients; pass them in Config.Backchannels.
func NewBackchannels(log hclog.Logger) *Backchannels {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	b := &Backchannels{
		api:    &backchannel{name: "plugin API"},
		driver: &backchannel{name: "database driver"},
	}
	b.API = &apiClient{client: b.api, log: log}
	b.Driver = &driverClient{client: b.driver, log: log}
	return b
}

// Connected reports whether the server has activated the plugin and the clients work.
func (b *Backchannels) Connected() bool { return b.api.conn.Load() != nil }

// connect attaches the streams dialed at activation.
func (b *Backchannels) connect(api, driver *rpc.Client, broker *goplugin.MuxBroker) {
	b.api.conn.Store(&backchannelConn{rpc: api, broker: broker})
	b.driver.conn.Store(&backchannelConn{rpc: driver, broker: broker})
}

// backchannel is the net/rpc client of one stream the server serves, connected at activation.
type backchannel struct {
	name string
	conn atomic.Pointer[backchannelConn]
}

type backchannelConn struct {
	rpc    *rpc.Client
	broker *goplugin.MuxBroker
}

// Call performs one net/rpc call, or fails if the stream is not connected yet.
func (b *backchannel) Call(serviceMethod string, args, reply any) error {
	c := b.conn.Load()
	if c == nil {
		return b.notConnected()
	}
	return c.rpc.Call(serviceMethod, args, reply)
}

// broker returns the MuxBroker for side streams (request bodies, uploads), or an error before
// activation.
func (b *backchannel) broker() (*goplugin.MuxBroker, error) {
	c := b.conn.Load()
	if c == nil {
		return nil, b.notConnected()
	}
	return c.broker, nil
}

func (b *backchannel) notConnected() error {
	return fmt.Errorf("the Mattermost server's %s is not available yet: it is connected when the "+
		"server activates the plugin (from on_configuration_change/on_activate on)", b.name)
}
