package memapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// pluginCommand is a slash command registered by a plugin.
type pluginCommand struct {
	command  *model.Command
	pluginID string
}

// RegisterCommand registers a slash command for the calling plugin, like the app layer's
// RegisterPluginCommand: the trigger is lower-cased, autocomplete data is derived when
// missing, and re-registering the same trigger and team replaces the command.
func (a *API) RegisterCommand(command *model.Command) error {
	if appErr := a.requirePlugin("RegisterCommand"); appErr != nil {
		return appErr
	}
	if command == nil || command.Trigger == "" {
		return errors.New("invalid command")
	}
	if command.AutocompleteData != nil {
		if err := command.AutocompleteData.IsValid(); err != nil {
			return fmt.Errorf("invalid autocomplete data in command: %w", err)
		}
	}
	autocomplete := command.AutocompleteData
	if autocomplete == nil {
		autocomplete = model.NewAutocompleteData(command.Trigger, command.AutoCompleteHint, command.AutoCompleteDesc)
	} else {
		baseURL, err := url.Parse("/plugins/" + a.pluginID)
		if err != nil {
			return fmt.Errorf("can't parse url /plugins/%s: %w", a.pluginID, err)
		}
		if err := autocomplete.UpdateRelativeURLsForPluginCommands(baseURL); err != nil {
			return fmt.Errorf("can't update relative urls for plugin commands: %w", err)
		}
	}
	cmd := &model.Command{
		Trigger:              strings.ToLower(command.Trigger),
		TeamId:               command.TeamId,
		AutoComplete:         command.AutoComplete,
		AutoCompleteDesc:     command.AutoCompleteDesc,
		AutoCompleteHint:     command.AutoCompleteHint,
		DisplayName:          command.DisplayName,
		AutocompleteData:     autocomplete,
		AutocompleteIconData: command.AutocompleteIconData,
	}

	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pc := range s.commands {
		if pc.command.Trigger == cmd.Trigger && pc.command.TeamId == cmd.TeamId && pc.pluginID == a.pluginID {
			pc.command = cmd
			return nil
		}
	}
	s.commands = append(s.commands, &pluginCommand{command: cmd, pluginID: a.pluginID})
	return nil
}

// UnregisterCommand removes the command with this trigger and team, whichever plugin
// registered it (the app layer does not check either).
func (a *API) UnregisterCommand(teamID, trigger string) error {
	trigger = strings.ToLower(trigger)
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var remaining []*pluginCommand
	for _, pc := range s.commands {
		if pc.command.TeamId != teamID || pc.command.Trigger != trigger {
			remaining = append(remaining, pc)
		}
	}
	s.commands = remaining
	return nil
}

// UnregisterPluginCommands drops every command of a plugin, as the server does when the
// plugin is disabled.
func (s *Server) UnregisterPluginCommands(pluginID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var remaining []*pluginCommand
	for _, pc := range s.commands {
		if pc.pluginID != pluginID {
			remaining = append(remaining, pc)
		}
	}
	s.commands = remaining
}

// Commands returns the registered plugin commands (copies) with the id of the plugin that
// registered each, in registration order.
func (s *Server) Commands() map[string][]*model.Command {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string][]*model.Command{}
	for _, pc := range s.commands {
		c := *pc.command
		out[pc.pluginID] = append(out[pc.pluginID], &c)
	}
	return out
}

// ListPluginCommands returns the plugin commands available in a team.
func (a *API) ListPluginCommands(teamID string) ([]*model.Command, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	out := []*model.Command{}
	for _, pc := range a.s.commands {
		if pc.command.TeamId == "" || pc.command.TeamId == teamID {
			c := *pc.command
			out = append(out, &c)
		}
	}
	return out, nil
}

