package netrpc_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// The benchmarks measure the whole path as the server sees it: Mattermost's Environment →
// go-plugin → the plugin process. Each runs twice: "netrpc" is this package serving a Go
// plugin.Hooks, "ClientMain" the same hooks served by Mattermost's own plugin.ClientMain.

// both runs bench against the netrpc plugin and its ClientMain twin.
func both(b *testing.B, bench func(b *testing.B, hooks plugin.Hooks)) {
	for _, variant := range []struct {
		name string
		spec pluginSpec
	}{{"netrpc", allHooks}, {"ClientMain", pluginSpec{ClientMain: true}}} {
		b.Run(variant.name, func(b *testing.B) {
			_, hooks := activate(b, variant.spec)
			bench(b, hooks)
		})
	}
}

func BenchmarkHookRoundTrip(b *testing.B) { both(b, benchHookRoundTrip) }

func benchHookRoundTrip(b *testing.B, hooks plugin.Hooks) {
	for b.Loop() {
		// A fresh post each time: the server's client decodes the result into the post it
		// passed, so a reused one would grow with every call.
		post := &model.Post{Id: "p1", ChannelId: "c1", UserId: "u1", Message: "hello"}
		if got, _ := hooks.MessageWillBePosted(&plugin.Context{}, post); got == nil {
			b.Fatal("no post")
		}
	}
}

// BenchmarkHookWithAPICall is a hook that makes one API call back to the server.
func BenchmarkHookWithAPICall(b *testing.B) { both(b, benchHookWithAPICall) }

func benchHookWithAPICall(b *testing.B, hooks plugin.Hooks) {
	for b.Loop() {
		command(b, hooks, "/getuser u1")
	}
}

func BenchmarkServeHTTPUpload1MiB(b *testing.B) { both(b, benchUpload) }

func benchUpload(b *testing.B, hooks plugin.Hooks) {
	body := bytes.Repeat([]byte("x"), 1<<20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rec := httptest.NewRecorder()
		hooks.ServeHTTP(&plugin.Context{}, rec, httptest.NewRequest(http.MethodPost, "/upload", bytes.NewReader(body)))
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkServeHTTPDownload1MiB(b *testing.B) { both(b, benchDownload) }

func benchDownload(b *testing.B, hooks plugin.Hooks) {
	const n = 1 << 20
	b.SetBytes(n)
	for b.Loop() {
		w := &countingWriter{header: http.Header{}}
		hooks.ServeHTTP(&plugin.Context{}, w, httptest.NewRequest(http.MethodGet, "/download?n="+strconv.Itoa(n), nil))
		if w.n != n {
			b.Fatalf("%d bytes", w.n)
		}
	}
}

type countingWriter struct {
	header http.Header
	n      int
}

func (w *countingWriter) Header() http.Header         { return w.header }
func (w *countingWriter) WriteHeader(int)             {}
func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)
