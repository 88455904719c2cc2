package gen

// HookResult is one row of the hook-result table: what the server gets from a hook and what it
// does with it. The generator derives from it, with each hook's Go signature, what every outcome
// of a Python handler sends (None, a value, Reject, DISMISS, an exception, a wrong return type,
// a process that is down); the hooks client (Go), the Python result converters and the table in
// docs/sdk/hooks.md all follow it.
type HookResult struct {
	// Server is what Mattermost's app layer does with the hook's results, read from
	// server/channels/app of the e2e server (11.4.0); for hooks that server does not call, from
	// the pinned plugin/hooks.go documentation.
	Server string
	// DefaultFromParam names the parameter the host answers with when the call fails (the
	// process is down, the handler raised or returned the wrong type): Mattermost's own hooks
	// client pre-fills its result with it (plugin/client_rpc.go), so a failing Go plugin leaves
	// the object unchanged. Empty: the zero values of the results.
	DefaultFromParam string
	// NoneKeeps names the parameter the host answers with when the handler returns None (the
	// response carries neither a result nor a reason), for hooks whose server reads a nil
	// result as a rejection: None then allows the change unchanged, as a Go plugin that
	// returns its input does.
	NoneKeeps string
	// Dismiss: the rejection reason may be plugin.DismissPostError (Python's DISMISS), which
	// drops the post without an error to the user.
	Dismiss bool
	// TransportError: Mattermost's client returns a failed call as the hook's error result
	// (Implemented), so the host must not mistake a dead process for one that implements nothing.
	TransportError bool
	// FailWith names a hand-written hooksclient method that makes the error result of a
	// failed call (instead of Mattermost's zero value), for hooks whose user must be told: a
	// failed ExecuteCommand answers with the server's own "command crashed the plugin" error,
	// as the server does for a Go plugin that crashed in the command.
	FailWith string
	// FailClosedWith names a hand-written hooksclient method (taking the hook's arguments) that
	// answers a hook the plugin asked to fail closed (props.python.fail_closed_hooks) when the
	// call fails, for hooks without a rejection reason. Hooks whose last result is a rejection
	// reason fail closed by rejecting, with a reason naming the plugin.
	FailClosedWith string
}

