package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmplugin/mmplugin/internal/harness"
)

// TestTwinsDoTheSameWork runs every benchmarked operation once on both twins through the
// harness and checks their answers: the benchmark compares like with like only while the twins
// behave the same. It also checks the measuring tools (process tree, ping-pong) on real
// processes. Nothing is timed.
func TestTwinsDoTheSameWork(t *testing.T) {
	h := harness.New(t)
	goTwin, pyTwin := installTwins(t, h)
	asyncTwin := installAsyncTwin(t, h)
	w := newWorld(t, h)
	for _, tw := range []twin{goTwin, pyTwin, asyncTwin} {
		t.Run(tw.Name, func(t *testing.T) {
			if err := h.Activate(tw.ID); err != nil {
				t.Fatalf("activate: %v", err)
			}
			defer h.Deactivate(tw.ID)
			c := calls{hooks: h.Hooks(tw.ID), w: w}
			for name, op := range map[string]func() error{
				"MessageWillBePosted":  c.messageWillBePosted,
				"MessageHasBeenPosted": c.messageHasBeenPosted,
				"ExecuteCommand":       c.executeCommand,
				"GET /hello":           c.hello,
				"POST /upload 1 MiB":   func() error { return c.upload(bytes.Repeat([]byte("u"), 1<<20)) },
				"GET /download 1 MiB":  func() error { return c.download(1<<20 + 3) },
			} {
				if err := op(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			for _, method := range []string{"KVGet", "GetUser", "CreatePost"} {
				times, err := c.apiTimes(method, 3)
				if err != nil {
					t.Errorf("%s: %v", method, err)
					continue
				}
				for _, d := range times {
					if d <= 0 {
						t.Errorf("%s: the plugin reported a non-positive duration %v", method, d)
					}
				}
			}
			if _, err := c.command("/bench NoSuchMethod 3"); err == nil || !strings.Contains(err.Error(), "unknown API method") {
				t.Errorf("an unknown method: error %v, want one naming it", err)
			}
			procs, err := PluginProcesses(tw.Exe)
			if err != nil {
				t.Fatal(err)
			}
			want := 1 // the Go plugin process; the Python twin adds mmplugin-host and Python
			if tw.ID != goID {
				want = 2
			}
			if len(procs) != want {
				t.Fatalf("processes of %s: %+v, want %d", tw.Name, procs, want)
			}
			for _, p := range procs {
				if p.RSS <= 0 || p.HWM < p.RSS {
					t.Errorf("process %+v: want RSS > 0 and peak ≥ RSS", p)
				}
			}
		})
	}
	h.WaitAsync()
	posts, appErr := h.API().GetPostsForChannel(w.channel.Id, 0, 100)
	must(t, appErr)
	// Each twin created 3 posts through CreatePost, and each upper-cased them on the way in.
	if len(posts.Order) != 9 {
		t.Fatalf("channel has %d posts, want the 9 the twins created", len(posts.Order))
	}
	for _, p := range posts.Posts {
		if p.Message != "BENCH" {
			t.Errorf("post %q: want the MessageWillBePosted of the active twin to upper-case it", p.Message)
		}
	}
}

func TestPingPongEchoesThroughAChildProcess(t *testing.T) {
	samples, err := PingPong(os.Args[0], 64, 10, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 100 {
		t.Fatalf("got %d samples, want 100", len(samples))
	}
	if s := Summarize(samples); s.P50 <= 0 || s.P99 < s.P50 {
		t.Fatalf("summary %+v: want 0 < p50 ≤ p99", s)
	}
}

func TestUpdateDocKeepsTheProse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := UpdateDoc(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	text := strings.Replace(string(data), "# Benchmarks\n", "# Benchmarks\n\nprose before\n", 1) + "\nprose after\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateDoc(path, "second\n"); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	got := string(data)
	for _, want := range []string{"prose before", "prose after", BeginMarker + "\nsecond\n" + EndMarker} {
		if !strings.Contains(got, want) {
			t.Errorf("updated doc lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "first") {
		t.Errorf("the old section survived:\n%s", got)
	}
}
