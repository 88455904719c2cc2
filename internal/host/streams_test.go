package host_test

// Streams through the real mmplugin-host: ServeHTTP request and response bodies (200 MB each
// way with the memory of the host and Python processes sampled), server-sent events, FastAPI
// and Flask apps, client disconnects, FileWillBeUploaded and PluginHTTP between plugins. The
// Python plugins are in testdata/streams.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness"
)

const (
	streamsID    = "com.example.streams"
	bigBodyBytes = 200 << 20
	// maxRSSGrowth is how much either process may grow while 200 MB pass through it: a
	// buffered body would add at least the body's size.
	maxRSSGrowth = 100 << 20
)

// activateStreamsPlugin installs testdata/streams/<file> as a plugin's plugin.py and activates it.
func activateStreamsPlugin(t *testing.T, h *harness.Harness, id, file string) {
	t.Helper()
	code, err := os.ReadFile(filepath.Join("testdata", "streams", file))
	if err != nil {
		t.Fatal(err)
	}
	activatePython(t, h, id, string(code), nil)
}

// serveOverHTTP puts the plugin's ServeHTTP hook behind a real HTTP server, as Mattermost's
// router does for /plugins/<id>/..., so clients read real streamed responses.
func serveOverHTTP(t *testing.T, h *harness.Harness, id string) *httptest.Server {
	t.Helper()
	hooks := h.Hooks(id)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks.ServeHTTP(&plugin.Context{RequestId: model.NewId()}, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// patternReader produces n bytes of 0..255 repeated, like PATTERN in the Python plugins.
type patternReader struct{ off, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rest := p.n - p.off; int64(len(b)) > rest {
		b = b[:rest]
	}
	for i := range b {
		b[i] = byte(p.off + int64(i))
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternDigest(n int64) string {
	sum := sha256.New()
	_, _ = io.Copy(sum, &patternReader{n: n})
	return hex.EncodeToString(sum.Sum(nil))
}

// rssSampler follows the resident memory of the plugin's Python process and of its parent,
// the mmplugin-host process, from /proc.
type rssSampler struct {
	hostPID, pythonPID   int
	hostBase, pythonBase int64
	hostPeak, pythonPeak int64
	stop                 chan struct{}
	done                 sync.WaitGroup
}

func procStatusKB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return -1
}

func startRSSSampler(t *testing.T, h *harness.Harness, id string) *rssSampler {
	t.Helper()
	pluginDir, _ := filepath.EvalSymlinks(filepath.Join(h.PluginDir(), id))
	pids := pythonPIDs(t, pluginDir)
	if len(pids) != 1 {
		t.Fatalf("found Python processes %v for %s, want one", pids, id)
	}
	s := &rssSampler{pythonPID: pids[0], stop: make(chan struct{})}
	s.hostPID = int(procStatusKB(s.pythonPID, "PPid"))
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.hostPID))
	if !strings.Contains(string(cmdline), "mmplugin-host") {
		t.Fatalf("the parent of Python process %d is %q, want mmplugin-host", s.pythonPID, cmdline)
	}
	s.hostBase, s.pythonBase = procStatusKB(s.hostPID, "VmRSS")<<10, procStatusKB(s.pythonPID, "VmRSS")<<10
	s.hostPeak, s.pythonPeak = s.hostBase, s.pythonBase
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.hostPeak = max(s.hostPeak, procStatusKB(s.hostPID, "VmRSS")<<10)
				s.pythonPeak = max(s.pythonPeak, procStatusKB(s.pythonPID, "VmRSS")<<10)
			}
		}
	}()
	return s
}

