package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Process is one process a plugin added, with its memory from /proc/<pid>/status.
type Process struct {
	PID  int
	Name string // the executable's base name (the interpreter for Python)
	// RSS is the resident set size now, HWM its peak over the process's life (VmHWM).
	RSS, HWM int64
}

// PluginProcesses returns the process whose executable is exe (a plugin's server binary, which
// the harness copies into the plugin's own directory, so the path is unique to the plugin) and
// all its descendants: every process the plugin adds to the server. Linux only (/proc).
func PluginProcesses(exe string) ([]Process, error) {
	want, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w (memory is measured through Linux's /proc)", err)
	}
	children := map[int][]int{}
	root := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentPID(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
		if path, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && path == want {
			root = pid
		}
	}
	if root == 0 {
		return nil, fmt.Errorf("no running process has the executable %s (is the plugin active?)", want)
	}
	var out []Process
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		p, err := readProcess(pid)
		if err != nil {
			continue // exited meanwhile
		}
		out = append(out, p)
		queue = append(queue, children[pid]...)
	}
	return out, nil
}

// parentPID reads PPid from /proc/<pid>/stat (field 4, after the parenthesised command name,
// which may itself contain spaces and parentheses).
func parentPID(pid int) (int, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

func readProcess(pid int) (Process, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return Process{}, err
	}
	defer f.Close()
	p := Process{PID: pid}
	if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err == nil {
		p.Name = filepath.Base(exe)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "VmRSS":
			p.RSS = parseKB(value)
		case "VmHWM":
			p.HWM = parseKB(value)
		case "Name":
			if p.Name == "" {
				p.Name = strings.TrimSpace(value)
			}
		}
	}
	return p, sc.Err()
}

// parseKB parses "  12345 kB" into bytes.
func parseKB(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "kB")), 10, 64)
	return n * 1024
}

// MiB formats bytes as mebibytes with one decimal.
func MiB(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// CPUTime is the user+system CPU time a process has used so far (from /proc/<pid>/stat, in
// clock ticks of 10 ms on Linux), for telling which process a workload keeps busy.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// After the command: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}
