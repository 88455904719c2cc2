package netrpc

// Unit tests of the pieces the runtime tests cannot isolate: error encoding, the remote
// reader's round trips, and behaviour against servers older than the pinned one (no
// PluginHTTPStream, no response-writer Flush), driven over go-plugin's real RPC server and
// MuxBroker on an in-memory connection.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/rpc"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/lib/pq"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

func TestEncodeError(t *testing.T) {
	appErr := &model.AppError{Id: "x"}
	pqErr := &pq.Error{Code: "23505"}
	cases := []struct {
		name string
		in   error
		want error
	}{
		{"nil", nil, nil},
		{"typed nil AppError", (*model.AppError)(nil), nil},
		{"AppError passes", appErr, appErr},
		{"pq.Error passes", pqErr, pqErr},
		{"io.EOF", io.EOF, &plugin.ErrorString{Code: 1, Err: "EOF"}},
		{"wrapped sql.ErrNoRows", fmt.Errorf("lookup: %w", sql.ErrNoRows), &plugin.ErrorString{Code: 2, Err: "lookup: sql: no rows in result set"}},
		{"sql.ErrTxDone", sql.ErrTxDone, &plugin.ErrorString{Code: 4, Err: sql.ErrTxDone.Error()}},
		{"plain", errors.New("boom"), &plugin.ErrorString{Err: "boom"}},
	}
	for _, c := range cases {
		got := encodeError(c.in)
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", c.want) {
			t.Errorf("%s: encodeError = %#v, want %#v", c.name, got, c.want)
		}
	}
}

func TestDecodeError(t *testing.T) {
	if got := decodeError(&plugin.ErrorString{Code: 2, Err: "x"}); got != sql.ErrNoRows {
		t.Errorf("code 2 decoded to %v, want sql.ErrNoRows", got)
	}
	for _, e := range []error{nil, &plugin.ErrorString{Err: "plain"}, &plugin.ErrorString{Code: 99, Err: "future"}, io.ErrClosedPipe} {
		if got := decodeError(e); got != e {
			t.Errorf("decodeError(%v) = %v, want it unchanged", e, got)
		}
	}
	// Every sentinel survives a round trip.
	for code, s := range sentinels {
		if s != nil && decodeError(encodeError(s)) != s {
			t.Errorf("sentinel %d (%v) does not round-trip", code, s)
		}
	}
}

// countingConn counts the reading side's requests.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func TestRemoteReaderPrefetches(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 kB
	serverEnd, clientEnd := net.Pipe()
	go serveReader(bytes.NewReader(src), serverEnd)
	conn := &countingConn{Conn: clientEnd}
	r := newRemoteReader(conn)

	var got bytes.Buffer
	buf := make([]byte, 1000) // small reads: one request each in Mattermost's client
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), src) {
		t.Fatalf("read %d bytes, not the %d served", got.Len(), len(src))
	}
	// 320 kB in 64 kB windows: 5 requests plus the one answered by EOF.
	if n := conn.writes.Load(); n > 6 {
		t.Errorf("%d requests for %d bytes; the reader should ask for %d bytes at a time", n, len(src), prefetchSize)
	}
	_ = r.Close()
}

func TestServeReaderNilReaderIsEmpty(t *testing.T) {
	serverEnd, clientEnd := net.Pipe()
	go serveReader(nil, serverEnd)
	b, err := io.ReadAll(newRemoteReader(clientEnd))
	if err != nil || len(b) != 0 {
		t.Fatalf("ReadAll = %q, %v; want empty, nil", b, err)
	}
}

// rawPlugin is the server half of the harness: Dispense returns the broker and client instead
// of Mattermost's hooksRPCClient, so the test can play an arbitrary server.
type rawPlugin struct {
	server goplugin.Plugin
}

type rawClient struct {
	broker *goplugin.MuxBroker
	client *rpc.Client
}

func (p rawPlugin) Server(b *goplugin.MuxBroker) (any, error) { return p.server.Server(b) }
func (p rawPlugin) Client(b *goplugin.MuxBroker, c *rpc.Client) (any, error) {
	return &rawClient{broker: b, client: c}, nil
}

