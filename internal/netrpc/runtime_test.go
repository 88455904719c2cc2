package netrpc_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/netrpc"
)

// allHooks is what the main test plugin declares. It also defines UserHasBeenCreated, which it
// deliberately does not declare, and declares a name that is no hook at all.
var allHooks = pluginSpec{Implemented: []string{
	"OnActivate", "OnConfigurationChange", "OnDeactivate", "ExecuteCommand", "MessageWillBePosted",
	"MessagesWillBeConsumed", "ServeHTTP", "FileWillBeUploaded", "RunDataRetention", "NotAHook",
}}

func TestImplementedIsExactlyTheDeclaredHooks(t *testing.T) {
	s, hooks := activate(t, allHooks)

	got, err := hooks.Implemented()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ExecuteCommand", "FileWillBeUploaded", "MessageWillBePosted", "MessagesWillBeConsumed",
		"OnActivate", "OnConfigurationChange", "OnDeactivate", "RunDataRetention", "ServeHTTP"}
	if !slices.Equal(got, want) {
		t.Fatalf("Implemented() = %v, want %v", got, want)
	}

	// The server skips hooks the plugin did not declare, even if the Go type behind the host
	// has them: neither RunMultiPluginHook nor the direct client reaches the plugin.
	s.env.RunMultiPluginHook(func(plugin.Hooks, *model.Manifest) bool {
		t.Error("RunMultiPluginHook ran UserHasBeenCreated for a plugin that did not declare it")
		return true
	}, plugin.UserHasBeenCreatedID)
	hooks.UserHasBeenCreated(&plugin.Context{}, &model.User{Id: "u1"})
	if !s.env.HasPluginImplementing(plugin.ExecuteCommandID) || s.env.HasPluginImplementing(plugin.ServeMetricsID) {
		t.Error("HasPluginImplementing disagrees with the declared hooks")
	}
	// ServeMetrics is not declared: the server answers 404 itself.
	rec := httptest.NewRecorder()
	hooks.ServeMetrics(&plugin.Context{}, rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("ServeMetrics of a plugin without it: status %d, want 404", rec.Code)
	}

	calls := command(t, hooks, "/calls")
	if strings.Contains(calls, "UserHasBeenCreated") {
		t.Errorf("an undeclared hook reached the plugin; calls: %s", calls)
	}
	if !strings.HasPrefix(calls, "OnConfigurationChange,OnActivate,") {
		t.Errorf("calls = %s; want OnConfigurationChange then OnActivate first", calls)
	}
}

func TestActivationOrderAndAPIInsideHooks(t *testing.T) {
	s, _ := activate(t, allHooks)
	var order []string
	for _, e := range s.api.logsSnapshot() {
		if e.Msg == "hook called" {
			order = append(order, e.KV[1].(string))
		}
	}
	// Both hooks could call the API, so the clients were set before OnConfigurationChange.
	if !slices.Equal(order, []string{"OnConfigurationChange", "OnActivate"}) {
		t.Fatalf("hooks seen by the server API: %v, want OnConfigurationChange then OnActivate", order)
	}
}

func TestDeactivateRunsOnDeactivate(t *testing.T) {
	s, _ := activate(t, allHooks)
	if !s.env.Deactivate(s.id) {
		t.Fatal("Deactivate returned false for an active plugin")
	}
	logs := s.api.logsSnapshot()
	last := logs[len(logs)-1]
	if last.Msg != "hook called" || last.KV[1] != "OnDeactivate" {
		t.Fatalf("last API log = %+v, want the OnDeactivate hook's", last)
	}
}