// HookResults has one row per plugin.Hooks method; the generator fails on a hook without one.
var HookResults = map[string]HookResult{
	"OnActivate": {Server: "An error fails the activation: the plugin is stopped and its status shows the error."},
	"Implemented": {TransportError: true,
		Server: "The hooks the server calls; answered by the SDK from the plugin class."},
	"OnDeactivate":          {Server: "An error is logged; the plugin stops anyway."},
	"OnConfigurationChange": {Server: "An error is logged (\"Plugin OnConfigurationChange hook failed\"); the configuration is saved anyway."},
	"ServeHTTP":             {Server: "The response streams to the HTTP client as the plugin writes it."},
	"ExecuteCommand": {FailWith: "executeCommandFailed",
		Server: "An *AppError answers the command with its translated message and status code; a nil response " +
			"with no error falls through to \"Command with a trigger of '/x' not found\" (404); a plugin that " +
			"crashed answers \"/x command crashed the <plugin> plugin\" (500)."},
	"UserHasBeenCreated": {Server: "Notification only; nothing is read back."},
	"UserWillLogIn":      {Server: "A non-empty reason fails the login with \"Login rejected by plugin: <reason>\" (400)."},
	"UserHasLoggedIn":    {Server: "Notification only; nothing is read back."},
	"MessageWillBePosted": {DefaultFromParam: "post", Dismiss: true,
		Server: "A non-empty reason rejects the post with \"Post rejected by plugin. <reason>\" (400), or drops it " +
			"silently for plugin.DismissPostError; a non-nil post replaces it (the server keeps the priority metadata); " +
			"nil keeps it (Mattermost's client decodes the reply into the original post)."},
	"MessageWillBeUpdated": {DefaultFromParam: "newPost", NoneKeeps: "newPost",
		Server: "A nil post rejects the edit with \"Post rejected by plugin. <reason>\" (400), whatever the reason; " +
			"a non-nil post is stored."},
	"MessageHasBeenPosted":  {Server: "Notification only; nothing is read back."},
	"MessageHasBeenUpdated": {Server: "Notification only; nothing is read back."},
	"MessagesWillBeConsumed": {FailClosedWith: "hideConsumed",
		Server: "Each returned post replaces the post with its id in what the client receives; nil or an empty " +
			"list keeps them all (needs the ConsumePostHook feature flag)."},
	"MessagesWillBeConsumedWithContext": {FailClosedWith: "hideConsumedWithContext",
		Server: "As MessagesWillBeConsumed: returned posts replace the posts with their ids; nil keeps them all."},
	"MessageHasBeenDeleted": {Server: "Notification only; nothing is read back."},
	"ChannelHasBeenCreated": {Server: "Notification only; nothing is read back."},
	"ChannelWillBeArchived": {Server: "A non-empty reason rejects the archive."},
	"ChannelMemberWillBeAdded": {DefaultFromParam: "channelMember",
		Server: "A non-empty reason rejects the addition; a non-nil member replaces it; nil keeps it."},
	"UserHasJoinedChannel": {Server: "Notification only; nothing is read back."},
	"UserHasLeftChannel":   {Server: "Notification only; nothing is read back."},
	"TeamMemberWillBeAdded": {DefaultFromParam: "teamMember",
		Server: "A non-empty reason rejects the addition; a non-nil member replaces it; nil keeps it."},
	"UserHasJoinedTeam": {Server: "Notification only; nothing is read back."},
	"UserHasLeftTeam":   {Server: "Notification only; nothing is read back."},
	"FileWillBeUploaded": {DefaultFromParam: "info",
		Server: "A non-empty reason rejects the upload (\"File rejected by plugin. <reason>\", 400); a non-nil info " +
			"replaces it; bytes written to output replace the file."},
	"FileWillBeDownloaded":          {Server: "A non-empty reason rejects the download."},
	"ReactionHasBeenAdded":          {Server: "Notification only; nothing is read back."},
	"ReactionHasBeenRemoved":        {Server: "Notification only; nothing is read back."},
	"OnPluginClusterEvent":          {Server: "Notification only; nothing is read back."},
	"OnWebSocketConnect":            {Server: "Notification only; nothing is read back."},
	"OnWebSocketDisconnect":         {Server: "Notification only; nothing is read back."},
	"WebSocketMessageHasBeenPosted": {Server: "Notification only; nothing is read back."},
	"RunDataRetention":              {Server: "The count of deleted items is reported by the data retention job; an error fails the plugin's part of it."},
	"OnInstall":                     {Server: "An error is logged (\"Plugin OnInstall hook failed\")."},
	"OnSendDailyTelemetry":          {Server: "Notification only; nothing is read back."},
	"OnCloudLimitsUpdated":          {Server: "Notification only; nothing is read back."},
	"ConfigurationWillBeSaved": {
		Server: "A non-nil config replaces the one being saved; an error stops the save (an *AppError as it is, " +
			"another error as \"app.save_config.plugin_hook_error\", 400)."},
	"EmailNotificationWillBeSent": {
		Server: "A non-empty reason cancels the email; non-nil content replaces the email's content."},
	"NotificationWillBePushed": {
		Server: "A non-empty reason cancels the push notification; a non-nil notification replaces it."},
	"UserHasBeenDeactivated": {Server: "Notification only; nothing is read back."},
	"ServeMetrics":           {Server: "The response streams to the metrics client as the plugin writes it."},
	"OnSharedChannelsSyncMsg": {
		Server: "The sync response is sent to the remote cluster; an error fails the sync of this message."},
	"OnSharedChannelsPing":                {Server: "false marks the remote as unreachable."},
	"PreferencesHaveChanged":              {Server: "Notification only; nothing is read back."},
	"OnSharedChannelsAttachmentSyncMsg":   {Server: "An error fails the attachment sync."},
	"OnSharedChannelsProfileImageSyncMsg": {Server: "An error fails the profile image sync."},
	"GenerateSupportData": {
		Server: "The files are added to the support packet; an error is logged and added to its warning.txt."},
	"OnSAMLLogin": {
		Server: "An error fails the SAML login (\"api.user.authorize_oauth_user.saml_hook_error.app_error\", 500)."},
	"ChannelWillBeUpdated": {
		Server: "A non-empty reason rejects the update; a non-nil channel replaces it; nil keeps it."},
	"ChannelWillBeRestored": {Server: "A non-empty reason rejects the restore."},
	"ScheduledPostWillBeCreated": {
		Server: "As MessageWillBePosted: a non-empty reason rejects, a non-nil scheduled post replaces, nil keeps."},
	"DraftWillBeUpserted": {
		Server: "As MessageWillBePosted: a non-empty reason rejects, a non-nil draft replaces, nil keeps."},
}