// connect serves cfg like Serve does, over an in-memory connection, and returns the server
// side's view: the hooks client and the broker.
func connect(t *testing.T, cfg *Config) *rawClient {
	t.Helper()
	cfg.setDefaults()
	cfg.Logger = hclog.NewNullLogger()
	plugins := map[string]goplugin.Plugin{"hooks": rawPlugin{server: &hooksPlugin{cfg: cfg}}}
	serverConn, clientConn := net.Pipe()
	srv := &goplugin.RPCServer{Plugins: plugins, Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
	go srv.ServeConn(serverConn)
	client, err := goplugin.NewRPCClient(clientConn, plugins)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense("hooks")
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*rawClient)
}

// funcHooks implements the hooks a harness test needs; others panic.
type funcHooks struct {
	plugin.Hooks
	serveHTTP func(c *plugin.Context, w http.ResponseWriter, r *http.Request)
	created   atomic.Int32
}

func (h *funcHooks) ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	h.serveHTTP(c, w, r)
}
func (h *funcHooks) UserHasBeenCreated(*plugin.Context, *model.User) { h.created.Add(1) }

func implemented(names ...string) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) { return names, nil }
}

func TestUndeclaredHookIsRefused(t *testing.T) {
	h := &funcHooks{}
	c := connect(t, &Config{Hooks: h, Implemented: implemented("ExecuteCommand")})
	var names []string
	if err := c.client.Call("Plugin.Implemented", struct{}{}, &names); err != nil || len(names) != 1 {
		t.Fatalf("Implemented = %v, %v", names, err)
	}
	err := c.client.Call("Plugin.UserHasBeenCreated", &plugin.Z_UserHasBeenCreatedArgs{}, &plugin.Z_UserHasBeenCreatedReturns{})
	if err == nil || !strings.Contains(err.Error(), "hook UserHasBeenCreated called but not implemented") {
		t.Errorf("calling an undeclared hook: %v", err)
	}
	if h.created.Load() != 0 {
		t.Error("the undeclared hook reached Config.Hooks")
	}
}

// oldAPIServer is an API server from before PluginHTTPStream: buffered PluginHTTP only.
type oldAPIServer struct{}

func (oldAPIServer) PluginHTTP(args *plugin.Z_PluginHTTPArgs, returns *plugin.Z_PluginHTTPReturns) error {
	returns.Response = &http.Response{StatusCode: http.StatusTeapot, Header: http.Header{"X-Path": {args.Request.URL.Path}}}
	returns.ResponseBody = append([]byte("buffered:"), args.RequestBody...)
	return nil
}

// nothingServer stands for a server stream the test does not use.
type nothingServer struct{}

func (nothingServer) Nothing(struct{}, *struct{}) error { return nil }

