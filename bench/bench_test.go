package bench

import (
	"bytes"
	"flag"
	"fmt"
	"os"
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

	w := newWorld(b, h)
	gc, pc := calls{h.Hooks(goID), w}, calls{h.Hooks(pyID), w}

	// Hook round trips: the server calls the hook and waits for its answer.
	for _, m := range []struct {
		name    string
		go_, py func() error
	}{
		{"hook MessageWillBePosted (modify)", gc.messageWillBePosted, pc.messageWillBePosted},
		{"hook MessageHasBeenPosted (no reply)", gc.messageHasBeenPosted, pc.messageHasBeenPosted},
		{"hook ExecuteCommand", gc.executeCommand, pc.executeCommand},
	} {
		r.Hooks = append(r.Hooks, measurePair(b, m.name, warm, n, m.go_, m.py))
	}

	// ServeHTTP round trips and rates.
	r.HTTP = append(r.HTTP, measurePair(b, "ServeHTTP GET /hello (small)", warm, n, gc.hello, pc.hello))
	goRate, pyRate := ratePair(b, 64, gc.messageWillBePosted, pc.messageWillBePosted)
	r.Rates = append(r.Rates, Rate{Name: "MessageWillBePosted, 64 in flight", Unit: "hooks", Go: goRate, Py: pyRate})
	r.Rates = append(r.Rates, Rate{Name: "ServeHTTP GET /hello, sequential", Unit: "req",
		Go: perSecond(r.HTTP[0].Go.Mean), Py: perSecond(r.HTTP[0].Py.Mean)})
	goRate, pyRate = ratePair(b, 16, gc.hello, pc.hello)
	r.Rates = append(r.Rates, Rate{Name: "ServeHTTP GET /hello, 16 in flight", Unit: "req", Go: goRate, Py: pyRate})
	const big = 50 << 20
	body := bytes.Repeat([]byte("b"), big)
	up := measureBytes(b, 3, big, func() error { return gc.upload(body) }, func() error { return pc.upload(body) })
	down := measureBytes(b, 3, big, func() error { return gc.download(big) }, func() error { return pc.download(big) })
	r.Rates = append(r.Rates,
		Rate{Name: "ServeHTTP upload 50 MB (POST body)", Unit: "MB", Go: up[0], Py: up[1]},
		Rate{Name: "ServeHTTP download 50 MB (response body)", Unit: "MB", Go: down[0], Py: down[1]})

	// API calls from inside a hook, timed by the plugin. CreatePost runs every active plugin's
	// MessageWillBePosted, so each twin is measured with the other one deactivated.
	api := map[string][2][]time.Duration{}
	methods := []string{"KVGet", "GetUser", "CreatePost"}
	for i, tw := range twins {
		other := twins[1-i]
		h.Deactivate(other.ID)
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
			pair := api[m]
			pair[i] = times
			api[m] = pair
		}
		h.WaitAsync() // the MessageHasBeenPosted hooks the posts started
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
		p := Pair{Name: "API " + m + " from a hook", Go: Summarize(api[m][0]), Py: Summarize(api[m][1])}
		b.Logf("%s: Go %s, Python %s", p.Name, Micros(p.Go.P50), Micros(p.Py.P50))
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

// measurePair warms both twins up, then times n calls of each in ten interleaved blocks.
func measurePair(b *testing.B, name string, warm, n int, goFn, pyFn func() error) Pair {
	b.Helper()
	fns := [2]func() error{goFn, pyFn}
	for _, fn := range fns {
		for range warm {
			if err := fn(); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
	}
	var samples [2][]time.Duration
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
	p := Pair{Name: name, Go: Summarize(samples[0]), Py: Summarize(samples[1])}
	b.Logf("%s: Go %s / %s, Python %s / %s", name, Micros(p.Go.P50), Micros(p.Go.P99), Micros(p.Py.P50), Micros(p.Py.P99))
	return p
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// ratePair measures calls per second with `inflight` callers for each twin: a short warm-up,
// then two interleaved runs of -rate-time each.
func ratePair(b *testing.B, inflight int, goFn, pyFn func() error) (goRate, pyRate float64) {
	b.Helper()
	fns := [2]func() error{goFn, pyFn}
	var calls [2]int64
	var spent [2]time.Duration
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
	return float64(calls[0]) / spent[0].Seconds(), float64(calls[1]) / spent[1].Seconds()
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
// each) and returns the median rate in MB/s (10^6 bytes).
func measureBytes(b *testing.B, runs, size int, goFn, pyFn func() error) [2]float64 {
	b.Helper()
	fns := [2]func() error{goFn, pyFn}
	var times [2][]time.Duration
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
	var out [2]float64
	for i := range fns {
		out[i] = float64(size) / 1e6 / Summarize(times[i]).P50.Seconds()
	}
	return out
}

func perSecond(mean time.Duration) float64 {
	if mean <= 0 {
		return 0
	}
	return float64(time.Second) / float64(mean)
}