func TestAPICallsFromHooks(t *testing.T) {
	s, hooks := activate(t, allHooks)

	if got := command(t, hooks, "/getuser u1"); got != "user-u1" {
		t.Errorf("GetUser through the API: %q, want user-u1", got)
	}

	// An AppError crosses API → plugin → hook result → server with all its fields.
	_, appErr := hooks.ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: "/getuser missing"})
	if appErr == nil {
		t.Fatal("GetUser(missing): no AppError came back")
	}
	if appErr.Id != errMissingUser.Id || appErr.Message != errMissingUser.Message || appErr.DetailedError != errMissingUser.DetailedError ||
		appErr.RequestId != errMissingUser.RequestId || appErr.StatusCode != errMissingUser.StatusCode || appErr.Where != errMissingUser.Where {
		t.Errorf("AppError changed on the way: got %+v, want %+v", appErr, errMissingUser)
	}

	// A plain error keeps its sentinel through the API client.
	if got := command(t, hooks, "/bundlepath"); got != "|sql: no rows in result set|true" {
		t.Errorf("GetBundlePath: %q, want an sql.ErrNoRows the plugin can compare", got)
	}

	if got := command(t, hooks, "/config"); got != "hello x3" {
		t.Errorf("LoadPluginConfiguration: %q, want \"hello x3\"", got)
	}

	if got := command(t, hooks, "/log"); got != "logged" {
		t.Fatalf("/log: %q", got)
	}
	var levels []string
	byMsg := map[string]logEntry{}
	for _, e := range s.api.logsSnapshot() {
		if e.Msg != "hook called" {
			levels = append(levels, e.Level)
			byMsg[e.Msg] = e
		}
	}
	if !slices.Equal(levels, []string{"debug", "info", "warn", "error"}) {
		t.Errorf("log levels reaching the server: %v", levels)
	}
	// Key/values arrive stringified with %+v, as from a Go plugin.
	if kv := byMsg["debug message"].KV; !reflect.DeepEqual(kv, []any{"number", "1", "struct", "{A:2}"}) {
		t.Errorf("LogDebug key/values: %#v", kv)
	}
	if kv := byMsg["error message"].KV; !reflect.DeepEqual(kv, []any{"err", "boom"}) {
		t.Errorf("LogError key/values: %#v", kv)
	}
	if len(s.api.audits) != 1 || s.api.audits[0].EventName != "netrpcTest" || s.api.audits[0].Meta["count"] != float64(3) {
		t.Errorf("audit records: %+v", s.api.audits)
	}
}

func TestStreamedAPIArguments(t *testing.T) {
	s, hooks := activate(t, allHooks)

	// PluginHTTP: request body streamed to the server, response status, header and body back.
	if got, want := command(t, hooks, "/pluginhttp"), "202|POST /other-plugin/echo netrpc-test|got 100000 bytes|<nil>"; got != want {
		t.Errorf("PluginHTTP: %q, want %q", got, want)
	}
	// UploadData: a reader larger than one prefetch window.
	if got := command(t, hooks, "/upload 300000"); got != "upload-1|300000" {
		t.Errorf("UploadData: %q", got)
	}
	if got := command(t, hooks, "/install"); got != "installed-12-true" {
		t.Errorf("InstallPlugin: %q", got)
	}
	if s.api.bodies["PluginHTTP"] != 100_000 || s.api.bodies["UploadData"] != 300_000 {
		t.Errorf("bytes the server read: %v", s.api.bodies)
	}
}

func TestDriverKeepsSentinels(t *testing.T) {
	s, hooks := activate(t, allHooks)
	var r driverReport
	if err := json.Unmarshal([]byte(command(t, hooks, "/driver")), &r); err != nil {
		t.Fatal(err)
	}
	want := driverReport{
		Conn:          "conn-" + testPluginID + "-true",
		PingNoRows:    true,
		PingErr:       "sql: no rows in result set",
		Rows:          "rows-1",
		Columns:       []string{"id", "name"},
		Row:           []any{float64(7), "seven"}, // float64: the report went through JSON
		NextIsEOF:     true,
		RowsAffected:  3,
		LastIDErr:     "LastInsertId is not supported by this driver",
		TxDoneKept:    true,
		StmtNumInputs: 2,
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("driver scenario:\n got %+v\nwant %+v", r, want)
	}
	if len(s.db.args) != 1 || !reflect.DeepEqual(s.db.args[0], []driver.NamedValue{{Ordinal: 1, Value: int64(7)}}) {
		t.Errorf("query arguments reaching the server: %#v", s.db.args)
	}
}

