package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// repoPython is the repository venv's interpreter, which has mmplugin installed (editable).
func repoPython(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", ".venv", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make venv` first (%v)", p, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// logBuf collects the supervisor's hclog output (JSON lines) for assertions.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) entries() []map[string]any {
	b.mu.Lock()
	data := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(data, "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil {
			out = append(out, m)
		}
	}
	return out
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// find returns the first entry with the given message (exact) or nil.
func (b *logBuf) find(msg string) map[string]any {
	for _, e := range b.entries() {
		if e["@message"] == msg {
			return e
		}
	}
	return nil
}

// waitFor polls until the log has an entry with msg, failing after timeout.
func (b *logBuf) waitFor(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if e := b.find(msg); e != nil {
			return e
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log entry %q within %s; log:\n%s", msg, timeout, b.String())
	return nil
}

func newLogger() (hclog.Logger, *logBuf) {
	buf := &logBuf{}
	return hclog.New(&hclog.LoggerOptions{Output: buf, JSONFormat: true, Level: hclog.Trace}), buf
}

// writePlugin writes files into a fresh plugin directory.
func writePlugin(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// baseEnv is a server environment whose MMPLUGIN_PYTHON points at the repo venv.
func baseEnv(t *testing.T) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"MMPLUGIN_PYTHON=" + repoPython(t),
	}
}

// testConfig is a Config for a plugin in dir with entry point "plug:Plugin".
func testConfig(t *testing.T, dir string) (Config, *logBuf) {
	logger, buf := newLogger()
	return Config{
		PluginID:         "com.example.test",
		PluginDir:        dir,
		Python:           PythonSettings{EntryPoint: "plug:Plugin"},
		Logger:           logger,
		Environ:          baseEnv(t),
		LogLevel:         "debug",
		HandshakeTimeout: 20 * time.Second,
		SocketDirParent:  shortTempDir(t),
	}, buf
}

// shortTempDir keeps socket paths short (t.TempDir names can exceed the sun_path limit).
func shortTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "sv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// startSupervisor starts cfg and stops it at the end of the test.
func startSupervisor(t *testing.T, cfg Config) *Supervisor {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// startErr runs Start and returns its error (the supervisor is stopped either way).
func startErr(t *testing.T, cfg Config) error {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = s.Start(ctx)
	_ = s.Stop(context.Background())
	return err
}

// testPlugin is a Python plugin module using the runtime's binder API: it registers a
// blocking test service and reports two implemented hooks.
const testPlugin = `
import asyncio
import logging
import os

import grpc
from mmplugin._runtime import Binding, register_binder

log = logging.getLogger("testplug")


class Plugin:
    pass


async def _block(request, context):
    log.info("blocking")
    await asyncio.sleep(3600)
    return b""


async def _echo(request, context):
    return request


async def _note(request, context):
    log.info("note " + request[2:].decode())  # a StringValue: tag, length, text
    return b""


def _register(server):
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("mmtest.Test", {
        "Block": grpc.unary_unary_rpc_method_handler(_block),
        "Echo": grpc.unary_unary_rpc_method_handler(_echo),
        "Note": grpc.unary_unary_rpc_method_handler(_note),
    }),))


def bind(plugin, ctx):
    return Binding(servicers=[_register],
                   implemented_hooks=lambda: ["OnActivate", "MessageWillBePosted"])


register_binder(bind)
`
