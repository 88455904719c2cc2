package netrpc

import (
	"context"
	"fmt"
	"net/rpc"
	"reflect"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// hooksServer is the net/rpc receiver registered as "Plugin" on the stream the server
// dispenses: one exported method per plugin.Hooks method, taking the plugin package's
// Z_<Hook>Args and filling Z_<Hook>Returns. It is the counterpart of Mattermost's
// hooksRPCServer, with Implemented answered by Config.Implemented instead of reflection over
// a Go type. The mechanical methods are in hooks_server_gen.go; the special ones (Implemented,
// OnActivate, ServeHTTP, ServeMetrics, FileWillBeUploaded) are hand-written here and in
// http_server.go.
//
// Only RPC methods may be exported on this type: net/rpc registers every exported method.
type hooksServer struct {
	cfg    *Config
	hooks  plugin.Hooks
	broker *goplugin.MuxBroker
	log    hclog.Logger

	implMu sync.Mutex
	impl   map[string]bool // nil until the plugin's hooks are known
}

func newHooksServer(cfg *Config, broker *goplugin.MuxBroker) *hooksServer {
	return &hooksServer{cfg: cfg, hooks: cfg.Hooks, broker: broker, log: cfg.Logger}
}

// hookNames are the methods of plugin.Hooks other than Implemented: the only names
// Implemented may answer (the server maps them to hook IDs and ignores anything else).
var hookNames = func() map[string]bool {
	names := map[string]bool{}
	for m := range reflect.TypeFor[plugin.Hooks]().Methods() {
		if m.Name != "Implemented" {
			names[m.Name] = true
		}
	}
	return names
}()

// implementedSet returns the plugin's hooks, asking Config.Implemented the first time. A
// failure is not cached: the server may ask again (for example after a restart).
func (s *hooksServer) implementedSet() (map[string]bool, error) {
	s.implMu.Lock()
	defer s.implMu.Unlock()
	if s.impl != nil {
		return s.impl, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ImplementedTimeout)
	defer cancel()
	names, err := s.cfg.Implemented(ctx)
	if err != nil {
		return nil, fmt.Errorf("the plugin did not report its hooks: %w", err)
	}
	set := make(map[string]bool, len(names))
	for _, name := range names {
		if !hookNames[name] {
			s.log.Warn("ignoring unknown hook name reported by the plugin; it is not a method of plugin.Hooks in this Mattermost version", "hook", name)
			continue
		}
		set[name] = true
	}
	s.impl = set
	return set, nil
}

// implements reports whether the plugin declared hook. Hook calls only arrive after
// Implemented (the server asks first), so the set is normally cached; if it is not known
// yet it is fetched now.
func (s *hooksServer) implements(hook string) bool {
	set, err := s.implementedSet()
	if err != nil {
		s.log.Error("cannot tell whether the plugin implements a hook; treating it as not implemented", "hook", hook, "error", err)
		return false
	}
	return set[hook]
}

// Implemented answers the names of the hooks the plugin defines, sorted for a stable answer.
// The server marks exactly these as implemented and never calls the others.
func (s *hooksServer) Implemented(_ struct{}, reply *[]string) error {
	set, err := s.implementedSet()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names)
	*reply = names
	return nil
}

// OnActivate mirrors Mattermost's plugin side: dial the API and Driver back-channels the
// server is serving on the MuxBroker, hand the clients to Config.OnActivate (what
// SetAPI/SetDriver are for a Go plugin), then forward OnConfigurationChange (its error is only
// logged) and OnActivate. Failures are returned in Z_OnActivateReturns.A, so the server
// reports a failed activation; Mattermost's version returns set-up failures as RPC errors,
// which its server logs and then treats as a successful activation without an API.
func (s *hooksServer) OnActivate(args *plugin.Z_OnActivateArgs, returns *plugin.Z_OnActivateReturns) error {
	returns.A = encodeError(s.activate(args))
	return nil
}

func (s *hooksServer) activate(args *plugin.Z_OnActivateArgs) error {
	apiConn, err := s.broker.Dial(args.APIMuxId)
	if err != nil {
		return fmt.Errorf("netrpc: cannot connect to the server's plugin API stream: %w", err)
	}
	driverConn, err := s.broker.Dial(args.DriverMuxId)
	if err != nil {
		_ = apiConn.Close()
		return fmt.Errorf("netrpc: cannot connect to the server's database driver stream: %w", err)
	}
	back := s.cfg.Backchannels
	if back == nil {
		back = NewBackchannels(s.log)
	}
	back.connect(rpc.NewClient(apiConn), rpc.NewClient(driverConn), s.broker)

	if s.cfg.OnActivate != nil {
		if err := s.cfg.OnActivate(back.API, back.Driver); err != nil {
			return err
		}
	}
	if s.implements("OnConfigurationChange") {
		if err := s.hooks.OnConfigurationChange(); err != nil {
			s.log.Error("call to OnConfigurationChange failed", "error", err)
		}
	}
	if s.implements("OnActivate") {
		return s.hooks.OnActivate()
	}
	return nil
}
