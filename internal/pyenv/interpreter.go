package pyenv

import (
	"github.com/mmplugin/mmplugin/internal/execenv"

	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PythonEnvVar names the variable an admin sets to choose the Python (shared with the supervisor).
const PythonEnvVar = "MMPLUGIN_PYTHON"

// base is a Python found on the server, able to create the venv.
type base struct {
	path    string // as run (absolute)
	real    string // symlinks resolved: identifies the interpreter in the venv key
	source  string // where it was found, for messages
	version string // "3.11.7"
	minor   string // "3.11"
}

const probeTimeout = 20 * time.Second

// probeScript prints the version and implementation, then checks the venv module.
const probeScript = `import sys
print("%d.%d.%d" % tuple(sys.version_info[:3]))
print(sys.implementation.name)
import venv
print("venv-ok")
`

func probe(ctx context.Context, path, source string, env []string) (base, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-I", "-c", probeScript)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	lines := strings.Fields(string(out))
	if len(lines) < 2 {
		detail := strings.TrimSpace(stderr.String())
		if detail == "" && err != nil {
			detail = err.Error()
		}
		return base{}, fmt.Errorf("cannot run the Python at %s (%s): %s", path, source, tail(detail, 3))
	}
	b := base{path: path, source: source, version: lines[0]}
	if parts := strings.Split(b.version, "."); len(parts) >= 2 {
		b.minor = parts[0] + "." + parts[1]
	}
	if lines[1] != "cpython" {
		return base{}, fmt.Errorf("the Python at %s (%s) is %s, not CPython: the bundle's wheels "+
			"are built for CPython; point %s at a CPython", path, source, lines[1], PythonEnvVar)
	}
	if len(lines) < 3 || lines[2] != "venv-ok" {
		return base{}, fmt.Errorf("the Python %s at %s (%s) has no venv module: install it "+
			"(Debian/Ubuntu: apt install python%s-venv) or point %s at another Python",
			b.version, path, source, b.minor, PythonEnvVar)
	}
	if b.real, err = filepath.EvalSymlinks(path); err != nil {
		b.real = path
	}
	return b, nil
}

// RuntimeSource names a Python found in the bundle itself, in messages.
const RuntimeSource = "the bundle's Python runtime"

// pickInterpreter finds the Python to build the venv with and the target it fits.
//
// Options.Python (the caller's explicit choice) comes first; then the bundle's own runtime for
// this platform (props.python.runtimes), which is preferred over anything installed on the
// server: the author tested with it and it is the only Python on servers without one (the
// official Docker image). An interpreter named explicitly (props.python.interpreter,
// $MMPLUGIN_PYTHON) must fit a bundled target: skipping it silently would hide the admin's or
// author's choice. Otherwise PATH is searched for python3.X of each bundled version, newest
// first, then python3.
func pickInterpreter(ctx context.Context, o *Options, targets []Target) (base, Target, error) {
	byMinor := map[string]Target{}
	var minors []string
	for _, t := range targets {
		if t.Platform == o.Platform {
			byMinor[t.Python] = t
			minors = append(minors, t.Python)
		}
	}
	slices.SortFunc(minors, compareMinor)
	slices.Reverse(minors)

	explicit := []struct{ path, source string }{}
	if o.Python != "" {
		explicit = append(explicit, struct{ path, source string }{o.Python, "the host's setting"})
	} else if rt, ok := o.Settings.RuntimeFor(o.Platform); ok {
		return bundledRuntime(ctx, o, rt, byMinor)
	}
	if o.Settings.Interpreter != "" {
		p := o.Settings.Interpreter
		if !filepath.IsAbs(p) && strings.ContainsRune(p, filepath.Separator) {
			p = filepath.Join(o.PluginDir, p)
		}
		explicit = append(explicit, struct{ path, source string }{p, "props.python.interpreter"})
	}
	if v, ok := execenv.Lookup(o.Env, PythonEnvVar); ok && v != "" {
		explicit = append(explicit, struct{ path, source string }{v, "$" + PythonEnvVar})
	}
	pathEnv, _ := execenv.Lookup(o.Env, "PATH")
	if len(explicit) > 0 {
		c := explicit[0]
		path, err := execenv.Find(c.path, pathEnv)
		if err != nil {
			return base{}, Target{}, fmt.Errorf("the Python set by %s (%s) cannot be used: %w", c.source, c.path, err)
		}
		b, err := probe(ctx, path, c.source, o.childEnv())
		if err != nil {
			return base{}, Target{}, err
		}
		if t, ok := byMinor[b.minor]; ok {
			return b, t, nil
		}
		return base{}, Target{}, mismatch(targets, o.Platform, []base{b})
	}

	var found []base
	var problems []string
	seen := map[string]bool{}
	names := make([]string, 0, len(minors)+1)
	for _, m := range minors {
		names = append(names, "python"+m)
	}
	names = append(names, "python3")
	for _, name := range names {
		path, err := execenv.Find(name, pathEnv)
		if err != nil {
			continue
		}
		b, err := probe(ctx, path, "PATH", o.childEnv())
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if seen[b.real] {
			continue
		}
		seen[b.real] = true
		if t, ok := byMinor[b.minor]; ok {
			return b, t, nil
		}
		found = append(found, b)
	}
	if len(found) == 0 {
		why := ""
		if len(problems) > 0 {
			why = " (" + strings.Join(problems, "; ") + ")"
		}
		return base{}, Target{}, fmt.Errorf("no Python found: looked for %s on PATH (%s) for the "+
			"bundle's targets %s%s; install one of them on the server, set %s, or bundle a Python "+
			"with the plugin ('mmplugin bundle --python-runtime PATH'; see "+
			"docs/deploy-docker-kubernetes.md)",
			strings.Join(names, ", "), pathEnv, describeTargets(targets), why, PythonEnvVar)
	}
	return base{}, Target{}, mismatch(targets, o.Platform, found)
}

// bundledRuntime probes the runtime shipped in the bundle for this platform. It must work and
// match its declared version and a target: the bundle is then broken, and the error says so.
func bundledRuntime(ctx context.Context, o *Options, rt Runtime, byMinor map[string]Target) (base, Target, error) {
	path, err := inside(o.PluginDir, rt.Executable)
	if err != nil {
		return base{}, Target{}, err
	}
	if err := execenv.IsExecutable(path); err != nil {
		return base{}, Target{}, fmt.Errorf("%s for %s (%s) cannot be run: %v; rebuild the "+
			"bundle with 'mmplugin bundle --python-runtime' and upload it again", RuntimeSource,
			rt.Platform, rt.Executable, err)
	}
	b, err := probe(ctx, path, RuntimeSource, o.childEnv())
	if err != nil {
		return base{}, Target{}, fmt.Errorf("%w (a runtime built for another C library or CPU "+
			"does not start: bundle a python-build-standalone 'install_only' build for %s)", err, rt.Platform)
	}
	t, ok := byMinor[b.minor]
	if !ok || b.minor != rt.Python {
		return base{}, Target{}, fmt.Errorf("%s at %s is Python %s, but the bundle declares %s "+
			"and has wheels for %s: rebuild the bundle", RuntimeSource, rt.Executable, b.version,
			rt.Python, describeTargets(o.Settings.Targets))
	}
	return b, t, nil
}

// mismatch explains that no Python on the server fits the bundle, and how to rebuild it.
func mismatch(targets []Target, platform string, found []base) error {
	var have []string
	for _, b := range found {
		have = append(have, fmt.Sprintf("Python %s (%s)", b.version, b.path))
	}
	minor := found[0].minor
	return fmt.Errorf("this bundle contains wheels for %s; the server has %s on %s; rebuild it "+
		"with 'mmplugin bundle --python %s --platform %s' (keep the other --python/--platform "+
		"values you need), or point %s at a bundled Python version",
		describeTargets(targets), strings.Join(have, ", "), platform, minor, platform, PythonEnvVar)
}

func describeTargets(targets []Target) string {
	parts := make([]string, len(targets))
	for i, t := range targets {
		parts[i] = "cp" + strings.ReplaceAll(t.Python, ".", "") + " " + t.Platform
	}
	return strings.Join(parts, ", ")
}

func compareMinor(a, b string) int {
	var am, an, bm, bn int
	fmt.Sscanf(a, "%d.%d", &am, &an)
	fmt.Sscanf(b, "%d.%d", &bm, &bn)
	if am != bm {
		return am - bm
	}
	return an - bn
}

// tail returns the last n non-empty lines of s.
func tail(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " \r\t"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}
