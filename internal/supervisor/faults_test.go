package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestLogForwarding(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": `
import asyncio, logging, os, sys
from mmplugin._runtime import Binding, register_binder

log = logging.getLogger("greeter")

class Plugin:
    pass

def emit():
    log.debug("debug record", extra={"step": 1})
    log.info("user joined", extra={"user_id": "u1", "count": 3, "tags": ["a", "b"]})
    log.warning("slow hook", extra={"ms": 1500.5})
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("hook failed", extra={"hook": "MessageWillBePosted"})
    print("printed after the handshake")
    os.write(1, b"c-level stdout\n")
    os.write(2, b"c-level stderr\n")
    log.info("done emitting")

def bind(plugin, ctx):
    asyncio.get_running_loop().call_later(0.05, emit)
    return Binding()

register_binder(bind)
`})
	cfg, logs := testConfig(t, dir)
	startSupervisor(t, cfg)
	logs.waitFor(t, "done emitting", 10*time.Second)
	// The C-level writes travel on other pipes than the records; give them a moment.
	logs.waitFor(t, "c-level stderr", 5*time.Second)
	logs.waitFor(t, "c-level stdout", 5*time.Second)

	cases := []struct {
		msg, level string
		kv         map[string]any
	}{
		{"debug record", "debug", map[string]any{"logger": "greeter", "step": float64(1)}},
		{"user joined", "info", map[string]any{"logger": "greeter", "user_id": "u1", "count": float64(3), "tags": []any{"a", "b"}}},
		{"slow hook", "warn", map[string]any{"ms": 1500.5}},
		{"hook failed", "error", map[string]any{"hook": "MessageWillBePosted"}},
		{"printed after the handshake", "info", map[string]any{"logger": "stdout"}},
		{"c-level stdout", "info", map[string]any{"stream": "stdout"}},
		{"c-level stderr", "error", map[string]any{"stream": "stderr"}},
	}
	for _, c := range cases {
		e := logs.find(c.msg)
		if e == nil {
			t.Errorf("no entry %q", c.msg)
			continue
		}
		if e["@level"] != c.level {
			t.Errorf("%q at level %v, want %s", c.msg, e["@level"], c.level)
		}
		for k, want := range c.kv {
			if got := e[k]; !equalJSON(got, want) {
				t.Errorf("%q: %s = %#v, want %#v", c.msg, k, got, want)
			}
		}
	}
	tb, _ := logs.find("hook failed")["traceback"].(string)
	if !strings.Contains(tb, "Traceback (most recent call last)") || !strings.Contains(tb, "ZeroDivisionError: division by zero") {
		t.Errorf("traceback = %q", tb)
	}
}

func equalJSON(a, b any) bool {
	switch x := b.(type) {
	case []any:
		y, ok := a.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(y[i], x[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func TestCrashIsRestartedAndOnRestartReplays(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, logs := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 50 * time.Millisecond}
	var s *Supervisor
	replayed := make(chan error, 1)
	cfg.OnRestart = func(ctx context.Context) error {
		// Calls with OnRestart's context reach the new process before anyone else's.
		_, err := healthpb.NewHealthClient(s.ClientConn()).Check(ctx, &healthpb.HealthCheckRequest{Service: HealthService})
		if err == nil {
			// ... while other callers are still told the plugin is restarting.
			_, err2 := healthpb.NewHealthClient(s.ClientConn()).Check(context.Background(), &healthpb.HealthCheckRequest{Service: HealthService})
			if status.Code(err2) != codes.Unavailable || !strings.Contains(err2.Error(), "is restarting") {
				err = errors.New("a call without the replay context was not refused: " + errString(err2))
			}
		}
		replayed <- err
		return err
	}
	s = startSupervisor(t, cfg)
	oldPID := s.PID()
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-replayed:
		if err != nil {
			t.Fatalf("OnRestart: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("OnRestart not called; log:\n%s", logs.String())
	}
	waitState(t, s, StateRunning)
	if s.PID() == oldPID || s.PID() == 0 || s.Restarts() != 1 {
		t.Errorf("after restart: pid %d (was %d), restarts %d", s.PID(), oldPID, s.Restarts())
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping after restart: %v", err)
	}
	if got := s.ImplementedHooks(); len(got) != 2 {
		t.Errorf("hooks after restart: %v", got)
	}
	e := logs.find("the Python process exited unexpectedly")
	if e == nil || !strings.Contains(e["exit"].(string), "killed by signal killed") {
		t.Errorf("crash log entry = %v", e)
	}
}

func TestCallsInFlightFailPromptlyOnCrash(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, logs := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 5 * time.Second} // stay down during the test
	cfg.RestartWait = -1                                         // and do not wait for it
	s := startSupervisor(t, cfg)

	errc := make(chan error, 1)
	go func() {
		errc <- s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Block", &emptypb.Empty{}, &emptypb.Empty{})
	}()
	logs.waitFor(t, "blocking", 10*time.Second)
	killed := time.Now()
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if took := time.Since(killed); took > 2*time.Second {
			t.Errorf("the call failed %s after the crash", took)
		}
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "exited during the call (killed by signal killed)") ||
			!strings.Contains(err.Error(), "restarting it") {
			t.Errorf("in-flight call: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight did not fail after the crash")
	}
	// New calls fail at once while the process is down (RestartWait < 0).
	start := time.Now()
	err := s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Echo", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "is restarting after it exited") || time.Since(start) > time.Second {
		t.Errorf("call while restarting: %v after %s", err, time.Since(start))
	}
}

func TestStopIsGraceful(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, logs := testConfig(t, dir)
	s := startSupervisor(t, cfg)
	p := s.proc
	sockDir := s.socketDir
	start := time.Now()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Stop took %s", took)
	}
	if got := p.exitDescription(); got != "exit code 0" {
		t.Errorf("the process ended with %s, want exit code 0; log:\n%s", got, logs.String())
	}
	if logs.find("the Python process did not exit after Shutdown; sending SIGTERM") != nil {
		t.Error("Stop escalated to SIGTERM for a cooperative process")
	}
	if _, err := os.Stat(sockDir); !os.IsNotExist(err) {
		t.Errorf("socket dir still exists: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	if st, _ := s.State(); st != StateStopped {
		t.Errorf("state %s", st)
	}
	err := s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Echo", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "not running") {
		t.Errorf("call after Stop: %v", err)
	}
	if logs.find("the Python process exited unexpectedly") != nil {
		t.Error("a requested stop was reported as a crash")
	}
}

func TestStopKillsAProcessThatIgnoresShutdown(t *testing.T) {
	// A non-daemon thread keeps the interpreter from exiting after Shutdown, and SIGTERM is
	// ignored: only SIGKILL ends it.
	dir := writePlugin(t, map[string]string{"plug.py": `
import signal, threading, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
threading.Thread(target=lambda: time.sleep(3600), daemon=False).start()

class Plugin:
    pass
`})
	cfg, logs := testConfig(t, dir)
	cfg.StopGrace = 300 * time.Millisecond
	cfg.TermGrace = 300 * time.Millisecond
	s := startSupervisor(t, cfg)
	p := s.proc
	start := time.Now()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < cfg.StopGrace+cfg.TermGrace || took > 5*time.Second {
		t.Errorf("Stop took %s", took)
	}
	if got := p.exitDescription(); got != "killed by signal killed" {
		t.Errorf("exit = %s", got)
	}
	term := logs.find("the Python process did not exit after Shutdown; sending SIGTERM")
	kill := logs.find("the Python process did not exit; sending SIGKILL")
	if term == nil || kill == nil {
		t.Errorf("missing escalation logs:\n%s", logs.String())
	}
	// Shutdown did reach the process first.
	if logs.find("stopping") == nil {
		t.Errorf("the runtime never logged that it was stopping:\n%s", logs.String())
	}
}

func TestGivesUpAfterRepeatedFailures(t *testing.T) {
	// The first process crashes soon after starting; later ones fail to import.
	dir := writePlugin(t, map[string]string{"plug.py": `
import asyncio, os, sys
from mmplugin._runtime import Binding, register_binder

marker = os.path.join(os.getcwd(), "started-once")
if os.path.exists(marker):
    raise RuntimeError("configuration is corrupt")
open(marker, "w").close()

class Plugin:
    pass

def crash():
    sys.stderr.write("Fatal Python error: simulated\n")
    sys.stderr.flush()
    os._exit(70)

def bind(plugin, ctx):
    asyncio.get_running_loop().call_later(0.2, crash)
    return Binding()

register_binder(bind)
`})
	cfg, logs := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 20 * time.Millisecond, MaxFailures: 3, Window: time.Minute}
	var restarts atomic.Int32
	cfg.OnRestart = func(context.Context) error { restarts.Add(1); return nil }
	s := startSupervisor(t, cfg)
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("did not give up; log:\n%s", logs.String())
	}
	st, final := s.State()
	if st != StateFailed || final == nil || s.Err() == nil {
		t.Fatalf("state %s, err %v", st, final)
	}
	msg := final.Error()
	for _, want := range []string{"failed 3 times within 1m0s", "will not be restarted",
		"entry point 'plug:Plugin' failed to import: RuntimeError: configuration is corrupt"} {
		if !strings.Contains(msg, want) {
			t.Errorf("final error lacks %q: %s", want, msg)
		}
	}
	if restarts.Load() != 0 {
		t.Errorf("OnRestart ran %d times though no restart succeeded", restarts.Load())
	}
	crash := logs.find("the Python process exited unexpectedly")
	if crash == nil || crash["exit"] != "exit code 70" || !strings.Contains(crash["last_stderr"].(string), "Fatal Python error: simulated") {
		t.Errorf("crash entry = %v", crash)
	}
	if err := s.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "will not be restarted") {
		t.Errorf("Ping after giving up: %v", err)
	}
	err := s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Echo", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "failed 3 times") {
		t.Errorf("call after giving up: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "started-once")); err != nil {
		t.Fatal(err)
	}
}

func waitState(t *testing.T, s *Supervisor, want State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := s.State(); st == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := s.State()
	t.Fatalf("state %s (%v), want %s", st, err, want)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestPingFailsWhenTheEventLoopIsBlocked(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": `
import asyncio, time
from mmplugin._runtime import Binding, register_binder

class Plugin:
    pass

def bind(plugin, ctx):
    asyncio.get_running_loop().call_later(0.3, time.sleep, 30)
    return Binding()

register_binder(bind)
`})
	cfg, _ := testConfig(t, dir)
	cfg.StopGrace, cfg.TermGrace = 100*time.Millisecond, 100*time.Millisecond
	s := startSupervisor(t, cfg)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping before the loop blocks: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not answer its health check") || !strings.Contains(err.Error(), "blocking the event loop") {
		t.Errorf("Ping with a blocked loop: %v", err)
	}
}

// TestCallsWaitForTheRestart: a call made while the process restarts waits for the new process
// (bounded by RestartWait) instead of failing; one whose process died during the call is sent
// once more to the new process when its method is in RetryOnce.
func TestCallsWaitForTheRestart(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, logs := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 300 * time.Millisecond}
	cfg.RetryOnce = map[string]bool{"/mmtest.Test/Echo": true}
	s := startSupervisor(t, cfg)

	oldPID := s.PID()
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	in := wrapperspb.String("after the crash")
	out := &wrapperspb.StringValue{}
	if err := s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Echo", in, out); err != nil {
		t.Fatalf("a call during the restart: %v; log:\n%s", err, logs.String())
	}
	if out.Value != in.Value || s.PID() == oldPID {
		t.Errorf("answered %q by pid %d (crashed: %d)", out.Value, s.PID(), oldPID)
	}

	// Past RestartWait the call fails, saying it waited.
	cfg2, _ := testConfig(t, writePlugin(t, map[string]string{"plug.py": testPlugin}))
	cfg2.Restart = RestartPolicy{InitialBackoff: 5 * time.Second}
	cfg2.RestartWait = 200 * time.Millisecond
	s2 := startSupervisor(t, cfg2)
	if err := syscall.Kill(s2.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, s2, StateRestarting)
	err := s2.ClientConn().Invoke(context.Background(), "/mmtest.Test/Echo", in, out)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "waited 200ms") {
		t.Errorf("past RestartWait: %v", err)
	}
}

// TestNotificationsQueuedAcrossRestart: notification calls made while the process is down are
// answered at once, queued, and delivered in order to the restarted process.
func TestNotificationsQueuedAcrossRestart(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, logs := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 500 * time.Millisecond}
	cfg.Queued = map[string]bool{"/mmtest.Test/Note": true}
	s := startSupervisor(t, cfg)
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, StateRestarting)
	const n = 20
	for i := range n {
		start := time.Now()
		err := s.ClientConn().Invoke(context.Background(), "/mmtest.Test/Note", wrapperspb.String(fmt.Sprintf("n%02d", i)), &emptypb.Empty{})
		if err != nil || time.Since(start) > 100*time.Millisecond {
			t.Fatalf("queued notification %d: %v after %s", i, err, time.Since(start))
		}
	}
	logs.waitFor(t, fmt.Sprintf("note n%02d", n-1), 15*time.Second)
	var got []string
	for _, e := range logs.entries() {
		if msg, _ := e["@message"].(string); strings.HasPrefix(msg, "note ") {
			got = append(got, strings.TrimPrefix(msg, "note "))
		}
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("n%02d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v in order", got, want)
	}
	if e := logs.find("delivered the hook calls queued while the Python process restarted"); e == nil {
		t.Error("no log line for the delivered calls")
	}
}

// TestQueueBounds: a full queue drops calls with one log line, not one per call.
func TestQueueBounds(t *testing.T) {
	var out strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Output: &out, JSONFormat: true})
	q := newHookQueue(QueueLimits{MaxCalls: 2})
	for i := range 5 {
		q.push("/svc/Note", wrapperspb.String(fmt.Sprint(i)), log)
	}
	if q.len() != 2 || strings.Count(out.String(), "dropping calls") != 1 {
		t.Errorf("queue of %d, log:\n%s", q.len(), out.String())
	}
	q.drop(log, "test")
	if q.len() != 0 || !strings.Contains(out.String(), "dropping queued hook calls") {
		t.Errorf("after drop: %d, log:\n%s", q.len(), out.String())
	}
}

// TestQueueDrainNeverStrandsACall: a call queued while a drain takes the last one is delivered by
// that drain, and once a drain found the queue empty the next one can start at once.
func TestQueueDrainNeverStrandsACall(t *testing.T) {
	log := hclog.NewNullLogger()
	q := newHookQueue(QueueLimits{})
	q.push("/svc/Note", wrapperspb.String("a"), log)
	if !q.startDrain() {
		t.Fatal("no drain started")
	}
	first, _ := q.next()
	if !q.pushIfPending("/svc/Note", wrapperspb.String("b"), log) {
		t.Fatal("a call arriving while one is queued went around the queue")
	}
	q.popFront()
	second, ok := q.next()
	if !ok || first.req.(*wrapperspb.StringValue).Value != "a" || second.req.(*wrapperspb.StringValue).Value != "b" {
		t.Fatalf("drained %v then %v", first.req, second.req)
	}
	q.popFront()
	if _, ok := q.next(); ok {
		t.Fatal("the queue is not empty")
	}
	if q.pushIfPending("/svc/Note", wrapperspb.String("c"), log) {
		t.Error("an empty queue took a call that can go straight to the process")
	}
	if !q.startDrain() {
		t.Error("the drain that found the queue empty did not end")
	}
}