// finish stops sampling, logs the figures and fails if either process grew by maxRSSGrowth.
func (s *rssSampler) finish(t *testing.T, what string, bytes int64, elapsed time.Duration) {
	t.Helper()
	close(s.stop)
	s.done.Wait()
	const mb = 1 << 20
	t.Logf("%s: %d MB in %s = %.0f MB/s; peak RSS host %.1f MB (+%.1f, VmHWM %.1f), python %.1f MB (+%.1f, VmHWM %.1f)",
		what, bytes/mb, elapsed.Round(time.Millisecond), float64(bytes)/mb/elapsed.Seconds(),
		float64(s.hostPeak)/mb, float64(s.hostPeak-s.hostBase)/mb, float64(procStatusKB(s.hostPID, "VmHWM"))/1024,
		float64(s.pythonPeak)/mb, float64(s.pythonPeak-s.pythonBase)/mb, float64(procStatusKB(s.pythonPID, "VmHWM"))/1024)
	if s.hostPeak-s.hostBase > maxRSSGrowth || s.pythonPeak-s.pythonBase > maxRSSGrowth {
		t.Errorf("%s: RSS grew by host %d MB, python %d MB; want under %d MB for a %d MB body (is a body buffered?)",
			what, (s.hostPeak-s.hostBase)/mb, (s.pythonPeak-s.pythonBase)/mb, maxRSSGrowth/mb, bytes/mb)
	}
}

func TestServeHTTPStreams200MBEachWayInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 400 MB; run without -short")
	}
	h := harness.New(t)
	activateStreamsPlugin(t, h, streamsID, "plain.py")
	srv := serveOverHTTP(t, h, streamsID)
	want := fmt.Sprintf("%d %s", bigBodyBytes, patternDigest(bigBodyBytes))

	t.Run("upload", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/upload", &patternReader{n: bigBodyBytes})
		req.ContentLength = bigBodyBytes
		rss := startRSSSampler(t, h, streamsID)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rss.finish(t, "upload", bigBodyBytes, time.Since(start))
		if resp.StatusCode != http.StatusOK || string(answer) != want {
			t.Fatalf("upload answer = %d %q, want 200 %q (byte count and sha256 the handler computed)", resp.StatusCode, answer, want)
		}
	})

	t.Run("download", func(t *testing.T) {
		rss := startRSSSampler(t, h, streamsID)
		start := time.Now()
		resp, err := http.Get(srv.URL + "/download?bytes=" + strconv.Itoa(bigBodyBytes))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.New()
		n, err := io.Copy(sum, resp.Body)
		resp.Body.Close()
		rss.finish(t, "download", n, time.Since(start))
		if err != nil {
			t.Fatalf("reading the download after %d bytes: %v", n, err)
		}
		if got := fmt.Sprintf("%d %s", n, hex.EncodeToString(sum.Sum(nil))); resp.StatusCode != http.StatusOK || got != want {
			t.Fatalf("download = %d %q, want 200 %q", resp.StatusCode, got, want)
		}
	})
}

