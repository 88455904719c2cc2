package netrpc

import (
	"bufio"
	"maps"
	"net"
	"net/http"
	"net/rpc"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// responseWriter is an http.ResponseWriter (and http.Flusher, http.Hijacker) speaking
// Mattermost's httpResponseWriterRPC protocol (server/public/plugin/http.go, hijack.go): every
// call is a net/rpc call Plugin.<Method> on the stream the server serves for this request.
//
// Header handling: the server's header map is fetched on the first Header() call, edited
// locally and sent with Plugin.SyncHeader (which replaces the server's map) before anything
// that commits it: WriteHeader, Write, Flush. Unlike Mattermost's client, which syncs before
// every Write, it only syncs when the map changed since the last sync, saving a round trip
// per body chunk; and a handler that never calls Header() leaves the server's headers alone
// (Mattermost's client would sync a nil map and delete them).
//
// Each call is synchronous: the server's net/rpc runs requests concurrently, so pipelining
// writes could reorder the body.
type responseWriter struct {
	client *rpc.Client
	log    hclog.Logger

	mu      sync.Mutex
	header  http.Header // what the handler edits; nil until Header() is called
	synced  http.Header // the server's header as last fetched or synced
	noFlush bool        // the server has no Plugin.Flush (servers before Flush support)
}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
	_ http.Hijacker       = (*responseWriter)(nil)
)

func newResponseWriter(conn net.Conn, log hclog.Logger) *responseWriter {
	return &responseWriter{client: rpc.NewClient(conn), log: log}
}

func (w *responseWriter) Header() http.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.header == nil {
		var h http.Header
		if err := w.client.Call("Plugin.Header", struct{}{}, &h); err != nil {
			w.log.Error("cannot fetch the response header from the server", "error", err)
		}
		if h == nil {
			h = http.Header{}
		}
		w.header = h
		w.synced = cloneHeader(h)
	}
	return w.header
}

// syncHeader sends the local header map if it differs from the server's copy.
func (w *responseWriter) syncHeader() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncHeaderLocked()
}

func (w *responseWriter) syncHeaderLocked() {
	if w.header == nil || headersEqual(w.header, w.synced) {
		return
	}
	if err := w.client.Call("Plugin.SyncHeader", w.header, nil); err != nil {
		w.log.Error("cannot send the response header to the server", "error", err)
		return
	}
	w.synced = cloneHeader(w.header)
}

func (w *responseWriter) WriteHeader(statusCode int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncHeaderLocked()
	if err := w.client.Call("Plugin.WriteHeader", statusCode, nil); err != nil {
		w.log.Error("cannot write the response status", "status", statusCode, "error", err)
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncHeaderLocked()
	if err := w.client.Call("Plugin.Write", b, nil); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Flush is best effort, like http.Flusher itself: servers whose response writer server has
// no Flush method are remembered and not asked again.
func (w *responseWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncHeaderLocked()
	if w.noFlush {
		return
	}
	if err := w.client.Call("Plugin.Flush", struct{}{}, nil); err != nil {
		if err.Error() == "rpc: can't find method Plugin.Flush" {
			w.noFlush = true
			return
		}
		w.log.Debug("flushing the response failed", "error", err)
	}
}

func (w *responseWriter) close() {
	_ = w.client.Close()
}

// Hijack takes over the connection (websocket upgrades), as Mattermost's client does: reads
// and writes on the returned net.Conn and bufio.ReadWriter become Plugin.HjConn* calls.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.client.Call("Plugin.HijackResponse", struct{}{}, nil); err != nil {
		return nil, nil, err
	}
	c := &hijackedConn{client: w.client}
	rw := &hijackedReadWriter{client: w.client}
	return c, bufio.NewReadWriter(bufio.NewReader(rw), bufio.NewWriter(rw)), nil
}

// hijackedConn is the raw hijacked connection (Plugin.HjConnRead/Write/Close/Set*Deadline).
type hijackedConn struct {
	client *rpc.Client
}

func (c *hijackedConn) Read(b []byte) (int, error) {
	var data []byte
	if err := c.client.Call("Plugin.HjConnRead", len(b), &data); err != nil {
		return 0, err
	}
	return copy(b, data), nil
}

func (c *hijackedConn) Write(b []byte) (int, error) {
	var n int
	if err := c.client.Call("Plugin.HjConnWrite", b, &n); err != nil {
		return 0, err
	}
	return n, nil
}

func (c *hijackedConn) Close() error {
	return c.client.Call("Plugin.HjConnClose", struct{}{}, nil)
}

// LocalAddr and RemoteAddr are not carried by the protocol.
func (c *hijackedConn) LocalAddr() net.Addr  { return nil }
func (c *hijackedConn) RemoteAddr() net.Addr { return nil }

func (c *hijackedConn) SetDeadline(t time.Time) error {
	return c.client.Call("Plugin.HjConnSetDeadline", t, nil)
}

func (c *hijackedConn) SetReadDeadline(t time.Time) error {
	return c.client.Call("Plugin.HjConnSetReadDeadline", t, nil)
}

func (c *hijackedConn) SetWriteDeadline(t time.Time) error {
	return c.client.Call("Plugin.HjConnSetWriteDeadline", t, nil)
}

// hijackedReadWriter reaches the server's buffered reader/writer of the hijacked connection
// (Plugin.HjConnRWRead/Write), which may hold bytes the server already read.
type hijackedReadWriter struct {
	client *rpc.Client
}

func (rw *hijackedReadWriter) Read(b []byte) (int, error) {
	var data []byte
	if err := rw.client.Call("Plugin.HjConnRWRead", b, &data); err != nil {
		return 0, err
	}
	return copy(b, data), nil
}

func (rw *hijackedReadWriter) Write(b []byte) (int, error) {
	var n int
	if err := rw.client.Call("Plugin.HjConnRWWrite", b, &n); err != nil {
		return 0, err
	}
	return n, nil
}

func cloneHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	return h.Clone()
}

func headersEqual(a, b http.Header) bool {
	return maps.EqualFunc(a, b, slices.Equal[[]string])
}
