// Package hooksclient implements Mattermost's plugin.Hooks by calling the plugin process's
// PluginHooksService over gRPC. mmplugin-host hands it to the netrpc layer, so the server's
// hook calls reach the Python plugin.
//
// Failure semantics are Mattermost's: when a call fails — the process crashed or is
// restarting, the connection is gone, or the plugin answered with a gRPC status instead of a
// response — the hook logs the hook name and error and returns exactly what Mattermost's own
// hooks client returns when its RPC fails: zero results, or the unchanged input for the hooks
// listed with DefaultFromParam in internal/gen/special.go (MessageWillBePosted keeps the post,
// FileWillBeUploaded keeps the upload, …). Errors the plugin returns as values (an error or
// *model.AppError result) travel in the response and are returned as such.
//
// Calls use context.Background()-derived contexts: like a Go plugin, a hook has no deadline of
// its own, but a call fails as soon as the connection to the plugin process breaks (gRPC's
// fail-fast calls), so a dead process never hangs the server. ServeHTTP and ServeMetrics are
// bound to the HTTP request's context instead, so a client that disconnects cancels the call.
//
// The mechanical hooks are generated (hooks_gen.go); the streaming ones are in streams.go.
package hooksclient

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// Client implements plugin.Hooks over a connection to the plugin process.
type Client struct {
	hooks    pb.PluginHooksServiceClient
	logger   hclog.Logger
	pluginID string
	// failClosed are the hooks that reject instead of allowing when the call fails (SetFailClosed).
	failClosed map[string]bool
}

var _ plugin.Hooks = (*Client)(nil)

// New returns a Client calling the PluginHooksService on conn for the plugin with the given
// manifest id (named in the errors users see). A nil logger discards the failure logs.
func New(conn grpc.ClientConnInterface, logger hclog.Logger, pluginID string) *Client {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Client{hooks: pb.NewPluginHooksServiceClient(conn), logger: logger, pluginID: pluginID}
}

// Unsupported lists the hooks that are not served yet, keyed by Go method name, with the
// reason: a generated hook listed here logs that and returns Mattermost's defaults without
// calling the plugin. The parity report counts them as missing. Empty: every plugin.Hooks
// method is served.
var Unsupported = map[string]string{}

// errNotSupported is the failure of a hook listed in Unsupported.
func errNotSupported(hook string) error {
	return fmt.Errorf("%s is not supported yet by mmplugin-host: %s", hook, Unsupported[hook])
}

// callContext is the context of a hook call: no deadline, as for a Go plugin.
func (h *Client) callContext() context.Context { return context.Background() }

// failed logs a hook call that did not complete; the caller then returns Mattermost's defaults.
func (h *Client) failed(hook string, err error) {
	args := []any{"hook", hook, "error", err.Error()}
	if st, ok := status.FromError(err); ok {
		args = append(args, "code", st.Code().String())
	}
	h.logger.Error("hook call to the plugin process failed; returning Mattermost's default result", args...)
}

// failedErr is failed for hooks whose Mattermost client returns the transport error itself
// (Implemented): the error names the hook so the host's caller can report it.
func (h *Client) failedErr(hook string, err error) error {
	h.failed(hook, err)
	return fmt.Errorf("%s: the call to the plugin process failed: %w", hook, err)
}
