package bench

import (
	"bufio"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mmplugin/mmplugin/internal/harness"
)

var (
	footprintRequests = flag.Int("footprint-requests", 100_000, "ServeHTTP requests to the Python twin while its memory is sampled")
	footprintEvery    = flag.Int("footprint-every", 10_000, "sample the memory every this many requests")
	footprintOp       = flag.String("footprint-op", "http", "what the requests are: http (ServeHTTP GET /hello, a gRPC stream) or hook (MessageWillBePosted, a frame on the calls socket)")
)

const helloID = "com.example.hello"

// BenchmarkFootprint measures the memory of a Python plugin's processes (mmplugin-host and its
// Python child), not asserted anywhere (numbers on the shared VM move):
//
//  1. the example hello plugin (examples/hello) after activation: VmRSS of each process, split
//     into anonymous memory and mapped files (/proc/<pid>/smaps_rollup; file pages such as the
//     grpcio and libpython code are shared between plugins, anonymous ones are not);
//  2. the Python bench twin across -footprint-requests ServeHTTP requests, sampled every
//     -footprint-every: whether either process grows.
//
// GOGC and GOMEMLIMIT in the environment reach the host (try GOGC=50, GOMEMLIMIT=8MiB).
//
//	go test ./bench -run '^$' -bench '^BenchmarkFootprint$' -benchtime 1x
func BenchmarkFootprint(b *testing.B) {
	h := harness.New(b)
	b.Setenv("MMPLUGIN_PYTHON", venvPython(b))
	host := harness.BuildBinary(b, "github.com/mmplugin/mmplugin/cmd/mmplugin-host")
	dir := h.Install(harness.Bundle{
		Manifest: &model.Manifest{
			Id: helloID, Name: "Hello", Version: "0.1.0",
			Server: &model.ManifestServer{Executable: "server/mmplugin-host"},
			Props:  map[string]any{"python": map[string]any{"entry_point": "hello.plugin:HelloPlugin"}},
		},
		Executable: host,
		Files:      packageFiles(b, filepath.Join(repoDir(), "examples", "hello"), "hello"),
	})
	if err := h.Activate(helloID); err != nil {
		b.Fatalf("activate hello: %v", err)
	}
	time.Sleep(2 * time.Second) // let start-up garbage be collected
	procs := footprint(b, filepath.Join(dir, "server", "mmplugin-host"))
	// Printed, not logged: a benchmark's log is cut after ten lines.
	fmt.Printf("examples/hello after activation (GOGC=%q GOMEMLIMIT=%q):\n%s\n", os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"), procs)
	h.Deactivate(helloID)

	_, pyTwin := installTwins(b, h)
	if err := h.Activate(pyTwin.ID); err != nil {
		b.Fatalf("activate the Python twin: %v", err)
	}
	post := &model.Post{Id: model.NewId(), UserId: model.NewId(), ChannelId: model.NewId(), Message: "footprint"}
	c := calls{h.Hooks(pyTwin.ID), world{user: &model.User{Id: model.NewId()}, post: post}}
	op, what := c.hello, "ServeHTTP GET /hello"
	if *footprintOp == "hook" {
		op, what = c.messageWillBePosted, "MessageWillBePosted"
	}
	var samples []string
	sample := func(done int) {
		ps, err := PluginProcesses(pyTwin.Exe)
		if err != nil {
			b.Fatal(err)
		}
		var parts []string
		for _, p := range ps {
			parts = append(parts, fmt.Sprintf("%s %s (%s threads)", p.Name, MiB(p.RSS), statusField(p.PID, "Threads")))
		}
		samples = append(samples, fmt.Sprintf("  %7d requests: %s", done, strings.Join(parts, ", ")))
	}
	sample(0)
	start := time.Now()
	for i := 1; i <= *footprintRequests; i++ {
		if err := op(); err != nil {
			b.Fatal(err)
		}
		if i%*footprintEvery == 0 {
			sample(i)
		}
	}
	fmt.Printf("Python twin, RSS across %d %s (%s):\n%s\n", *footprintRequests, what,
		time.Since(start).Round(time.Second), strings.Join(samples, "\n"))
}

// packageFiles reads the plugin package pkg below dir (no caches) as harness.Bundle files.
func packageFiles(tb testing.TB, dir, pkg string) map[string][]byte {
	tb.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(dir, pkg), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".py") {
			rel, _ := filepath.Rel(dir, path)
			files[rel] = readFile(tb, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// footprint describes each process under exe: RSS, anonymous and file-backed parts.
func footprint(tb testing.TB, exe string) string {
	tb.Helper()
	ps, err := PluginProcesses(exe)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	var total int64
	for _, p := range ps {
		roll := smapsRollup(p.PID)
		fmt.Fprintf(&b, "  %-14s RSS %s (anonymous %s, files %s; PSS %s; %s threads)\n", p.Name, MiB(p.RSS),
			MiB(roll["Anonymous"]), MiB(roll["Rss"]-roll["Anonymous"]), MiB(roll["Pss"]), statusField(p.PID, "Threads"))
		total += p.RSS
	}
	fmt.Fprintf(&b, "  total RSS %s", MiB(total))
	return b.String()
}

// statusField is one field of /proc/<pid>/status, as written there ("?" when unreadable).
func statusField(pid int, name string) string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if key, value, ok := strings.Cut(line, ":"); ok && key == name {
			return strings.TrimSpace(value)
		}
	}
	return "?"
}

// smapsRollup reads /proc/<pid>/smaps_rollup in bytes (empty when unavailable).
func smapsRollup(pid int) map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if key, value, ok := strings.Cut(sc.Text(), ":"); ok {
			out[key] = parseKB(value)
		}
	}
	return out
}
