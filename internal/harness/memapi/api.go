package memapi

import (
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

// API is the plugin.API one plugin sees (or, from Server.Admin, the server itself). Methods
// the in-memory server implements are defined in this package's hand-written files; every
// other method comes from the generated notSupported base and fails with a clear error.
type API struct {
	notSupported

	s        *Server
	manifest *model.Manifest // nil for Admin
	pluginID string          // "" for Admin
	logger   mlog.Sugar
}

var _ plugin.API = (*API)(nil)

// requirePlugin guards plugin-scoped methods (KV, commands, plugin configuration) against
// use through Server.Admin, which has no plugin id to scope them to.
func (a *API) requirePlugin(method string) *model.AppError {
	if a.pluginID == "" {
		return model.NewAppError(method, "harness.memapi.no_plugin", nil,
			fmt.Sprintf("%s is scoped to a plugin; call it through the plugin's API (Server.NewPluginAPI), not Server.Admin", method),
			http.StatusBadRequest)
	}
	return nil
}

// hookContext is the plugin.Context the app layer passes to hooks for a request that came
// from a plugin: no session, no connection.
func hookContext() *plugin.Context {
	return &plugin.Context{RequestId: model.NewId()}
}
