package bench

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness"
)

func TestMain(m *testing.M) {
	if os.Getenv(PingPongEnv) != "" {
		if err := ServePingPongChild(); err != nil {
			fmt.Fprintln(os.Stderr, "ping-pong child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	harness.Main(m)
}

// twin is one of the two benchmark plugins, installed in a harness.
type twin struct {
	Name string // "Go" or "Python"
	ID   string
	Exe  string // the installed server executable: the root of the plugin's processes
}

const (
	goID      = "com.mmplugin.bench-go"
	pyID      = "com.mmplugin.bench-py"
	pyAsyncID = "com.mmplugin.bench-py-async"
)

// repoDir is the repository root (this file is in bench/).
func repoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// pythonFlag lets a profiling run try another interpreter or SDK checkout (a venv with a
// modified copy of the SDK installed) without touching the repository's venv.
var (
	pythonFlag   = flag.String("python", "", "Python interpreter for the Python twin (default: the repository's .venv)")
	pyPluginFlag = flag.String("pyplugin", "", "plugin.py of the Python twin (default: bench/pyplugin/plugin.py), to try a variant")
)

// pyPluginCode is the Python twin's source.
func pyPluginCode(tb testing.TB) []byte {
	tb.Helper()
	path := filepath.Join(repoDir(), "bench", "pyplugin", "plugin.py")
	if *pyPluginFlag != "" {
		path = *pyPluginFlag
	}
	return readFile(tb, path)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	code, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

// venvPython is the repository venv's interpreter (the SDK installed editable): a warm venv.
func venvPython(tb testing.TB) string {
	tb.Helper()
	python := filepath.Join(repoDir(), ".venv", "bin", "python")
	if *pythonFlag != "" {
		python = *pythonFlag
	}
	if _, err := os.Stat(python); err != nil {
		tb.Fatalf("the repository venv is missing (%v): run `make setup`", err)
	}
	return python
}

// installTwins installs (does not activate) the Go twin and the Python twin, the latter with
// the real mmplugin-host as its server executable and the repository venv as its Python.
func installTwins(tb testing.TB, h *harness.Harness) (goTwin, pyTwin twin) {
	tb.Helper()
	tb.Setenv("MMPLUGIN_PYTHON", venvPython(tb))
	goDir := h.Install(harness.Bundle{
		Manifest: &model.Manifest{
			Id: goID, Name: "Bench Go twin", Version: "0.1.0",
			Server: &model.ManifestServer{Executable: "server/plugin"},
		},
		Executable: harness.BuildBinary(tb, "github.com/mmplugin/mmplugin/bench/goplugin"),
	})
	code := pyPluginCode(tb)
	pyDir := h.Install(harness.Bundle{
		Manifest: &model.Manifest{
			Id: pyID, Name: "Bench Python twin", Version: "0.1.0",
			Server: &model.ManifestServer{Executable: "server/mmplugin-host"},
			Props:  map[string]any{"python": map[string]any{"entry_point": "plugin:BenchPlugin"}},
		},
		Executable: harness.BuildBinary(tb, "github.com/mmplugin/mmplugin/cmd/mmplugin-host"),
		Files:      map[string][]byte{"plugin.py": code},
	})
	return twin{"Go", goID, filepath.Join(goDir, "server", "plugin")},
		twin{"Python", pyID, filepath.Join(pyDir, "server", "mmplugin-host")}
}

// installAsyncTwin installs the Python twin written with async def handlers
// (bench/pyplugin/plugin_async.py), for the "Python async" column.
func installAsyncTwin(tb testing.TB, h *harness.Harness) twin {
	tb.Helper()
	dir := h.Install(harness.Bundle{
		Manifest: &model.Manifest{
			Id: pyAsyncID, Name: "Bench Python twin, async def", Version: "0.1.0",
			Server: &model.ManifestServer{Executable: "server/mmplugin-host"},
			Props:  map[string]any{"python": map[string]any{"entry_point": "plugin:AsyncBenchPlugin"}},
		},
		Executable: harness.BuildBinary(tb, "github.com/mmplugin/mmplugin/cmd/mmplugin-host"),
		Files:      map[string][]byte{"plugin.py": readFile(tb, filepath.Join(repoDir(), "bench", "pyplugin", "plugin_async.py"))},
	})
	return twin{"Python async", pyAsyncID, filepath.Join(dir, "server", "mmplugin-host")}
}

// world is what the hooks and API calls act on: a user in a channel, and a KV value per twin.
type world struct {
	user    *model.User
	channel *model.Channel
	post    *model.Post
}

func newWorld(tb testing.TB, h *harness.Harness) world {
	tb.Helper()
	api := h.API()
	team, appErr := api.CreateTeam(&model.Team{Name: "bench", DisplayName: "Bench", Type: model.TeamOpen})
	must(tb, appErr)
	user, appErr := api.CreateUser(&model.User{Username: "bencher", Email: "bencher@example.com", Password: "Password1!"})
	must(tb, appErr)
	_, appErr = api.CreateTeamMember(team.Id, user.Id)
	must(tb, appErr)
	channel, appErr := api.CreateChannel(&model.Channel{TeamId: team.Id, Name: "bench", DisplayName: "Bench", Type: model.ChannelTypeOpen})
	must(tb, appErr)
	_, appErr = api.AddChannelMember(channel.Id, user.Id)
	must(tb, appErr)
	for _, id := range []string{goID, pyID, pyAsyncID} {
		must(tb, h.Server().NewPluginAPI(&model.Manifest{Id: id}).KVSet("bench", bytes.Repeat([]byte("v"), 64)))
	}
	// A typical chat message: ids, times, a hashtag, props, as the server passes to the hook.
	post := &model.Post{
		Id: model.NewId(), CreateAt: model.GetMillis(), UpdateAt: model.GetMillis(),
		UserId: user.Id, ChannelId: channel.Id,
		Message:  "Deploy of build 4711 finished: all 312 checks green, see the dashboard #release",
		Hashtags: "#release",
	}
	post.AddProp("from_webhook", "false")
	post.AddProp("attachments_count", 0)
	return world{user: user, channel: channel, post: post}
}

func must(tb testing.TB, appErr *model.AppError) {
	tb.Helper()
	if appErr != nil {
		tb.Fatal(appErr)
	}
}

// calls are the operations measured for one twin; each checks the plugin's answer, so a twin
// that stopped doing its work fails the run instead of looking fast.
type calls struct {
	hooks plugin.Hooks
	w     world
}

// freshPost is a copy of the world's post with its own props, as the server passes each hook
// call its own post: Mattermost's RPC client decodes the plugin's answer into the post (and
// props map) it was given.
func (c calls) freshPost() *model.Post {
	p := c.w.post.Clone()
	p.SetProps(maps.Clone(c.w.post.GetProps()))
	return p
}

func (c calls) messageWillBePosted() error {
	out, reason := c.hooks.MessageWillBePosted(&plugin.Context{RequestId: "bench"}, c.freshPost())
	if reason != "" || out == nil || out.Message != strings.ToUpper(c.w.post.Message) {
		return fmt.Errorf("MessageWillBePosted returned %v, %q; want the message upper-cased", out, reason)
	}
	return nil
}

func (c calls) messageHasBeenPosted() error {
	c.hooks.MessageHasBeenPosted(&plugin.Context{RequestId: "bench"}, c.freshPost())
	return nil
}

func (c calls) command(text string) (*model.CommandResponse, error) {
	resp, appErr := c.hooks.ExecuteCommand(&plugin.Context{RequestId: "bench"}, &model.CommandArgs{
		Command: text, UserId: c.w.user.Id, ChannelId: c.w.channel.Id, TeamId: c.w.channel.TeamId,
	})
	if appErr != nil {
		return nil, fmt.Errorf("%s: %w", text, appErr)
	}
	if resp == nil {
		return nil, fmt.Errorf("%s: no response", text)
	}
	return resp, nil
}

func (c calls) executeCommand() error {
	resp, err := c.command("/bench noop")
	if err == nil && resp.Text != "ok" {
		err = fmt.Errorf("/bench noop answered %q, want ok", resp.Text)
	}
	return err
}

// apiTimes runs "/bench <method> <n>": the plugin calls the API method n times inside the hook
// and reports each call's duration.
func (c calls) apiTimes(method string, n int) ([]time.Duration, error) {
	resp, err := c.command(fmt.Sprintf("/bench %s %d", method, n))
	if err != nil {
		return nil, err
	}
	var out struct{ NS []int64 }
	if err := json.Unmarshal([]byte(resp.Text), &out); err != nil {
		return nil, fmt.Errorf("/bench %s: %w in %.200q", method, err, resp.Text)
	}
	if len(out.NS) != n {
		return nil, fmt.Errorf("/bench %s %d reported %d durations", method, n, len(out.NS))
	}
	return Nanos(out.NS), nil
}

// serve sends one request to the plugin's ServeHTTP and returns the status and body size
// (the body itself only when keep is set; large bodies are counted, not stored).
func (c calls) serve(method, path string, body []byte, keep bool) (int, int64, []byte, error) {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, path, bytes.NewReader(body))
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("Mattermost-User-Id", c.w.user.Id)
	w := &countingWriter{header: http.Header{}, keep: keep}
	c.hooks.ServeHTTP(&plugin.Context{RequestId: "bench"}, w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.status, w.n, w.body.Bytes(), nil
}

func (c calls) hello() error {
	status, _, body, _ := c.serve(http.MethodGet, "/hello", nil, true)
	if status != http.StatusOK || string(body) != `{"hello":"world"}` {
		return fmt.Errorf("GET /hello = %d %q", status, body)
	}
	return nil
}

func (c calls) upload(body []byte) error {
	status, _, got, _ := c.serve(http.MethodPost, "/upload", body, true)
	if want := fmt.Sprintf(`{"bytes":%d}`, len(body)); status != http.StatusOK || string(got) != want {
		return fmt.Errorf("POST /upload of %d bytes = %d %q, want %s", len(body), status, got, want)
	}
	return nil
}

func (c calls) download(n int) error {
	status, got, _, _ := c.serve(http.MethodGet, fmt.Sprintf("/download?bytes=%d", n), nil, false)
	if status != http.StatusOK || got != int64(n) {
		return fmt.Errorf("GET /download?bytes=%d = %d with %d bytes", n, status, got)
	}
	return nil
}

// countingWriter is an http.ResponseWriter that counts the body (and keeps it when asked), so
// a 50 MB download is not measured as a 50 MB buffer copy.
type countingWriter struct {
	header http.Header
	status int
	n      int64
	keep   bool
	body   bytes.Buffer
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += int64(len(p))
	if w.keep {
		w.body.Write(p)
	}
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