// readEvent reads one server-sent event (up to its blank line) and returns its name and data.
func readEvent(r *bufio.Reader) (name, data string, err error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return name, data, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return name, data, nil
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestServerSentEventArrivesBeforeTheHandlerFinishes(t *testing.T) {
	h := harness.New(t)
	activateStreamsPlugin(t, h, streamsID, "plain.py")
	srv := serveOverHTTP(t, h, streamsID)
	client := &http.Client{Timeout: 60 * time.Second}
	start := time.Now()
	resp, err := client.Get(srv.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("response = %d %q, want 200 text/event-stream", resp.StatusCode, ct)
	}
	events := bufio.NewReader(resp.Body)
	// The handler waits for "release" before it finishes, so this event can only arrive
	// here if it was streamed; a buffered response would bring it with "timeout" after 30s.
	name, data, err := readEvent(events)
	if err != nil || name != "first" || data != "hello" {
		t.Fatalf("first event = %q %q, %v; want first hello", name, data, err)
	}
	t.Logf("first event %s after the request, before the handler was released", time.Since(start).Round(time.Millisecond))
	if appErr := h.Server().NewPluginAPI(&model.Manifest{Id: streamsID}).KVSet("release", []byte("1")); appErr != nil {
		t.Fatal(appErr)
	}
	name, data, err = readEvent(events)
	if err != nil || name != "second" || data != "released" {
		t.Fatalf("second event = %q %q, %v; want second released", name, data, err)
	}
	if rest, err := io.ReadAll(events); err != nil || len(rest) != 0 {
		t.Fatalf("after the last event: %q, %v; want the end of the response", rest, err)
	}
}

func TestClientDisconnectCancelsThePythonHandler(t *testing.T) {
	h := harness.New(t)
	activateStreamsPlugin(t, h, streamsID, "plain.py")
	srv := serveOverHTTP(t, h, streamsID)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/endless", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 256<<10)); err != nil {
		t.Fatalf("reading the start of the endless body: %v", err)
	}
	cancel() // closes the connection mid-stream
	resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for kvGet(h, streamsID, "endless") == "" {
		if time.Now().After(deadline) {
			t.Fatal("the Python handler was still running 20s after the client went away")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := kvGet(h, streamsID, "endless"); got != "cancelled" {
		t.Fatalf("the handler recorded %q, want cancelled (an async handler is cancelled, docs/sdk/http.md)", got)
	}
}

// TestFrameworkApps runs the same REST checks against a FastAPI and a Flask plugin.
func TestFrameworkApps(t *testing.T) {
	for _, tc := range []struct{ id, file string }{
		{"com.example.fastapi", "fastapi_app.py"},
		{"com.example.flask", "flask_app.py"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h := harness.New(t)
			activateStreamsPlugin(t, h, tc.id, tc.file)
			srv := serveOverHTTP(t, h, tc.id)
			userID := model.NewId()
			do := func(method, path, body string) (*http.Response, map[string]any, string) {
				t.Helper()
				req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Mattermost-User-Id", userID)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var doc map[string]any
				_ = json.Unmarshal(raw, &doc)
				return resp, doc, string(raw)
			}

			resp, doc, raw := do(http.MethodPost, "/items/42?tag=red", `{"name": "widget", "qty": 3}`)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("create = %d %s, want 201", resp.StatusCode, raw)
			}
			if got := resp.Header.Get("X-Item-Id"); got != "42" {
				t.Errorf("X-Item-Id = %q, want 42", got)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			want := map[string]any{"id": 42.0, "name": "widget", "qty": 3.0, "tag": "red", "user": userID}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("created %s = %v, want %v (body %s)", k, doc[k], v, raw)
				}
			}

			resp, doc, raw = do(http.MethodGet, "/items/42", "")
			if resp.StatusCode != http.StatusOK || doc["name"] != "widget" {
				t.Errorf("get = %d %s, want 200 with the stored item", resp.StatusCode, raw)
			}
			resp, _, raw = do(http.MethodGet, "/items/7", "")
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(raw, "item 7 not found") {
				t.Errorf("get missing = %d %s, want 404 item 7 not found", resp.StatusCode, raw)
			}
			resp, _, raw = do(http.MethodGet, "/nowhere", "")
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("unknown route = %d %s, want 404", resp.StatusCode, raw)
			}
			// Invalid input: FastAPI validates (422), Flask rejects bad JSON and the handler's
			// own check (400).
			wantBad := http.StatusUnprocessableEntity
			if tc.file == "flask_app.py" {
				wantBad = http.StatusBadRequest
			}
			for _, body := range []string{`{"name": "widget", "qty": "many"}`, `{not json`} {
				if resp, _, raw = do(http.MethodPost, "/items/43", body); resp.StatusCode != wantBad {
					t.Errorf("create with %s = %d %s, want %d", body, resp.StatusCode, raw, wantBad)
				}
			}
			if resp, _, raw = do(http.MethodGet, "/items/not-a-number", ""); resp.StatusCode != wantBad && resp.StatusCode != http.StatusNotFound {
				t.Errorf("non-integer path parameter = %d %s, want %d or 404", resp.StatusCode, raw, wantBad)
			}
		})
	}
}

