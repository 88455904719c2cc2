package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Pair is one measurement of both twins, and of the Python twin with async def handlers when
// PyAsync.N > 0.
type Pair struct {
	Name            string
	Go, Py, PyAsync Summary
}

// Rate is one throughput measurement of both twins, in Unit per second (PyAsync: 0 = not
// measured).
type Rate struct {
	Name            string
	Unit            string
	Go, Py, PyAsync float64
}

// Footprint is the activation time and the processes of one twin.
type Footprint struct {
	Activation Summary
	Idle       []Process // right after activation
	Loaded     []Process // after the workload (HWM = peak over the run)
}

// Results is everything one run measured.
type Results struct {
	Machine Machine
	Floor   Summary // raw unix-socket ping-pong between two processes
	Hooks   []Pair  // hook round trips, server → plugin → server
	API     []Pair  // API calls from inside a hook, timed in the plugin
	HTTP    []Pair  // ServeHTTP round trips
	Rates   []Rate
	Go, Py  Footprint
	Elapsed time.Duration
}

// Machine describes where the numbers were taken.
type Machine struct {
	Date      time.Time
	CPUs      int
	CPUModel  string
	Memory    string
	Kernel    string
	GoVersion string
	Python    string
}

// ThisMachine reads the machine's description from /proc and the Python interpreter python.
func ThisMachine(python string) Machine {
	m := Machine{Date: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		m.Memory = fmt.Sprintf("%.1f GiB", float64(parseKB(kb))/(1<<30))
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command(python, "--version").Output(); err == nil {
		m.Python = strings.TrimSpace(string(out))
	}
	return m
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Goal is one of the targets from the benchmarks issue, checked against Results.
type Goal struct {
	Text string
	Got  string
	Met  bool
}

// Goals checks the targets: hook and API round trips at p50 ≤ 2× the Go plugin's,
// throughput ≥ ½ the Go plugin's, activation < 1 s.
func (r *Results) Goals() []Goal {
	var goals []Goal
	for _, p := range r.Hooks {
		goals = append(goals, ratioGoal(p.Name+": p50 ≤ 2× Go", p))
	}
	for _, p := range r.API {
		goals = append(goals, ratioGoal(p.Name+": p50 ≤ 2× Go", p))
	}
	for _, rt := range r.Rates {
		if rt.Unit != "hooks" {
			continue
		}
		goals = append(goals, Goal{
			Text: rt.Name + ": ≥ ½ Go",
			Got:  Ratio(rt.Py, rt.Go),
			Met:  rt.Go > 0 && rt.Py >= rt.Go/2,
		})
	}
	goals = append(goals, Goal{
		Text: "activation p50 < 1 s (warm venv)",
		Got:  r.Py.Activation.P50.Round(time.Millisecond).String(),
		Met:  r.Py.Activation.N > 0 && r.Py.Activation.P50 < time.Second,
	})
	return goals
}

func ratioGoal(text string, p Pair) Goal {
	return Goal{
		Text: text,
		Got:  Ratio(float64(p.Py.P50), float64(p.Go.P50)),
		Met:  p.Go.P50 > 0 && p.Py.P50 <= 2*p.Go.P50,
	}
}

// Markdown renders the results as the tables of docs/benchmarks.md.
func (r *Results) Markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Measured %s by `make bench` (%s) on %d CPUs (%s), %s memory, Linux %s; %s, %s.\n\n",
		m.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second), m.CPUs, m.CPUModel, m.Memory, m.Kernel, m.GoVersion, m.Python)

	b.WriteString("#### Latency (p50 / p99; ratio = Python p50 / Go p50)\n\n")
	b.WriteString("Python: plain `def` handlers and the blocking `self.api` (what the goals are checked on); " +
		"Python async: the same plugin with `async def` handlers and `self.async_api`.\n\n")
	b.WriteString("| Path | Go p50 | Go p99 | Python p50 | Python p99 | Python/Go | Python async p50 | Python async p99 | async/Go |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| raw floor: unix-socket ping-pong, two processes, 64 B | %s | %s | | | | | | |\n", Micros(r.Floor.P50), Micros(r.Floor.P99))
	for _, group := range [][]Pair{r.Hooks, r.API, r.HTTP} {
		for _, p := range group {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p.Name, Micros(p.Go.P50), Micros(p.Go.P99),
				Micros(p.Py.P50), Micros(p.Py.P99), Ratio(float64(p.Py.P50), float64(p.Go.P50)),
				Micros(p.PyAsync.P50), Micros(p.PyAsync.P99), Ratio(float64(p.PyAsync.P50), float64(p.Go.P50)))
		}
	}

	b.WriteString("\n#### Throughput (Python/Go: higher is better for Python)\n\n")
	b.WriteString("| Path | Go | Python | Python/Go | Python async | async/Go |\n|---|---:|---:|---:|---:|---:|\n")
	for _, rt := range r.Rates {
		async := "–"
		if rt.PyAsync > 0 {
			async = number(rt.PyAsync) + " " + rt.Unit + "/s"
		}
		fmt.Fprintf(&b, "| %s | %s %s/s | %s %s/s | %s | %s | %s |\n", rt.Name, number(rt.Go), rt.Unit, number(rt.Py), rt.Unit,
			Ratio(rt.Py, rt.Go), async, Ratio(rt.PyAsync, rt.Go))
	}

	b.WriteString("\n#### Activation and memory\n\n")
	b.WriteString("Activation: process start to OnActivate returned (`plugin.Environment.Activate`), p50 / p99 of the runs. " +
		"Memory: resident set of every process the plugin adds, right after activation and after the whole run (peak in brackets).\n\n")
	b.WriteString("| | Go plugin | Python plugin | Python/Go |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| activation p50 / p99 (%d runs) | %s / %s | %s / %s | %s |\n", r.Py.Activation.N,
		ms(r.Go.Activation.P50), ms(r.Go.Activation.P99), ms(r.Py.Activation.P50), ms(r.Py.Activation.P99),
		Ratio(float64(r.Py.Activation.P50), float64(r.Go.Activation.P50)))
	goIdle, pyIdle := rss(r.Go.Idle), rss(r.Py.Idle)
	fmt.Fprintf(&b, "| RSS after activation | %s | %s | %s |\n", procList(r.Go.Idle, false), procList(r.Py.Idle, false), Ratio(float64(pyIdle), float64(goIdle)))
	goLoad, pyLoad := rss(r.Go.Loaded), rss(r.Py.Loaded)
	fmt.Fprintf(&b, "| RSS after the run (peak) | %s | %s | %s |\n", procList(r.Go.Loaded, true), procList(r.Py.Loaded, true), Ratio(float64(pyLoad), float64(goLoad)))

	b.WriteString("\n#### Goals\n\n| Goal | Python/Go or value | Met |\n|---|---:|:---:|\n")
	for _, g := range r.Goals() {
		met := "no"
		if g.Met {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.Text, g.Got, met)
	}
	return b.String()
}