// ExecuteSlashCommand runs a slash command the way the app layer runs a plugin command: find
// the plugin that registered the trigger for the team, health-check it, call its
// ExecuteCommand hook, health-check it again, then handle the response (an in_channel reply
// becomes a post by the invoking user, an ephemeral one an ephemeral post to them). Built-in
// and custom (webhook) commands are not simulated: an unknown trigger is a 404.
func (a *API) ExecuteSlashCommand(commandArgs *model.CommandArgs) (*model.CommandResponse, error) {
	if commandArgs == nil || !strings.HasPrefix(commandArgs.Command, "/") {
		return nil, badRequest("ExecuteCommand", "api.command.execute_command.format.app_error", "the command must start with /")
	}
	s := a.s
	args := *commandArgs
	s.mu.RLock()
	if _, appErr := s.userLocked("ExecuteSlashCommand", args.UserId); appErr != nil {
		s.mu.RUnlock()
		return nil, appErr
	}
	trigger := strings.ToLower(strings.TrimPrefix(strings.Fields(args.Command + " ")[0], "/"))
	var matched *pluginCommand
	for _, pc := range s.commands {
		if (pc.command.TeamId == "" || pc.command.TeamId == args.TeamId) && pc.command.Trigger == trigger {
			matched = pc
			break
		}
	}
	s.mu.RUnlock()
	if matched == nil {
		return nil, model.NewAppError("command", "api.command.execute_command.not_found.app_error",
			map[string]any{"Trigger": trigger}, "no plugin registered /"+trigger, http.StatusNotFound)
	}

	env := s.env()
	if env == nil {
		return nil, model.NewAppError("ExecutePluginCommand", "model.plugin_command.error.app_error", nil,
			"no plugin environment is connected (Server.SetPlugins)", http.StatusInternalServerError)
	}
	if err := env.PerformHealthCheck(matched.pluginID); err != nil {
		return nil, model.NewAppError("ExecutePluginCommand", "model.plugin_command_error.error.app_error",
			map[string]any{"Command": trigger}, "err= Plugin has recently crashed: "+matched.pluginID, http.StatusInternalServerError).Wrap(err)
	}
	hooks, err := env.HooksForPlugin(matched.pluginID)
	if err != nil {
		return nil, model.NewAppError("ExecutePluginCommand", "model.plugin_command.error.app_error", nil, "", http.StatusInternalServerError).Wrap(err)
	}
	if args.SiteURL == "" {
		args.SiteURL = *s.configSnapshot().ServiceSettings.SiteURL
	}
	response, appErr := hooks.ExecuteCommand(hookContext(), &args)
	if err := env.PerformHealthCheck(matched.pluginID); err != nil {
		return nil, model.NewAppError("ExecutePluginCommand", "model.plugin_command_crash.error.app_error",
			map[string]any{"Command": trigger, "PluginId": matched.pluginID},
			fmt.Sprintf("err= Plugin %s crashed due to /%s command", matched.pluginID, trigger), http.StatusInternalServerError)
	}
	if appErr != nil {
		if appErr.StatusCode < 100 || appErr.StatusCode > 999 {
			appErr.StatusCode = http.StatusInternalServerError
		}
		return response, appErr
	}
	if response == nil {
		return nil, nil
	}
	if appErr := s.handleCommandResponse(&args, response); appErr != nil {
		return response, appErr
	}
	return response, nil
}

// handleCommandResponse posts a command's text response like the app layer's
// HandleCommandResponsePost: in_channel as a post by the invoking user marked from_webhook,
// ephemeral (the default) as an ephemeral post to the user.
func (s *Server) handleCommandResponse(args *model.CommandArgs, response *model.CommandResponse) *model.AppError {
	if response.Text == "" && len(response.Attachments) == 0 {
		return nil
	}
	post := &model.Post{
		ChannelId: args.ChannelId,
		RootId:    args.RootId,
		UserId:    args.UserId,
		Type:      response.Type,
		Message:   response.Text,
	}
	post.SetProps(response.Props)
	if response.ChannelId != "" {
		post.ChannelId = response.ChannelId
	}
	if len(response.Attachments) > 0 {
		model.ParseMessageAttachment(post, response.Attachments)
	}
	if response.ResponseType == model.CommandResponseTypeInChannel {
		post.AddProp(model.PostPropsFromWebhook, "true")
		_, appErr := s.createPost(post)
		return appErr
	}
	p := s.ephemeralPost(post)
	s.recordEphemeral("send", args.UserId, p)
	return nil
}
