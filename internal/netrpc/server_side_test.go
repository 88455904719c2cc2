package netrpc_test

// The server side of the runtime tests: Mattermost's own plugin.Environment (the code path a
// stock server runs) starts the test plugin executable, with small fakes for the server's
// plugin.API and database driver behind it.

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"

	"github.com/mmplugin/mmplugin/internal/netrpc"
)

func TestMain(m *testing.M) {
	if os.Getenv(netrpc.Handshake.MagicCookieKey) == netrpc.Handshake.MagicCookieValue {
		runAsPlugin() // started by plugin.Environment as the plugin executable; never returns
	}
	os.Exit(m.Run())
}

type logEntry struct {
	Level, Msg string
	KV         []any
}

// fakeAPI is the server's plugin.API: the methods the scenarios use, recording what arrives.
// Any other method panics through the nil embedded interface, which fails the test.
type fakeAPI struct {
	plugin.API

	mu     sync.Mutex
	logs   []logEntry
	audits []*model.AuditRecord
	bodies map[string]int // name → bytes received on a streamed reader
}

func newFakeAPI() *fakeAPI { return &fakeAPI{bodies: map[string]int{}} }

var errMissingUser = &model.AppError{
	Id:            "app.user.missing.app_error",
	Message:       "We could not find the user.",
	DetailedError: "no user with id missing",
	RequestId:     "req-42",
	StatusCode:    http.StatusNotFound,
	Where:         "fakeAPI.GetUser",
}

func (a *fakeAPI) GetUser(userID string) (*model.User, *model.AppError) {
	if userID == "missing" {
		return nil, errMissingUser
	}
	return &model.User{Id: userID, Username: "user-" + userID}, nil
}

func (a *fakeAPI) GetBundlePath() (string, error) {
	return "", sql.ErrNoRows
}

func (a *fakeAPI) LoadPluginConfiguration(dest any) error {
	b, _ := json.Marshal(map[string]any{"Greeting": "hello", "Count": 3})
	return json.Unmarshal(b, dest)
}

func (a *fakeAPI) addLog(level, msg string, kv []any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.logs = append(a.logs, logEntry{level, msg, kv})
}

func (a *fakeAPI) LogDebug(msg string, kv ...any) { a.addLog("debug", msg, kv) }
func (a *fakeAPI) LogInfo(msg string, kv ...any)  { a.addLog("info", msg, kv) }
func (a *fakeAPI) LogWarn(msg string, kv ...any)  { a.addLog("warn", msg, kv) }
func (a *fakeAPI) LogError(msg string, kv ...any) { a.addLog("error", msg, kv) }

func (a *fakeAPI) LogAuditRec(rec *model.AuditRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.audits = append(a.audits, rec)
}

func (a *fakeAPI) received(name string, r io.Reader) int {
	n, _ := io.Copy(io.Discard, r)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bodies[name] = int(n)
	return int(n)
}

func (a *fakeAPI) PluginHTTP(r *http.Request) *http.Response {
	n := a.received("PluginHTTP", r.Body)
	resp := &http.Response{StatusCode: http.StatusAccepted, Header: http.Header{}}
	resp.Header.Set("X-Answer", r.Method+" "+r.URL.Path+" "+r.Header.Get("X-From"))
	resp.Body = io.NopCloser(strings.NewReader(fmt.Sprintf("got %d bytes", n)))
	return resp
}

func (a *fakeAPI) UploadData(us *model.UploadSession, rd io.Reader) (*model.FileInfo, error) {
	n := a.received("UploadData", rd)
	return &model.FileInfo{Id: us.Id, Size: int64(n)}, nil
}

func (a *fakeAPI) InstallPlugin(file io.Reader, replace bool) (*model.Manifest, *model.AppError) {
	n := a.received("InstallPlugin", file)
	return &model.Manifest{Id: fmt.Sprintf("installed-%d-%v", n, replace)}, nil
}

func (a *fakeAPI) logsSnapshot() []logEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]logEntry(nil), a.logs...)
}

// fakeDriver is the server's database driver (plugin.AppDriver).
type fakeDriver struct {
	plugin.Driver

	mu      sync.Mutex
	queries []string
	args    [][]driver.NamedValue
	next    int
}

func (d *fakeDriver) ConnWithPluginID(isMaster bool, pluginID string) (string, error) {
	return fmt.Sprintf("conn-%s-%v", pluginID, isMaster), nil
}

func (d *fakeDriver) ShutdownConns(string) {}

func (d *fakeDriver) ConnPing(connID string) error {
	if connID == "gone" {
		return sql.ErrNoRows
	}
	return nil
}