func TestHookResultsAndErrors(t *testing.T) {
	_, hooks := activate(t, allHooks)

	post := &model.Post{Id: "p1", Message: "hello"}
	got, reason := hooks.MessageWillBePosted(&plugin.Context{}, post)
	if reason != "" || got == nil || got.Message != "hello (checked)" || got.GetProp("checked_by") != "netrpc-test" {
		t.Errorf("MessageWillBePosted replace: %+v, %q", got, reason)
	}
	// A rejection is the reason; the server's client pre-fills the post with the original and
	// gob leaves it when the plugin returns nil, exactly as with a Go plugin.
	rejected := &model.Post{Message: "forbidden"}
	got, reason = hooks.MessageWillBePosted(&plugin.Context{}, rejected)
	if reason != "forbidden words" || got == nil || got.Message != rejected.Message {
		t.Errorf("MessageWillBePosted reject: %+v, %q", got, reason)
	}

	consumed := hooks.MessagesWillBeConsumed([]*model.Post{{Message: "a"}, {Message: "b"}})
	if len(consumed) != 2 || consumed[0].Message != "A" || consumed[1].Message != "B" {
		t.Errorf("MessagesWillBeConsumed: %+v", consumed)
	}

	// A plain error from a hook crosses as plugin.ErrorString with its sentinel code (io.EOF
	// is 1), also when wrapped.
	n, err := hooks.RunDataRetention(41, 100)
	var es *plugin.ErrorString
	if n != 42 || !errors.As(err, &es) || es.Code != 1 || es.Err != "retention stopped early: EOF" {
		t.Errorf("RunDataRetention = %d, %#v", n, err)
	}
}

