package hooksclient

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// commandCrashID is the server's own error for a command whose Go plugin crashed
// (app.tryExecutePluginCommand after a failed health check).
const commandCrashID = "model.plugin_command_crash.error.app_error"

// executeCommandFailed is ExecuteCommand's error when the plugin could not answer (the handler
// raised, or the process is down): what the server shows when a Go plugin crashes in a command,
// "/<trigger> command crashed the <plugin> plugin. Please contact your system administrator"
// (500), instead of Mattermost's zero value, which the server would answer with "Command with
// a trigger of … not found" (404): the user would be told the plugin is not installed.
//
// The text is the server's English translation of commandCrashID, sent untranslated because
// an *AppError's params do not cross Mattermost's RPC (gob skips unexported fields), so the
// server could not fill them in.
func (h *Client) executeCommandFailed(err error, _ *plugin.Context, args *model.CommandArgs) *model.AppError {
	trigger := ""
	if args != nil {
		// As app.tryExecutePluginCommand finds it.
		trigger = strings.ToLower(strings.TrimPrefix(strings.Split(args.Command, " ")[0], "/"))
	}
	pluginID := h.pluginID
	return &model.AppError{
		Id:              commandCrashID,
		Message:         fmt.Sprintf("/%s command crashed the %s plugin. Please contact your system administrator", trigger, pluginID),
		DetailedError:   fmt.Sprintf("err= Plugin %s crashed due to /%s command: %v", pluginID, trigger, err),
		StatusCode:      http.StatusInternalServerError,
		Where:           "ExecutePluginCommand",
		SkipTranslation: true,
	}
}
