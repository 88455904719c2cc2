package bench

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmplugin/mmplugin/internal/harness"
)

var (
	outFlag     = flag.String("out", "", "write the results into this Markdown file between the markers (docs/benchmarks.md)")
	samplesFlag = flag.Int("samples", 3000, "timed calls per latency measurement (after a warm-up of a tenth as many)")
	rateFlag    = flag.Duration("rate-time", 2*time.Second, "duration of each throughput run (two runs per twin, interleaved)")
	activations = flag.Int("activations", 5, "timed activations per twin (after one untimed)")
)

// BenchmarkTwins is `make bench`: the Go twin and the Python twin in one harness, every
// measurement interleaved between them so that drift on the shared VM hits both alike. It runs
// its own loops (run it with -benchtime 1x) and prints the table; -out writes it into the doc.
func BenchmarkTwins(b *testing.B) {
	start := time.Now()
	r := &Results{Machine: ThisMachine(venvPython(b))}
	h := harness.New(b)
	goTwin, pyTwin := installTwins(b, h)
	twins := []twin{goTwin, pyTwin}
	n := *samplesFlag
	warm := max(n/10, 10)

	// The floor under everything: two processes, one unix socket, no RPC at all.
	floor, err := PingPong(os.Args[0], 64, warm, 5*n)
	if err != nil {
		b.Fatal(err)
	}
	r.Floor = Summarize(floor)
	b.Logf("floor: %s", Micros(r.Floor.P50))

	// Activation: one untimed round (first start compiles and caches), then timed rounds.
	var act [2][]time.Duration
	for round := range *activations + 1 {
		for i, tw := range twins {
			t0 := time.Now()
			if err := h.Activate(tw.ID); err != nil {
				b.Fatalf("activate %s: %v", tw.Name, err)
			}
			d := time.Since(t0)
			if round > 0 {
				act[i] = append(act[i], d)
			}
			if round == *activations {
				procs, err := PluginProcesses(tw.Exe)
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					r.Go.Idle = procs
				} else {
					r.Py.Idle = procs
				}
			} else {
				h.Deactivate(tw.ID)
			}
		}
	}
	r.Go.Activation, r.Py.Activation = Summarize(act[0]), Summarize(act[1])
	b.Logf("activation: Go %s, Python %s", ms(r.Go.Activation.P50), ms(r.Py.Activation.P50))

	asyncTwin := installAsyncTwin(b, h)
	if err := h.Activate(asyncTwin.ID); err != nil {
		b.Fatalf("activate %s: %v", asyncTwin.Name, err)
	}
	w := newWorld(b, h)
	gc, pc, ac := calls{h.Hooks(goID), w}, calls{h.Hooks(pyID), w}, calls{h.Hooks(pyAsyncID), w}

	// Hook round trips: the server calls the hook and waits for its answer.
	for _, m := range []struct {
		name           string
		go_, py, async func() error
	}{
		{"hook MessageWillBePosted (modify)", gc.messageWillBePosted, pc.messageWillBePosted, ac.messageWillBePosted},
		{"hook MessageHasBeenPosted (no reply)", gc.messageHasBeenPosted, pc.messageHasBeenPosted, ac.messageHasBeenPosted},
		{"hook ExecuteCommand", gc.executeCommand, pc.executeCommand, ac.executeCommand},
	} {
		r.Hooks = append(r.Hooks, measurePair(b, m.name, warm, n, m.go_, m.py, m.async))
	}

	// ServeHTTP round trips and rates.
	r.HTTP = append(r.HTTP, measurePair(b, "ServeHTTP GET /hello (small)", warm, n, gc.hello, pc.hello, ac.hello))
	r.Rates = append(r.Rates, rate("MessageWillBePosted, 64 in flight", "hooks",
		rates(b, 64, gc.messageWillBePosted, pc.messageWillBePosted, ac.messageWillBePosted)))
	hello := r.HTTP[0]
	r.Rates = append(r.Rates, Rate{Name: "ServeHTTP GET /hello, sequential", Unit: "req",
		Go: perSecond(hello.Go.Mean), Py: perSecond(hello.Py.Mean), PyAsync: perSecond(hello.PyAsync.Mean)})
	r.Rates = append(r.Rates, rate("ServeHTTP GET /hello, 16 in flight", "req", rates(b, 16, gc.hello, pc.hello, ac.hello)))
	const big = 50 << 20
	body := bytes.Repeat([]byte("b"), big)
	upload := func(c calls) func() error { return func() error { return c.upload(body) } }
	download := func(c calls) func() error { return func() error { return c.download(big) } }
	r.Rates = append(r.Rates,
		rate("ServeHTTP upload 50 MB (POST body)", "MB", measureBytes(b, 3, big, upload(gc), upload(pc), upload(ac))),
		rate("ServeHTTP download 50 MB (response body)", "MB", measureBytes(b, 3, big, download(gc), download(pc), download(ac))))

	// API calls from inside a hook, timed by the plugin. CreatePost runs every active plugin's
	// MessageWillBePosted, so each twin is measured with the others deactivated.
	all := []twin{goTwin, pyTwin, asyncTwin}
	api := map[string][][]time.Duration{}
	methods := []string{"KVGet", "GetUser", "CreatePost"}
	for i, tw := range all {
		for _, other := range all {
			if other.ID != tw.ID {
				h.Deactivate(other.ID)
			}
		}
		if !h.Env().IsActive(tw.ID) {
			if err := h.Activate(tw.ID); err != nil {
				b.Fatal(err)
			}
		}
		c := calls{h.Hooks(tw.ID), w}
		for _, m := range methods {
			if _, err := c.apiTimes(m, warm); err != nil {
				b.Fatal(err)
			}
			times, err := c.apiTimes(m, n)
			if err != nil {
				b.Fatal(err)
			}
			if api[m] == nil {
				api[m] = make([][]time.Duration, len(all))
			}
			api[m][i] = times
		}
		h.WaitAsync() // the MessageHasBeenPosted hooks the posts started
		if tw.ID == pyAsyncID {
			continue // memory: the same processes as the Python twin
		}
		procs, err := PluginProcesses(tw.Exe)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			r.Go.Loaded = procs
		} else {
			r.Py.Loaded = procs
		}
	}
	for _, m := range methods {
		p := Pair{Name: "API " + m + " from a hook", Go: Summarize(api[m][0]), Py: Summarize(api[m][1]), PyAsync: Summarize(api[m][2])}
		b.Logf("%s: Go %s, Python %s, Python async %s", p.Name, Micros(p.Go.P50), Micros(p.Py.P50), Micros(p.PyAsync.P50))
		r.API = append(r.API, p)
	}

	r.Elapsed = time.Since(start)
	table := r.Markdown()
	fmt.Println()
	fmt.Print(table)
	if *outFlag != "" {
		if err := UpdateDoc(*outFlag, table); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("\nwritten to %s\n", *outFlag)
	}
}

