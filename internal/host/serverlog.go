package host

import (
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// The server reads a plugin's stderr with go-plugin, which hands each line's key/values to
// Mattermost's hclogAdapter; the adapter joins them with fmt.Sprint into one "wrapped_extras"
// string (two strings in a row get no space: "@modulemmplugin-host.pythonpid42"). Only the
// plugin API (p.API.LogInfo(msg, kv...), what a Go plugin uses) keeps each key/value a separate
// field of the server's log line. So the host's log goes through the API whenever the API is
// there:
//   - before the server activates the plugin (the API is connected at OnActivate) records are
//     held, up to heldMax of them and for at most holdFor, and written through the API at
//     activation, each with the time it happened ("logged_at");
//   - once the server is deactivating the plugin (after OnDeactivate, or when the server asks
//     the process to quit) the API is going away: a call on it fails and netrpc would log that
//     failure at error level, which reads as a fault on every normal stop. Records go to stderr
//     from then on;
//   - records that cannot wait (held too long, too many, trace level) also go to stderr.
//
// The stderr logger writes hclog's text format without a timestamp ("[INFO]  name: msg:
// key=value"): go-plugin recognises the level prefix and logs the whole line as the message
// without extras, so a line is readable and at its level rather than split into a message and
// a run-together "wrapped_extras".

const (
	heldMax = 500              // records held before activation
	holdFor = 20 * time.Second // longest a record waits for activation before going to stderr
)

// newStderrLogger is the host's fallback logger: hclog text lines on stderr without time.
func newStderrLogger(level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:        "mmplugin-host",
		Level:       level,
		Output:      os.Stderr,
		DisableTime: true,
	})
}

// heldRecord is one record logged before the API was connected.
type heldRecord struct {
	logger hclog.Logger // the stderr logger it would have used (its name)
	level  hclog.Level
	msg    string
	args   []any
	at     time.Time
}

// logSink is what every logger derived from one serverLogger shares: the API, the held
// records and whether the API is still usable.
type logSink struct {
	api func() plugin.API // nil until the API is connected

	mu       sync.Mutex
	held     []heldRecord
	detached bool        // the server is deactivating the plugin: stderr only
	timer    *time.Timer // sends held records to stderr after holdFor
}

// serverLogger writes log records to the server's log through the plugin API (see above).
type serverLogger struct {
	hclog.Logger // the stderr logger
	sink         *logSink
	implied      []any // key/values added with With
}

func newServerLogger(fallback hclog.Logger, api func() plugin.API) *serverLogger {
	return &serverLogger{Logger: fallback, sink: &logSink{api: api}}
}

// attached is called once the API is connected (at OnActivate): held records go to the server.
func (l *serverLogger) attached() {
	s := l.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	api := s.api()
	if api == nil || s.detached {
		return
	}
	s.flushLocked(api)
}

// detach sends every later record to stderr: the server is closing the API connection.
func (l *serverLogger) detach() {
	s := l.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detached = true
	s.toStderrLocked()
}

func (s *logSink) flushLocked(api plugin.API) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	held := s.held
	s.held = nil
	for _, r := range held {
		args := append(append([]any{}, r.args...), "logged_at", r.at.UTC().Format(time.RFC3339Nano))
		toAPI(api, r.level, r.msg, args)
	}
}

func (s *logSink) toStderrLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	held := s.held
	s.held = nil
	for _, r := range held {
		r.logger.Log(r.level, r.msg, r.args...)
	}
}

func (l *serverLogger) Log(level hclog.Level, msg string, args ...any) {
	if level < hclog.Debug {
		l.Logger.Log(level, msg, args...)
		return
	}
	if len(l.implied) > 0 {
		args = append(append([]any{}, l.implied...), args...)
	}
	s := l.sink
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		l.Logger.Log(level, msg, args...)
		return
	}
	api := s.api()
	if api == nil {
		defer s.mu.Unlock()
		if len(s.held) >= heldMax {
			s.toStderrLocked()
			l.Logger.Log(level, msg, args...)
			return
		}
		s.held = append(s.held, heldRecord{logger: l.Logger, level: level, msg: msg, args: args, at: time.Now()})
		if s.timer == nil {
			s.timer = time.AfterFunc(holdFor, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.timer = nil
				s.toStderrLocked()
			})
		}
		return
	}
	if len(s.held) > 0 {
		s.flushLocked(api) // rare: only the first records after activation
	}
	s.mu.Unlock()
	// Outside the lock: an API call is a round trip to the server, and records of concurrent
	// hooks should not queue behind each other.
	toAPI(api, level, msg, args)
}

func toAPI(api plugin.API, level hclog.Level, msg string, args []any) {
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
	return &serverLogger{Logger: l.Logger.With(args...), sink: l.sink, implied: append(append([]any{}, l.implied...), args...)}
}

func (l *serverLogger) Named(name string) hclog.Logger {
	return &serverLogger{Logger: l.Logger.Named(name), sink: l.sink, implied: l.implied}
}

func (l *serverLogger) ResetNamed(name string) hclog.Logger {
	return &serverLogger{Logger: l.Logger.ResetNamed(name), sink: l.sink, implied: l.implied}
}
