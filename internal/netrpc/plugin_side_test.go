package netrpc_test

// The plugin side of the runtime tests. The test binary doubles as the plugin executable:
// Mattermost's supervisor starts it with the go-plugin magic cookie in its environment, and
// TestMain then serves testHooks through netrpc.Serve instead of running the tests. The
// plugin reads its behaviour from testplugin.json next to the executable (the plugin
// directory), so each test can install a differently configured plugin.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/netrpc"
)

// pluginSpec configures one installed test plugin.
type pluginSpec struct {
	// Implemented is what Config.Implemented answers.
	Implemented []string `json:"implemented"`
	// ImplementedError makes Config.Implemented fail with this message.
	ImplementedError string `json:"implemented_error,omitempty"`
	// ActivateError makes Config.OnActivate fail with this message.
	ActivateError string `json:"activate_error,omitempty"`
	// ClientMain serves goTwin with Mattermost's own plugin.ClientMain instead of netrpc,
	// as the baseline for the benchmarks.
	ClientMain bool `json:"client_main,omitempty"`
}

const specFile = "testplugin.json"

func runAsPlugin() {
	// Mattermost starts the executable by its path inside the plugin directory.
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(os.Args[0]), specFile))
	if err != nil {
		fmt.Fprintln(os.Stderr, "test plugin: reading its spec:", err)
		os.Exit(2)
	}
	var spec pluginSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		fmt.Fprintln(os.Stderr, "test plugin: parsing its spec:", err)
		os.Exit(2)
	}
	if spec.ClientMain {
		plugin.ClientMain(&goTwin{h: &testHooks{}})
		os.Exit(0)
	}
	if err := netrpc.Serve(pluginConfig(spec, &testHooks{})); err != nil {
		fmt.Fprintln(os.Stderr, "test plugin:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// pluginConfig is the netrpc configuration of a test plugin serving h.
func pluginConfig(spec pluginSpec, h *testHooks) netrpc.Config {
	return netrpc.Config{
		Hooks: h,
		Implemented: func(context.Context) ([]string, error) {
			if spec.ImplementedError != "" {
				return nil, errors.New(spec.ImplementedError)
			}
			return spec.Implemented, nil
		},
		OnActivate: func(api plugin.API, driver plugin.Driver) error {
			if spec.ActivateError != "" {
				return errors.New(spec.ActivateError)
			}
			h.setClients(api, driver)
			return nil
		},
	}
}

// testHooks is a Go plugin.Hooks implementation standing in for the host's gRPC hooks client.
// It defines more hooks than the specs declare, to show that undeclared ones are never
// called; hooks it does not define at all panic through the nil embedded interface.
type testHooks struct {
	plugin.Hooks

	mu     sync.Mutex
	api    plugin.API
	driver plugin.Driver
	calls  []string
}

func (h *testHooks) setClients(api plugin.API, driver plugin.Driver) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.api, h.driver = api, driver
}

func (h *testHooks) clients() (plugin.API, plugin.Driver) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.api, h.driver
}

func (h *testHooks) record(hook string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, hook)
}

// recordAndLog records the call and reports it to the server through the API, which shows
// that the API is usable inside the hook.
func (h *testHooks) recordAndLog(hook string) {
	h.record(hook)
	if api, _ := h.clients(); api != nil {
		api.LogInfo("hook called", "hook", hook)
	}
}

func (h *testHooks) OnActivate() error {
	h.recordAndLog("OnActivate")
	return nil
}

func (h *testHooks) OnConfigurationChange() error {
	h.recordAndLog("OnConfigurationChange")
	return nil
}

func (h *testHooks) OnDeactivate() error {
	h.recordAndLog("OnDeactivate")
	return nil
}

func (h *testHooks) UserHasBeenCreated(_ *plugin.Context, _ *model.User) {
	h.record("UserHasBeenCreated")
}

func (h *testHooks) RunDataRetention(nowTime, _ int64) (int64, error) {
	h.record("RunDataRetention")
	return nowTime + 1, fmt.Errorf("retention stopped early: %w", io.EOF)
}

