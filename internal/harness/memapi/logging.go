package memapi

import (
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

// The Log* methods write to the server log with plugin_id and the plugin's key/value pairs as
// fields, through mlog's sugared logger exactly as the app layer does (values arrive already
// stringified by the plugin side of the RPC).

// LogDebug logs at debug level.
func (a *API) LogDebug(msg string, keyValuePairs ...any) { a.logger.Debugw(msg, keyValuePairs...) }

// LogInfo logs at info level.
func (a *API) LogInfo(msg string, keyValuePairs ...any) { a.logger.Infow(msg, keyValuePairs...) }

// LogWarn logs at warn level.
func (a *API) LogWarn(msg string, keyValuePairs ...any) { a.logger.Warnw(msg, keyValuePairs...) }

// LogError logs at error level.
func (a *API) LogError(msg string, keyValuePairs ...any) { a.logger.Errorw(msg, keyValuePairs...) }

// LogAuditRec records an audit event at the audit-cli level, like the app layer.
func (a *API) LogAuditRec(rec *model.AuditRecord) { a.LogAuditRecWithLevel(rec, mlog.LvlAuditCLI) }

// LogAuditRecWithLevel writes the audit record to the server log at the given level with the
// calling plugin's id added to its parameters (the server writes it to the audit log).
func (a *API) LogAuditRecWithLevel(rec *model.AuditRecord, level mlog.Level) {
	if rec == nil {
		return
	}
	model.AddEventParameterToAuditRec(rec, "plugin_id", a.pluginID)
	a.s.logger.Log(level, "audit: "+rec.EventName,
		logField("plugin_id", a.pluginID), logField("event_name", rec.EventName), logField("status", rec.Status))
}

func logField(key, value string) mlog.Field { return mlog.String(key, value) }

func logErr(err error) mlog.Field { return mlog.Err(err) }
