package harness

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

// LogEntry is one record of the server log.
type LogEntry struct {
	Time    time.Time
	Level   string // "debug", "info", "warn", "error", ... (mlog level names)
	Message string
	// Fields holds the record's fields rendered as strings, as a log file shows them:
	// plugin_id, source (plugin_stdout/plugin_stderr), and the plugin's key/value pairs.
	Fields map[string]string
}

func (e LogEntry) String() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-5s %q", e.Time.Format("15:04:05.000"), e.Level, e.Message)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, e.Fields[k])
	}
	return b.String()
}

// LogQuery selects log entries. Empty fields match anything.
type LogQuery struct {
	Level string
	// Message matches when it is a substring of the entry's message (plugin stderr lines
	// arrive with prefixes, so exact matching would be brittle).
	Message string
	// Fields must all be present with exactly these values.
	Fields map[string]string
}

func (q LogQuery) matches(e LogEntry) bool {
	if q.Level != "" && q.Level != e.Level {
		return false
	}
	if q.Message != "" && !strings.Contains(e.Message, q.Message) {
		return false
	}
	for k, v := range q.Fields {
		if got, ok := e.Fields[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (q LogQuery) String() string {
	b, _ := json.Marshal(q)
	return string(b)
}

// ServerLog is the captured server log: everything the Environment, the supervisor (plugin
// stdout/stderr and go-plugin's own messages) and the in-memory API (plugin LogX calls) wrote.
type ServerLog struct {
	logger *mlog.Logger

	mu      sync.Mutex
	entries []LogEntry
	changed chan struct{} // closed and replaced on every append
}

// Entries returns every entry so far, oldest first.
func (l *ServerLog) Entries() []LogEntry {
	_ = l.logger.Flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

// Find returns the entries matching q, oldest first.
func (l *ServerLog) Find(q LogQuery) []LogEntry {
	var out []LogEntry
	for _, e := range l.Entries() {
		if q.matches(e) {
			out = append(out, e)
		}
	}
	return out
}

// Wait waits up to timeout for an entry matching q and returns it; it fails the test (with
// the whole log) when none arrives. Use it for log lines written asynchronously, such as a
// plugin's stderr or a hook the server runs in the background.
func (l *ServerLog) Wait(t testing.TB, q LogQuery, timeout time.Duration) LogEntry {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	flush := time.NewTicker(20 * time.Millisecond) // records sit in mlog's queue until flushed
	defer flush.Stop()
	for {
		l.mu.Lock()
		for _, e := range l.entries {
			if q.matches(e) {
				l.mu.Unlock()
				return e
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-flush.C:
			_ = l.logger.Flush()
		case <-deadline.C:
			t.Fatalf("no server log entry matching %s within %s; the log:\n%s", q, timeout, l.Dump())
			return LogEntry{}
		}
	}
}

// Dump renders the whole log, one entry per line.
func (l *ServerLog) Dump() string {
	var b strings.Builder
	for _, e := range l.Entries() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (l *ServerLog) append(e LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	close(l.changed)
	l.changed = make(chan struct{})
}

// captureTarget is an mlog (logr) target that keeps structured records instead of bytes.
type captureTarget struct{ log *ServerLog }

func (c *captureTarget) Init() error     { return nil }
func (c *captureTarget) Shutdown() error { return nil }

func (c *captureTarget) Write(p []byte, rec *mlog.LogRec) (int, error) {
	fields := map[string]string{}
	for _, f := range rec.Fields() {
		var sb strings.Builder
		if err := f.ValueString(&sb, func(string) bool { return false }); err != nil {
			fields[f.Key] = fmt.Sprintf("<unprintable %T: %v>", f.Interface, err)
			continue
		}
		fields[f.Key] = sb.String()
	}
	c.log.append(LogEntry{
		Time:    rec.Time(),
		Level:   rec.Level().Name,
		Message: rec.Msg(),
		Fields:  fields,
	})
	return len(p), nil
}

// capturedLevels is every level the server logs at, audit levels included.
var capturedLevels = append(slices.Clone(mlog.StdAll),
	mlog.LvlCritical, mlog.LvlAuditAPI, mlog.LvlAuditContent, mlog.LvlAuditPerms, mlog.LvlAuditCLI)

// newServerLog builds the server logger with a capture target.
func newServerLog() (*ServerLog, error) {
	logger, err := mlog.NewLogger()
	if err != nil {
		return nil, err
	}
	l := &ServerLog{logger: logger, changed: make(chan struct{})}
	const targetType = "mmplugin-harness-capture"
	factories := &mlog.Factories{
		TargetFactory: func(typ string, _ json.RawMessage) (mlog.Target, error) {
			if typ != targetType {
				return nil, fmt.Errorf("unknown log target type %q", typ)
			}
			return &captureTarget{log: l}, nil
		},
	}
	cfg := mlog.LoggerConfiguration{
		"capture": mlog.TargetCfg{Type: targetType, Format: "plain", Levels: capturedLevels, MaxQueueSize: 10000},
	}
	if err := logger.ConfigureTargets(cfg, factories); err != nil {
		return nil, fmt.Errorf("configure capture log target: %w", err)
	}
	return l, nil
}
