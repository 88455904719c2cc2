package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// maxLineBytes bounds one forwarded line; longer lines are cut and marked, never allowed to
// block the pipe (a blocked stderr pipe would stall the Python process).
const maxLineBytes = 256 << 10

// tailLines is how many recent stderr lines are kept for error messages.
const tailLines = 20

// pyRecord is one JSON log line written by mmplugin._runtime.logs.
type pyRecord struct {
	Level     string  `json:"level"`
	Msg       *string `json:"msg"`
	Logger    string  `json:"logger"`
	KV        [][]any `json:"kv"`
	Traceback string  `json:"traceback"`
	Fatal     bool    `json:"fatal"`
}

// logForwarder re-logs one Python process's stderr and stdout through the host's hclog logger,
// keeping the last lines and the fatal reason for error messages.
type logForwarder struct {
	logger hclog.Logger
	redact string // the launch secret: never let it reach a log

	mu    sync.Mutex
	tail  []string
	fatal string
}

func newLogForwarder(logger hclog.Logger, secret string) *logForwarder {
	return &logForwarder{logger: logger, redact: secret}
}

// clean removes the secret from text coming from the child, should plugin code ever print it.
func (f *logForwarder) clean(s string) string {
	if f.redact != "" && strings.Contains(s, f.redact) {
		return strings.ReplaceAll(s, f.redact, "[REDACTED]")
	}
	return s
}

func (f *logForwarder) remember(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tail = append(f.tail, line)
	if len(f.tail) > tailLines {
		f.tail = f.tail[len(f.tail)-tailLines:]
	}
}

// lastLines returns up to n recent stderr lines, oldest first.
func (f *logForwarder) lastLines(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tail
	if len(t) > n {
		t = t[len(t)-n:]
	}
	return append([]string(nil), t...)
}

// fatalReason is the message of the process's last record marked fatal, if any.
func (f *logForwarder) fatalReason() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fatal
}

// forwardStderr reads stderr until EOF: JSON records at their level with their key/values,
// anything else (tracebacks of crashes, C-level output) at error level, line by line.
func (f *logForwarder) forwardStderr(r io.Reader) {
	readLines(r, func(line string, cut bool) {
		line = f.clean(line)
		if rec, ok := parseRecord(line); ok && !cut {
			f.logRecord(rec)
			return
		}
		if strings.TrimSpace(line) == "" {
			return
		}
		f.remember(line)
		args := []any{"stream", "stderr"}
		if cut {
			args = append(args, "truncated", true)
		}
		f.logger.Error(line, args...)
	})
}

// forwardStdout logs the process's stdout at info; onLine sees every line first and returns
// true to consume it (the handshake line).
func (f *logForwarder) forwardStdout(r io.Reader, onLine func(string) bool) {
	readLines(r, func(line string, cut bool) {
		if onLine != nil && !cut && onLine(line) {
			return
		}
		if line = f.clean(line); strings.TrimSpace(line) != "" {
			f.logger.Info(line, "stream", "stdout")
		}
	})
}

func parseRecord(line string) (pyRecord, bool) {
	if !strings.HasPrefix(line, "{") {
		return pyRecord{}, false
	}
	var rec pyRecord
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil || rec.Msg == nil || rec.Level == "" {
		return pyRecord{}, false
	}
	return rec, true
}

func (f *logForwarder) logRecord(rec pyRecord) {
	msg := *rec.Msg
	args := make([]any, 0, 2+2*len(rec.KV)+2)
	if rec.Logger != "" {
		args = append(args, "logger", rec.Logger)
	}
	for _, kv := range rec.KV {
		if len(kv) != 2 {
			continue
		}
		key, ok := kv[0].(string)
		if !ok {
			continue
		}
		args = append(args, key, kv[1])
	}
	if rec.Traceback != "" {
		args = append(args, "traceback", rec.Traceback)
	}
	level := hclogLevel(rec.Level)
	f.remember(summarize(msg, rec.Traceback))
	if rec.Fatal {
		f.mu.Lock()
		f.fatal = msg
		f.mu.Unlock()
	}
	f.logger.Log(level, msg, args...)
}

// summarize is a record as one tail line: its message and the exception line of its traceback.
func summarize(msg, tb string) string {
	if tb == "" {
		return msg
	}
	lines := strings.Split(strings.TrimSpace(tb), "\n")
	return msg + " (" + strings.TrimSpace(lines[len(lines)-1]) + ")"
}

// hclogLevel maps the runtime's level names; an unknown name logs at error so it gets noticed
// (as Mattermost's own hclog adapter does).
func hclogLevel(name string) hclog.Level {
	switch strings.ToLower(name) {
	case "trace":
		return hclog.Trace
	case "debug":
		return hclog.Debug
	case "info":
		return hclog.Info
	case "warn", "warning":
		return hclog.Warn
	default:
		return hclog.Error
	}
}

// readLines calls fn for each line of r (without the newline) until EOF or a read error. A line
// longer than maxLineBytes is passed cut, with the rest discarded.
func readLines(r io.Reader, fn func(line string, cut bool)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf bytes.Buffer
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			room := maxLineBytes - buf.Len()
			if len(chunk) > room {
				buf.Write(chunk[:max(room, 0)])
				cut = true
			} else {
				buf.Write(chunk)
			}
		}
		switch {
		case err == nil:
			fn(strings.TrimRight(buf.String(), "\r\n"), cut)
			buf.Reset()
			cut = false
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			if buf.Len() > 0 {
				fn(strings.TrimRight(buf.String(), "\r\n"), cut)
			}
			return
		}
	}
}
