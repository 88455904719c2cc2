package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmplugin/mmplugin/internal/harness"
)

var (
	profileOp   = flag.String("profile-op", "MessageWillBePosted", "what BenchmarkProfile drives: MessageWillBePosted, ExecuteCommand, KVGet or GetUser (API calls from a hook), hello, download or upload (ServeHTTP, 50 MB)")
	profileFor  = flag.Duration("profile-time", 10*time.Second, "how long BenchmarkProfile drives the Python twin")
	profileLoad = flag.Int("profile-inflight", 1, "calls in flight during BenchmarkProfile")
	profileCmd  = flag.String("profile-cmd", "", "command run during the load with {python} and {host} replaced by the PIDs, e.g. 'py-spy record -o py.svg -d 8 -p {python}' or 'perf record -g -o host.data -p {host} -- sleep 8'")
)

// bigBody is the 50 MB upload of BenchmarkProfile's "upload".
var bigBody = make([]byte, 50<<20)

// BenchmarkProfile drives only the Python twin with one operation for -profile-time, so that a
// profiler can watch its processes (-profile-cmd starts one; the PIDs are printed either way).
// It is how the hot path was profiled for docs/benchmarks.md; `make bench` does not run it.
func BenchmarkProfile(b *testing.B) {
	h := harness.New(b)
	_, pyTwin := installTwins(b, h)
	if err := h.Activate(pyTwin.ID); err != nil {
		b.Fatal(err)
	}
	w := newWorld(b, h)
	c := calls{h.Hooks(pyTwin.ID), w}
	op := map[string]func() error{
		"MessageWillBePosted": c.messageWillBePosted,
		"ExecuteCommand":      c.executeCommand,
		"KVGet":               func() error { _, err := c.apiTimes("KVGet", 100); return err },
		"GetUser":             func() error { _, err := c.apiTimes("GetUser", 100); return err },
		"hello":               c.hello,
		"download":            func() error { return c.download(50 << 20) },
		"upload":              func() error { return c.upload(bigBody) },
	}[*profileOp]
	if op == nil {
		b.Fatalf("unknown -profile-op %q", *profileOp)
	}
	procs, err := PluginProcesses(pyTwin.Exe)
	if err != nil || len(procs) != 2 {
		b.Fatalf("processes of the Python twin: %v %v", procs, err)
	}
	hostPID, pyPID := strconv.Itoa(procs[0].PID), strconv.Itoa(procs[1].PID)
	fmt.Printf("host pid %s, python pid %s\n", hostPID, pyPID)
	runFor(b, *profileLoad, time.Second, op) // warm-up
	var prof *exec.Cmd
	if *profileCmd != "" {
		args := strings.Fields(strings.NewReplacer("{python}", pyPID, "{host}", hostPID).Replace(*profileCmd))
		prof = exec.Command(args[0], args[1:]...)
		prof.Stdout, prof.Stderr = os.Stdout, os.Stderr
		if err := prof.Start(); err != nil {
			b.Fatal(err)
		}
	}
	pids := []int{os.Getpid(), procs[0].PID, procs[1].PID}
	var before [3]time.Duration
	for i, pid := range pids {
		before[i], _ = CPUTime(pid)
	}
	n, el := runFor(b, *profileLoad, *profileFor, op)
	for i, name := range []string{"server (this process)", "mmplugin-host", "python"} {
		after, _ := CPUTime(pids[i])
		fmt.Printf("CPU %s: %.0f%% of one core, %s per call\n", name, 100*float64(after-before[i])/float64(el), Micros((after-before[i])/time.Duration(max(n, 1))))
	}
	fmt.Printf("%s, %d in flight: %d calls in %s = %.0f/s\n", *profileOp, *profileLoad, n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	if prof != nil {
		if err := prof.Wait(); err != nil {
			b.Errorf("%s: %v", *profileCmd, err)
		}
	}
}

// BenchmarkLegs splits the Python twin's round trips: the full path through the Environment
// and mmplugin-host, against the leg between host and Python alone on the calls socket (hooks:
// host → Python; API calls from a hook: Python → host, answered by the in-memory API without
// the netrpc hop).
func BenchmarkLegs(b *testing.B) {
	if v := os.Getenv("BENCH_HOST_GOMAXPROCS"); v != "" {
		os.Setenv("GOMAXPROCS", v) // inherited by the plugin processes started from now on
	}
	h := harness.New(b)
	_, pyTwin := installTwins(b, h)
	if err := h.Activate(pyTwin.ID); err != nil {
		b.Fatal(err)
	}
	w := newWorld(b, h)
	full := calls{h.Hooks(pyTwin.ID), w}
	direct := calls{directPython(b, h), w}
	n := *samplesFlag
	p := measurePair(b, "MessageWillBePosted: host ⇄ Python leg (Go column) vs full path (Python column)", n/10, n, direct.messageWillBePosted, full.messageWillBePosted)
	fmt.Printf("host ⇄ Python leg p50 %s p99 %s; full p50 %s p99 %s\n", Micros(p.Go.P50), Micros(p.Go.P99), Micros(p.Py.P50), Micros(p.Py.P99))
	p = measurePair(b, "ExecuteCommand: host ⇄ Python leg vs full", n/10, n, direct.executeCommand, full.executeCommand)
	fmt.Printf("ExecuteCommand host ⇄ Python leg p50 %s p99 %s; full p50 %s p99 %s\n", Micros(p.Go.P50), Micros(p.Go.P99), Micros(p.Py.P50), Micros(p.Py.P99))
	// API calls from a hook, timed in the plugin: Python → host (calls socket) → memapi directly,
	// against the full path where the host forwards the call to the server over netrpc.
	for _, method := range []string{"KVGet", "GetUser"} {
		for _, c := range []calls{direct, full} {
			if _, err := c.apiTimes(method, n/10); err != nil {
				b.Fatal(err)
			}
		}
		dt, err := direct.apiTimes(method, n)
		if err != nil {
			b.Fatal(err)
		}
		ft, err := full.apiTimes(method, n)
		if err != nil {
			b.Fatal(err)
		}
		ds, fs := Summarize(dt), Summarize(ft)
		fmt.Printf("%s from a hook: host ⇄ Python leg p50 %s p99 %s; full p50 %s p99 %s\n", method, Micros(ds.P50), Micros(ds.P99), Micros(fs.P50), Micros(fs.P99))
	}
}