func TestServeHTTP(t *testing.T) {
	_, hooks := activate(t, allHooks)
	body := bytes.Repeat([]byte("0123456789"), 30_000) // 300 kB: several prefetch windows
	req := httptest.NewRequest(http.MethodPost, "/plugins/x/upload?q=search", bytes.NewReader(body))
	req.Header.Set("X-Test", "request-header")
	req.Header.Set("Content-Length", "300000")
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Remove-Me", "set by the server before the plugin")
	rec.Header().Set("X-Keep-Me", "set by the server before the plugin")

	hooks.ServeHTTP(&plugin.Context{RequestId: "req-1"}, rec, req)

	sum := sha256.Sum256(body)
	if rec.Code != http.StatusCreated {
		t.Errorf("status %d, want 201", rec.Code)
	}
	wantHeaders := map[string]string{
		"Content-Type":         "application/x-test",
		"X-Method":             "POST",
		"X-Query":              "search",
		"X-Request-Header":     "request-header",
		"X-Context-Request-Id": "req-1",
		"X-Content-Length":     "300000",
		"X-Body-Sha256":        hex.EncodeToString(sum[:]),
		"X-Keep-Me":            "set by the server before the plugin",
		"X-Remove-Me":          "",
	}
	for k, v := range wantHeaders {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if want := "chunk 0 of 300000 bytes;chunk 1 of 300000 bytes;chunk 2 of 300000 bytes;"; rec.Body.String() != want {
		t.Errorf("body %q, want %q", rec.Body.String(), want)
	}
	if !rec.Flushed {
		t.Error("the plugin's Flush did not reach the server's writer")
	}
}

// chanWriter is a server-side ResponseWriter reporting each write as it happens.
type chanWriter struct {
	header http.Header
	writes chan string
}

func (w *chanWriter) Header() http.Header         { return w.header }
func (w *chanWriter) WriteHeader(int)             {}
func (w *chanWriter) Write(b []byte) (int, error) { w.writes <- string(b); return len(b), nil }
func (w *chanWriter) Flush()                      {}

// TestServeHTTPStreamsBothWays sends the request body in pieces and only sends the next piece
// after the plugin's answer to the previous one arrived: this completes only if neither body
// is buffered whole.
func TestServeHTTPStreamsBothWays(t *testing.T) {
	_, hooks := activate(t, allHooks)
	bodyR, bodyW := io.Pipe()
	w := &chanWriter{header: http.Header{}, writes: make(chan string, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hooks.ServeHTTP(&plugin.Context{}, w, httptest.NewRequest(http.MethodPost, "/duplex", bodyR))
	}()
	for _, line := range []string{"one", "two", "three"} {
		if _, err := io.WriteString(bodyW, line+"\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-w.writes:
			if got != "echo:"+line+"\n" {
				t.Fatalf("got %q, want the echo of %q", got, line)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no echo of %q while the request body is still open: a body is buffered", line)
		}
	}
	_ = bodyW.Close()
	<-done
	if ct := w.header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestFileWillBeUploaded(t *testing.T) {
	_, hooks := activate(t, allHooks)
	content := strings.Repeat("abcdefghij", 20_000)
	var out bytes.Buffer
	info, reason := hooks.FileWillBeUploaded(&plugin.Context{}, &model.FileInfo{Id: "f1", Name: "a.txt", Size: int64(len(content))},
		strings.NewReader(content), &out)
	if reason != "" || info == nil || info.Name != "upper-a.txt" || info.Id != "f1" || info.Size != int64(len(content)) {
		t.Fatalf("FileWillBeUploaded = %+v, %q", info, reason)
	}
	if out.String() != strings.ToUpper(content) {
		t.Errorf("replacement content: %d bytes, not the uppercased upload", out.Len())
	}

	out.Reset()
	// Rejected: the server keeps its own FileInfo (pre-filled, as for any Go plugin) and the
	// reason; no replacement bytes.
	info, reason = hooks.FileWillBeUploaded(&plugin.Context{}, &model.FileInfo{Name: "x.exe"}, strings.NewReader("MZ"), &out)
	if info == nil || info.Name != "x.exe" || reason != "executables are not allowed" || out.Len() != 0 {
		t.Errorf("rejected upload = %+v, %q, %d replacement bytes", info, reason, out.Len())
	}
}

func TestActivationFailures(t *testing.T) {
	t.Run("Implemented fails", func(t *testing.T) {
		s := install(t, pluginSpec{ImplementedError: "the Python process exited with status 1"})
		_, _, err := s.env.Activate(s.id)
		if err == nil || !strings.Contains(err.Error(), "the plugin did not report its hooks: the Python process exited with status 1") {
			t.Fatalf("Activate error = %v", err)
		}
	})
	t.Run("OnActivate set-up fails", func(t *testing.T) {
		s := install(t, pluginSpec{Implemented: []string{"OnActivate"}, ActivateError: "cannot start the Python plugin"})
		_, _, err := s.env.Activate(s.id)
		if err == nil || err.Error() != "cannot start the Python plugin" {
			t.Fatalf("Activate error = %v", err)
		}
		if s.env.IsActive(s.id) {
			t.Error("the plugin is active after a failed activation")
		}
	})
}

// TestServeHTTPHijack takes a real HTTP connection over from inside the plugin, as a
// websocket upgrade does, through Mattermost's hijack RPCs.
func TestServeHTTPHijack(t *testing.T) {
	_, hooks := activate(t, allHooks)
	sock := filepath.Join(t.TempDir(), "http.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks.ServeHTTP(&plugin.Context{}, w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The line after the request head is already buffered by the server when the plugin
	// hijacks: it must come through the hijacked reader.
	if _, err := io.WriteString(conn, "GET /hijack HTTP/1.1\r\nHost: plugin\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nping\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "hijacked:ping\n" {
		t.Fatalf("after the upgrade: %q, %v", rest, err)
	}
}

// TestReattachInProcess serves in go-plugin's test mode and attaches the server with
// Environment.Reattach: the in-process variant for tests that need no executable.
func TestReattachInProcess(t *testing.T) {
	s := reattach(t, pluginConfig(allHooks, &testHooks{}))
	hooks, err := s.env.HooksForPlugin(s.id)
	if err != nil {
		t.Fatal(err)
	}
	if got := command(t, hooks, "/getuser u9"); got != "user-u9" {
		t.Errorf("GetUser through a reattached plugin: %q", got)
	}
}

// reattach serves cfg in this process and attaches a new test server to it.
func reattach(t *testing.T, cfg netrpc.Config) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *goplugin.ReattachConfig, 1)
	closed := make(chan struct{})
	cfg.Test = &goplugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	go func() {
		if err := netrpc.Serve(cfg); err != nil {
			t.Error(err)
		}
	}()
	var rc *goplugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-time.After(10 * time.Second):
		t.Fatal("no reattach config from the in-process plugin")
	}
	t.Cleanup(func() {
		cancel()
		<-closed
	})
	s := newTestServer(t)
	if err := s.env.Reattach(testManifest(), model.NewPluginReattachConfig(rc)); err != nil || !s.env.IsActive(s.id) {
		t.Fatalf("Reattach: %v, active=%v", err, s.env.IsActive(s.id))
	}
	return s
}