func rss(ps []Process) int64 {
	var n int64
	for _, p := range ps {
		n += p.RSS
	}
	return n
}

func procList(ps []Process, peak bool) string {
	if len(ps) == 0 {
		return "–"
	}
	var parts []string
	for _, p := range ps {
		s := p.Name + " " + MiB(p.RSS)
		if peak {
			s += " (" + MiB(p.HWM) + ")"
		}
		parts = append(parts, s)
	}
	total := MiB(rss(ps))
	if len(ps) == 1 {
		return parts[0]
	}
	return strings.Join(parts, " + ") + " = " + total
}

func ms(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func number(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Markers delimit the part of docs/benchmarks.md that `make bench` rewrites.
const (
	BeginMarker = "<!-- make bench: results begin -->"
	EndMarker   = "<!-- make bench: results end -->"
)

// UpdateDoc replaces the text between the markers in the file at path with section, keeping
// everything around it; a file without markers gets them (and section) appended.
func UpdateDoc(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	block := BeginMarker + "\n" + section + EndMarker + "\n"
	text := string(old)
	begin, end := strings.Index(text, BeginMarker), strings.Index(text, EndMarker)
	switch {
	case begin >= 0 && end > begin:
		text = text[:begin] + block + strings.TrimPrefix(text[end+len(EndMarker):], "\n")
	case text == "":
		text = "# Benchmarks\n\n" + block
	default:
		text = strings.TrimRight(text, "\n") + "\n\n" + block
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