func (h *testHooks) MessageWillBePosted(_ *plugin.Context, post *model.Post) (*model.Post, string) {
	h.record("MessageWillBePosted")
	if strings.Contains(post.Message, "forbidden") {
		return nil, "forbidden words"
	}
	changed := post.Clone()
	changed.Message = post.Message + " (checked)"
	changed.AddProp("checked_by", "netrpc-test")
	return changed, ""
}

func (h *testHooks) MessagesWillBeConsumed(posts []*model.Post) []*model.Post {
	h.record("MessagesWillBeConsumed")
	out := make([]*model.Post, 0, len(posts))
	for _, p := range posts {
		c := p.Clone()
		c.Message = strings.ToUpper(p.Message)
		out = append(out, c)
	}
	return out
}

func (h *testHooks) FileWillBeUploaded(_ *plugin.Context, info *model.FileInfo, file io.Reader, output io.Writer) (*model.FileInfo, string) {
	h.record("FileWillBeUploaded")
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, "reading the upload: " + err.Error()
	}
	if strings.HasSuffix(info.Name, ".exe") {
		return nil, "executables are not allowed"
	}
	upper := []byte(strings.ToUpper(string(data)))
	if _, err := output.Write(upper); err != nil {
		return nil, "writing the replacement: " + err.Error()
	}
	replaced := *info
	replaced.Name = "upper-" + info.Name
	replaced.Size = int64(len(upper))
	return &replaced, ""
}

func (h *testHooks) ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	h.record("ServeHTTP")
	switch r.URL.Path {
	case "/hijack":
		// Take the connection over, as a websocket upgrade would, and echo one line.
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer func() { _ = conn.Close() }()
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		// Write on the connection itself: the server-side bufio.Writer behind rw has no remote
		// Flush in Mattermost's protocol.
		_, _ = fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhijacked:%s", line)
	case "/download":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		chunk := make([]byte, 32*1024)
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	case "/duplex":
		// Echo each line as soon as it arrives: only works if both bodies stream.
		scanner := bufio.NewScanner(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		for scanner.Scan() {
			_, _ = fmt.Fprintf(w, "echo:%s\n", scanner.Text())
			w.(http.Flusher).Flush()
		}
	default:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		hdr := w.Header()
		hdr.Del("X-Remove-Me")
		hdr.Set("Content-Type", "application/x-test")
		hdr.Set("X-Method", r.Method)
		hdr.Set("X-Query", r.URL.Query().Get("q"))
		hdr.Set("X-Request-Header", r.Header.Get("X-Test"))
		hdr.Set("X-Context-Request-Id", c.RequestId)
		hdr.Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		hdr.Set("X-Body-Sha256", hex.EncodeToString(sum[:]))
		w.WriteHeader(http.StatusCreated)
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "chunk %d of %d bytes;", i, len(body))
			w.(http.Flusher).Flush()
		}
	}
}

