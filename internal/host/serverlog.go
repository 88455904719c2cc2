package host

import (
	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// serverLogger writes log records to the server's log through the plugin API once the server
// has activated the plugin — the way a Go plugin logs (p.API.LogInfo(msg, kv...)), which keeps
// each key/value a separate field of the server's log line — and to stderr before that. Stderr
// is go-plugin's hclog path, which the server's hclogAdapter flattens into a single
// "wrapped_extras" string, so it is only the fallback.
type serverLogger struct {
	hclog.Logger                   // the stderr logger: before activation, and for Trace
	api          func() plugin.API // nil until the API is connected
	implied      []any             // key/values added with With
}

func newServerLogger(fallback hclog.Logger, api func() plugin.API) *serverLogger {
	return &serverLogger{Logger: fallback, api: api}
}

func (l *serverLogger) Log(level hclog.Level, msg string, args ...any) {
	api := l.api()
	if api == nil || level < hclog.Debug {
		l.Logger.Log(level, msg, args...)
		return
	}
	if len(l.implied) > 0 {
		args = append(append([]any{}, l.implied...), args...)
	}
	switch {
	case level >= hclog.Error:
		api.LogError(msg, args...)
	case level == hclog.Warn:
		api.LogWarn(msg, args...)
	case level == hclog.Info:
		api.LogInfo(msg, args...)
	default:
		api.LogDebug(msg, args...)
	}
}

func (l *serverLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *serverLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *serverLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *serverLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *serverLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *serverLogger) With(args ...any) hclog.Logger {
	return &serverLogger{Logger: l.Logger.With(args...), api: l.api, implied: append(append([]any{}, l.implied...), args...)}
}

func (l *serverLogger) Named(name string) hclog.Logger {
	return &serverLogger{Logger: l.Logger.Named(name), api: l.api, implied: l.implied}
}

func (l *serverLogger) ResetNamed(name string) hclog.Logger {
	return &serverLogger{Logger: l.Logger.ResetNamed(name), api: l.api, implied: l.implied}
}