func TestFileWillBeUploadedRejectsReplacesAndPassesThrough(t *testing.T) {
	h := harness.New(t)
	activateStreamsPlugin(t, h, streamsID, "plain.py")
	hooks := h.Hooks(streamsID)
	upload := func(name, content string) (*model.FileInfo, string, string) {
		t.Helper()
		var out bytes.Buffer
		info := &model.FileInfo{Id: model.NewId(), Name: name, Extension: filepath.Ext(name)[1:], Size: int64(len(content))}
		got, reason := hooks.FileWillBeUploaded(&plugin.Context{}, info, strings.NewReader(content), &out)
		return got, reason, out.String()
	}

	info, reason, out := upload("setup.exe", "MZ...")
	if !strings.Contains(reason, "setup.exe: executables are not allowed") || out != "" {
		t.Errorf("reject: info %v, reason %q, output %q; want the plugin's reason and no output", info, reason, out)
	}

	content := strings.Repeat("quiet words ", 20000) // 240 KB: several stream chunks
	info, reason, out = upload("shout-notes.md", content)
	if reason != "" || out != strings.ToUpper(content) {
		t.Errorf("replace: reason %q, output %d bytes (upper-cased: %v); want the upper-cased file",
			reason, len(out), out == strings.ToUpper(content))
	}
	if info == nil || info.Name != "notes.md" || info.Extension != "txt" {
		t.Errorf("replace: info = %+v, want name notes.md, extension txt", info)
	}

	info, reason, out = upload("plain.txt", "keep me")
	if reason != "" || out != "" {
		t.Errorf("pass-through: reason %q, output %q; want neither", reason, out)
	}
	if info != nil && (info.Name != "plain.txt" || info.Extension != "txt") {
		t.Errorf("pass-through: info = %+v, want nil or the original", info)
	}
}

func TestPluginHTTPBetweenPythonPluginsStreamsBothWays(t *testing.T) {
	h := harness.New(t)
	activateStreamsPlugin(t, h, streamsID, "plain.py")
	activateStreamsPlugin(t, h, "com.example.caller", "caller.py")
	const size = 16 << 20
	req := httptest.NewRequest(http.MethodGet, "/relay?target="+streamsID, nil)
	req.Header.Set("X-Size", strconv.Itoa(size))
	resp := h.ServeHTTP("com.example.caller", req)
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("relay = %d %s", resp.StatusCode, raw)
	}
	var result map[string]any
	if err := json.Unmarshal(raw, &result); err != nil {
		t.Fatalf("relay answer %s: %v", raw, err)
	}
	want := fmt.Sprintf("%d %s", size, patternDigest(size))
	for key, value := range map[string]any{
		"upload_status": 200.0, "upload_answer": want, "source_plugin": "com.example.caller",
		"download_status": 200.0, "download_answer": want,
	} {
		if result[key] != value {
			t.Errorf("%s = %v, want %v", key, result[key], value)
		}
	}
}

func TestPluginHTTPFromPythonToGo(t *testing.T) {
	h := harness.New(t)
	manifest, _, err := model.FindManifest("../harness/testdata/goplugin")
	if err != nil {
		t.Fatal(err)
	}
	h.Install(harness.Bundle{Manifest: manifest, Executable: harness.BuildBinary(t, "github.com/mmplugin/mmplugin/internal/harness/testdata/goplugin")})
	if err := h.Activate(manifest.Id); err != nil {
		t.Fatalf("activate the Go plugin: %v", err)
	}
	activateStreamsPlugin(t, h, "com.example.caller", "caller.py")
	req := httptest.NewRequest(http.MethodPost, "/go?target="+manifest.Id, strings.NewReader("from python"))
	resp := h.ServeHTTP("com.example.caller", req)
	raw, _ := io.ReadAll(resp.Body)
	var result map[string]any
	if err := json.Unmarshal(raw, &result); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("go relay = %d %s (%v)", resp.StatusCode, raw, err)
	}
	for key, value := range map[string]any{"put_status": 204.0, "get_status": 200.0, "value": "from python", "missing_status": 404.0} {
		if result[key] != value {
			t.Errorf("%s = %v, want %v (answer %s)", key, result[key], value, raw)
		}
	}
	if got, _ := h.Server().NewPluginAPI(manifest).KVGet("relayed"); string(got) != "from python" {
		t.Errorf("the Go plugin's KV holds %q, want the value Python sent", got)
	}
}