// ExecuteCommand runs the API and Driver scenarios the tests ask for: "/<scenario> args...".
func (h *testHooks) ExecuteCommand(_ *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	h.record("ExecuteCommand")
	api, db := h.clients()
	fields := strings.Fields(args.Command)
	text := func(format string, a ...any) (*model.CommandResponse, *model.AppError) {
		return &model.CommandResponse{Text: fmt.Sprintf(format, a...)}, nil
	}
	switch fields[0] {
	case "/calls":
		h.mu.Lock()
		defer h.mu.Unlock()
		return text("%s", strings.Join(h.calls, ","))
	case "/getuser":
		user, appErr := api.GetUser(fields[1])
		if appErr != nil {
			return nil, appErr
		}
		return text("%s", user.Username)
	case "/bundlepath":
		path, err := api.GetBundlePath()
		return text("%s|%v|%v", path, err, errors.Is(err, sql.ErrNoRows))
	case "/config":
		var cfg struct {
			Greeting string
			Count    int
		}
		if err := api.LoadPluginConfiguration(&cfg); err != nil {
			return text("error: %v", err)
		}
		return text("%s x%d", cfg.Greeting, cfg.Count)
	case "/log":
		api.LogDebug("debug message", "number", 1, "struct", struct{ A int }{2})
		api.LogInfo("info message")
		api.LogWarn("warn message", "key", "value")
		api.LogError("error message", "err", errors.New("boom"))
		rec := plugin.MakeAuditRecord("netrpcTest", model.AuditStatusSuccess)
		var nilUser *model.User
		rec.AddMeta("nil_pointer", nilUser) // not gob-encodable as is
		rec.AddMeta("count", 3)
		api.LogAuditRec(rec)
		return text("logged")
	case "/pluginhttp":
		req, _ := http.NewRequest(http.MethodPost, "/other-plugin/echo", strings.NewReader(strings.Repeat("p", 100_000)))
		req.Header.Set("X-From", "netrpc-test")
		resp := api.PluginHTTP(req)
		if resp == nil {
			return text("nil response")
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return text("%d|%s|%s|%v", resp.StatusCode, resp.Header.Get("X-Answer"), body, err)
	case "/upload":
		n, _ := strconv.Atoi(fields[1])
		info, err := api.UploadData(&model.UploadSession{Id: "upload-1"}, strings.NewReader(strings.Repeat("u", n)))
		if err != nil {
			return text("error: %v", err)
		}
		return text("%s|%d", info.Id, info.Size)
	case "/install":
		manifest, appErr := api.InstallPlugin(strings.NewReader("bundle-bytes"), true)
		if appErr != nil {
			return nil, appErr
		}
		return text("%s", manifest.Id)
	case "/driver":
		return text("%s", driverScenario(db))
	case "/sweep":
		out, err := json.Marshal(map[string]map[string]string{
			"API":    sweep(api, reflect.TypeFor[plugin.API]()),
			"Driver": sweep(db, reflect.TypeFor[plugin.Driver]()),
		})
		if err != nil {
			return text("marshal: %v", err)
		}
		return text("%s", out)
	}
	return nil, model.NewAppError("ExecuteCommand", "netrpc_test.unknown_command", nil, args.Command, http.StatusBadRequest)
}

// driverReport is what the /driver scenario observed through the Driver client.
type driverReport struct {
	Conn          string
	ConnErr       string
	PingNoRows    bool
	PingErr       string
	Rows          string
	Columns       []string
	Row           []any
	NextIsEOF     bool
	RowsAffected  int64
	LastIDErr     string
	TxDoneKept    bool
	StmtNumInputs int
}

func driverScenario(db plugin.Driver) string {
	var r driverReport
	var err error
	r.Conn, err = db.Conn(true)
	if err != nil {
		r.ConnErr = err.Error()
	}
	err = db.ConnPing("gone")
	r.PingNoRows = errors.Is(err, sql.ErrNoRows)
	r.PingErr = fmt.Sprint(err)
	r.Rows, _ = db.ConnQuery(r.Conn, "SELECT id, name FROM t WHERE id = $1", []driver.NamedValue{{Ordinal: 1, Value: int64(7)}})
	r.Columns = db.RowsColumns(r.Rows)
	dest := make([]driver.Value, len(r.Columns))
	if err := db.RowsNext(r.Rows, dest); err == nil {
		for _, v := range dest {
			r.Row = append(r.Row, v)
		}
	}
	r.NextIsEOF = db.RowsNext(r.Rows, dest) == io.EOF
	res, _ := db.ConnExec(r.Conn, "UPDATE t SET name = 'x'", nil)
	r.RowsAffected = res.RowsAffected
	r.LastIDErr = fmt.Sprint(res.LastIDError)
	r.TxDoneKept = db.TxCommit("tx-1") == sql.ErrTxDone
	r.StmtNumInputs = db.StmtNumInput("st-1")
	out, _ := json.Marshal(r)
	return string(out)
}

// goTwin is a plain Go plugin with the hooks the benchmarks use, served by plugin.ClientMain:
// the reference the netrpc path is measured against.
type goTwin struct {
	plugin.MattermostPlugin
	h *testHooks
}

func (g *goTwin) MessageWillBePosted(c *plugin.Context, post *model.Post) (*model.Post, string) {
	return g.h.MessageWillBePosted(c, post)
}

func (g *goTwin) ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	g.h.ServeHTTP(c, w, r)
}

func (g *goTwin) ExecuteCommand(c *plugin.Context, args *model.CommandArgs) (*model.CommandResponse, *model.AppError) {
	g.h.setClients(g.API, g.Driver)
	return g.h.ExecuteCommand(c, args)
}