// activateWith plays the server's OnActivate with the given API and driver servers.
func activateWith(t *testing.T, c *rawClient, apiServer, driverServer any) {
	t.Helper()
	apiID, driverID := c.broker.NextId(), c.broker.NextId()
	go c.broker.AcceptAndServe(apiID, apiServer)
	go c.broker.AcceptAndServe(driverID, driverServer)
	var returns plugin.Z_OnActivateReturns
	if err := c.client.Call("Plugin.OnActivate", &plugin.Z_OnActivateArgs{APIMuxId: apiID, DriverMuxId: driverID}, &returns); err != nil || returns.A != nil {
		t.Fatalf("OnActivate: %v, %v", err, returns.A)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAgainstAnOlderServer(t *testing.T) {
	var api plugin.API
	cfg := &Config{Hooks: &funcHooks{}, Implemented: implemented(),
		OnActivate: func(a plugin.API, _ plugin.Driver) error { api = a; return nil }}
	c := connect(t, cfg)
	activateWith(t, c, oldAPIServer{}, nothingServer{})

	// PluginHTTP falls back to the buffered call.
	req, _ := http.NewRequest(http.MethodPost, "/other/path", strings.NewReader("payload"))
	resp := api.PluginHTTP(req)
	if resp == nil {
		t.Fatal("PluginHTTP returned nil against a server without PluginHTTPStream")
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Path") != "/other/path" || string(body) != "buffered:payload" {
		t.Errorf("buffered PluginHTTP: %d %v %q", resp.StatusCode, resp.Header, body)
	}

	// A method the server lacks is an error, not a silent zero value: a 501 AppError with its
	// own id, or a plain error whose message names the method, for the SDK to recognise.
	user, appErr := api.GetUser("u1")
	if user != nil || appErr == nil || appErr.Id != MethodNotOnServerErrorID ||
		appErr.StatusCode != http.StatusNotImplemented || appErr.Where != "netrpc.API.GetUser" ||
		!strings.Contains(appErr.DetailedError, "can't find method Plugin.GetUser") {
		t.Errorf("GetUser on a server without it = %v, %+v", user, appErr)
	}
	_, err := api.GetBundlePath()
	if err == nil || !strings.HasPrefix(err.Error(), methodNotOnServerPrefix+"GetBundlePath ") {
		t.Errorf("GetBundlePath on a server without it: %v", err)
	}
}

func TestOnlyAMissingMethodIsNotOnServer(t *testing.T) {
	// Any other failure (a broken stream, another method's name) stays a failed call (500).
	broken := callFailedAppError("GetUser", errors.New("connection is shut down"))
	if broken.Id != "mmplugin.netrpc.call_failed.app_error" || broken.StatusCode != http.StatusInternalServerError {
		t.Errorf("broken connection: %+v", broken)
	}
	other := callFailedAppError("GetUser", errors.New("rpc: can't find method Plugin.GetUsers"))
	if other.Id == MethodNotOnServerErrorID {
		t.Errorf("another method's absence was taken for GetUser's: %+v", other)
	}
	if err := callFailedError("KVGet", errors.New("unexpected EOF")); strings.HasPrefix(err.Error(), methodNotOnServerPrefix) {
		t.Errorf("KVGet failure: %v", err)
	}
}

// writerServer is a server-side response writer without Flush (servers before Flush
// support), counting SyncHeader calls.
type writerServer struct {
	mu     sync.Mutex
	header http.Header
	status int
	body   bytes.Buffer
	syncs  int
}

func (w *writerServer) Header(_ struct{}, reply *http.Header) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	*reply = w.header
	return nil
}

func (w *writerServer) SyncHeader(h http.Header, _ *struct{}) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncs++
	w.header = maps.Clone(h)
	return nil
}

func (w *writerServer) WriteHeader(code int, _ *struct{}) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status = code
	return nil
}

func (w *writerServer) Write(b []byte, _ *struct{}) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.body.Write(b)
	return nil
}

func TestResponseWriterSyncsOnlyChangedHeaders(t *testing.T) {
	var noFlush bool
	h := &funcHooks{serveHTTP: func(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusAccepted)
		for i := range 5 {
			_, _ = fmt.Fprintf(w, "part %d;", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Late", "after the body") // reaches the server in the final sync
		noFlush = w.(*responseWriter).noFlush
	}}
	c := connect(t, &Config{Hooks: h, Implemented: implemented("ServeHTTP")})
	ws := &writerServer{header: http.Header{"X-Server": {"preset"}}}
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, ws)
	args := plugin.Z_ServeHTTPArgs{ResponseWriterStream: id, Request: &plugin.HTTPRequestSubset{Method: http.MethodGet, URL: mustURL(t, "/x")}}
	if err := c.client.Call("Plugin.ServeHTTP", args, nil); err != nil {
		t.Fatal(err)
	}

	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.status != http.StatusAccepted || ws.body.String() != "part 0;part 1;part 2;part 3;part 4;" {
		t.Errorf("response %d %q", ws.status, ws.body.String())
	}
	if ws.header.Get("X-Server") != "preset" || ws.header.Get("Content-Type") != "text/plain" || ws.header.Get("X-Late") != "after the body" {
		t.Errorf("server header %v", ws.header)
	}
	// One sync before WriteHeader, one for the late header; none for the unchanged writes.
	if ws.syncs != 2 {
		t.Errorf("%d SyncHeader calls, want 2", ws.syncs)
	}
	if !noFlush {
		t.Error("Flush on a server without Plugin.Flush was not remembered as unsupported")
	}
}