// measure warms every twin up, then times n calls of each in ten interleaved blocks.
func measure(b *testing.B, name string, warm, n int, fns ...func() error) []Summary {
	b.Helper()
	for _, fn := range fns {
		for range warm {
			if err := fn(); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
	}
	samples := make([][]time.Duration, len(fns))
	const blocks = 10
	for blk := range blocks {
		for i, fn := range fns {
			for range n/blocks + boolInt(blk < n%blocks) {
				t0 := time.Now()
				if err := fn(); err != nil {
					b.Fatalf("%s: %v", name, err)
				}
				samples[i] = append(samples[i], time.Since(t0))
			}
		}
	}
	out := make([]Summary, len(fns))
	var line []string
	for i := range fns {
		out[i] = Summarize(samples[i])
		line = append(line, Micros(out[i].P50)+" / "+Micros(out[i].P99))
	}
	b.Logf("%s: %s", name, strings.Join(line, ", "))
	return out
}

// measurePair is measure for the Go twin, the Python twin and, when given, the async one.
func measurePair(b *testing.B, name string, warm, n int, goFn, pyFn func() error, async ...func() error) Pair {
	b.Helper()
	s := measure(b, name, warm, n, append([]func() error{goFn, pyFn}, async...)...)
	p := Pair{Name: name, Go: s[0], Py: s[1]}
	if len(s) > 2 {
		p.PyAsync = s[2]
	}
	return p
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// rates measures calls per second with `inflight` callers for each twin: a short warm-up, then
// two interleaved runs of -rate-time each.
func rates(b *testing.B, inflight int, fns ...func() error) []float64 {
	b.Helper()
	calls := make([]int64, len(fns))
	spent := make([]time.Duration, len(fns))
	for run := range 3 {
		for i, fn := range fns {
			d := *rateFlag
			if run == 0 {
				d /= 4 // warm-up
			}
			c, el := runFor(b, inflight, d, fn)
			if run > 0 {
				calls[i] += c
				spent[i] += el
			}
		}
	}
	out := make([]float64, len(fns))
	for i := range fns {
		out[i] = float64(calls[i]) / spent[i].Seconds()
	}
	return out
}

// runFor keeps `inflight` goroutines calling fn until d has passed; it returns the calls
// completed and the time until the last one returned.
func runFor(b *testing.B, inflight int, d time.Duration, fn func() error) (int64, time.Duration) {
	var count atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := fn(); err != nil {
					failed.Store(err)
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return count.Load(), time.Since(start)
}

// measureBytes times `runs` transfers of size bytes per twin (interleaved, after one warm-up
// each) and returns the median rate of each in MB/s (10^6 bytes).
func measureBytes(b *testing.B, runs, size int, fns ...func() error) []float64 {
	b.Helper()
	times := make([][]time.Duration, len(fns))
	for run := range runs + 1 {
		for i, fn := range fns {
			t0 := time.Now()
			if err := fn(); err != nil {
				b.Fatal(err)
			}
			if run > 0 {
				times[i] = append(times[i], time.Since(t0))
			}
		}
	}
	out := make([]float64, len(fns))
	for i := range fns {
		out[i] = float64(size) / 1e6 / Summarize(times[i]).P50.Seconds()
	}
	return out
}

// rate builds a Rate from rates/measureBytes results in twin order (Go, Python, Python async).
func rate(name, unit string, v []float64) Rate {
	return Rate{Name: name, Unit: unit, Go: v[0], Py: v[1], PyAsync: v[2]}
}

func perSecond(mean time.Duration) float64 {
	if mean <= 0 {
		return 0
	}
	return float64(time.Second) / float64(mean)
}