func (d *fakeDriver) ConnQuery(_, q string, args []driver.NamedValue) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queries = append(d.queries, q)
	d.args = append(d.args, args)
	return "rows-1", nil
}

func (d *fakeDriver) ConnExec(_, q string, _ []driver.NamedValue) (plugin.ResultContainer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queries = append(d.queries, q)
	return plugin.ResultContainer{RowsAffected: 3, LastIDError: errors.New("LastInsertId is not supported by this driver")}, nil
}

func (d *fakeDriver) RowsColumns(string) []string { return []string{"id", "name"} }

func (d *fakeDriver) RowsNext(_ string, dest []driver.Value) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	if d.next > 1 {
		return io.EOF
	}
	dest[0], dest[1] = int64(7), "seven"
	return nil
}

func (d *fakeDriver) TxCommit(string) error          { return sql.ErrTxDone }
func (d *fakeDriver) StmtNumInput(string) int        { return 2 }
func (d *fakeDriver) RowsClose(string) error         { return nil }
func (d *fakeDriver) ConnClose(string) error         { return nil }
func (d *fakeDriver) TxRollback(string) error        { return nil }
func (d *fakeDriver) StmtClose(string) error         { return nil }
func (d *fakeDriver) RowsNextResultSet(string) error { return io.EOF }

// testServer is one plugin.Environment with the fakes behind it.
type testServer struct {
	env  *plugin.Environment
	api  *fakeAPI
	db   *fakeDriver
	id   string
	root string
}

const testPluginID = "com.mmplugin.netrpc-test"

// newTestServer returns an Environment over an empty plugin directory, with the fakes.
func newTestServer(tb testing.TB) *testServer {
	s := &testServer{api: newFakeAPI(), db: &fakeDriver{}}
	return s.start(tb, s.api, s.db)
}

// start creates the Environment with the given server-side API and driver.
func (s *testServer) start(tb testing.TB, api plugin.API, db plugin.AppDriver) *testServer {
	tb.Helper()
	s.id, s.root = testPluginID, tb.TempDir()
	var logger *mlog.Logger
	if t, ok := tb.(*testing.T); ok {
		logger = mlog.CreateTestLogger(t) // server log in the test output on failure
	} else {
		var err error
		if logger, err = mlog.NewLogger(); err != nil { // no targets: silent, for benchmarks
			tb.Fatal(err)
		}
	}
	var err error
	s.env, err = plugin.NewEnvironment(func(*model.Manifest) plugin.API { return api }, db,
		filepath.Join(s.root, "plugins"), filepath.Join(s.root, "webapp"), logger, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.env.Shutdown)
	return s
}

// install writes a plugin directory whose executable is this test binary (symlinked), and
// returns an Environment over it.
func install(tb testing.TB, spec pluginSpec) *testServer {
	tb.Helper()
	return installIn(tb, newTestServer(tb), spec)
}

// installIn installs the test plugin into s's plugin directory.
func installIn(tb testing.TB, s *testServer, spec pluginSpec) *testServer {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	pluginDir := filepath.Join(s.root, "plugins", testPluginID)
	if err := os.MkdirAll(pluginDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	writeJSON(tb, filepath.Join(pluginDir, "plugin.json"), testManifest())
	writeJSON(tb, filepath.Join(pluginDir, specFile), spec)
	if err := os.Symlink(exe, filepath.Join(pluginDir, "plugin-exe")); err != nil {
		tb.Fatal(err)
	}
	return s
}

func testManifest() *model.Manifest {
	return &model.Manifest{Id: testPluginID, Version: "0.1.0", Server: &model.ManifestServer{Executable: "plugin-exe"}}
}

func writeJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// activate installs and activates a plugin that must start.
func activate(tb testing.TB, spec pluginSpec) (*testServer, plugin.Hooks) {
	tb.Helper()
	s := install(tb, spec)
	if _, _, err := s.env.Activate(s.id); err != nil {
		tb.Fatalf("activating the test plugin: %v", err)
	}
	hooks, err := s.env.HooksForPlugin(s.id)
	if err != nil {
		tb.Fatal(err)
	}
	return s, hooks
}

func command(tb testing.TB, hooks plugin.Hooks, cmd string) string {
	tb.Helper()
	resp, appErr := hooks.ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: cmd})
	if appErr != nil {
		tb.Fatalf("%s: unexpected AppError %v", cmd, appErr)
	}
	if resp == nil {
		tb.Fatalf("%s: nil response", cmd)
	}
	return resp.Text
}
