package supervisor

import (
	"github.com/mmplugin/mmplugin/internal/execenv"

	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Interpreter is the Python executable chosen for a plugin, with what the probe found.
type Interpreter struct {
	Path    string    // absolute path of the executable
	Source  string    // where it was found, e.g. "the bundle's venv"
	Version pyVersion // e.g. 3.11.7
	SDK     string    // mmplugin version importable by it
}

// VersionString is e.g. "3.11.7".
func (i Interpreter) VersionString() string { return i.Version.String() }

// probeTimeout bounds the version probe: a Python that cannot print its version in this time
// will not start a plugin either.
const probeTimeout = 20 * time.Second

// probeScript prints the version first (so a too-old Python is still reported as such), then
// whether the SDK can be imported the way "-m mmplugin._runtime" will import it.
const probeScript = `import sys
print("%d.%d.%d" % tuple(sys.version_info[:3]))
try:
    import mmplugin, mmplugin._runtime
    print("mmplugin " + mmplugin.__version__)
except Exception as e:
    print("no-mmplugin %s: %s" % (type(e).__name__, e))
`

type candidate struct {
	path   string // as configured; may be relative or a bare name
	source string // human description
}

// findInterpreter picks the interpreter (bundle venv, props.python.interpreter, $MMPLUGIN_PYTHON,
// python3 on PATH: the first that exists) and checks its version against the SDK minimum and the
// plugin's requires_python. A Python that exists but does not fit is an error, not a reason to
// try the next: the order is the admin's and the author's, and silently skipping would hide it.
func findInterpreter(ctx context.Context, pluginDir string, settings PythonSettings, env []string) (Interpreter, error) {
	var looked []string
	var cands []candidate
	cands = append(cands, candidate{filepath.Join(pluginDir, "venv", "bin", "python3"), "the bundle's venv"})
	if settings.Interpreter != "" {
		p := settings.Interpreter
		if !filepath.IsAbs(p) && strings.ContainsRune(p, filepath.Separator) {
			p = filepath.Join(pluginDir, p)
		}
		cands = append(cands, candidate{p, "props.python.interpreter"})
	}
	if v, ok := execenv.Lookup(env, PythonEnvVar); ok && v != "" {
		cands = append(cands, candidate{v, "$" + PythonEnvVar})
	} else {
		looked = append(looked, "$"+PythonEnvVar+" (not set)")
	}
	pathEnv, _ := execenv.Lookup(env, "PATH")
	cands = append(cands, candidate{"python3", "PATH"})

	for _, c := range cands {
		path, err := execenv.Find(c.path, pathEnv)
		if err != nil {
			if c.source == "PATH" {
				looked = append(looked, fmt.Sprintf("python3 on PATH (%s)", pathEnv))
			} else {
				looked = append(looked, fmt.Sprintf("%s (%s)", c.path, c.source))
			}
			continue
		}
		return probeInterpreter(ctx, path, c.source, pluginDir, settings, env)
	}
	return Interpreter{}, fmt.Errorf("no Python found (looked in %s); install Python ≥%s or set %s, "+
		"or bundle a Python with the plugin ('mmplugin bundle --python-runtime')",
		strings.Join(looked, ", "), MinPythonVersion.short(), PythonEnvVar)
}

func probeInterpreter(ctx context.Context, path, source, pluginDir string, settings PythonSettings, env []string) (Interpreter, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-I", "-c", probeScript)
	cmd.Dir = pluginDir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	token := ""
	if fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(lines[0]), "Python ")); len(fields) > 0 {
		token = fields[0]
	}
	version, verr := parsePyVersion(token)
	if verr != nil {
		detail := strings.TrimSpace(stderr.String())
		if err != nil && detail == "" {
			detail = err.Error()
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			detail = fmt.Sprintf("it did not answer within %s", probeTimeout)
		}
		return Interpreter{}, fmt.Errorf("cannot run the Python at %s (%s): %s; install Python ≥%s or set %s",
			path, source, lastLines(detail, 3), MinPythonVersion.short(), PythonEnvVar)
	}
	it := Interpreter{Path: path, Source: source, Version: version}

	need := specifier{{op: ">=", release: MinPythonVersion[:2], text: ">=" + MinPythonVersion.short()}}
	if settings.RequiresPython != "" {
		spec, err := parseSpecifier(settings.RequiresPython)
		if err != nil {
			return Interpreter{}, fmt.Errorf("props.python.requires_python in plugin.json: %w", err)
		}
		need = append(spec, need...)
	}
	if c, failing := need.firstFailing(version); failing {
		if c.tooOld(version) {
			return Interpreter{}, fmt.Errorf("Python %s at %s is too old: this plugin needs %s",
				version.short(), path, c.text)
		}
		return Interpreter{}, fmt.Errorf("Python %s at %s does not fit this plugin: it needs %s "+
			"(props.python.requires_python)", version, path, need)
	}

	if len(lines) < 2 || !strings.HasPrefix(lines[1], "mmplugin ") {
		why := "it did not say"
		if len(lines) >= 2 {
			why = strings.TrimPrefix(lines[1], "no-mmplugin ")
		}
		return Interpreter{}, fmt.Errorf("the mmplugin package cannot be imported by Python %s at %s (%s): "+
			"bundle a venv with mmplugin in the plugin (venv/), or point %s at a Python that has it",
			version, path, why, PythonEnvVar)
	}
	it.SDK = strings.TrimPrefix(lines[1], "mmplugin ")
	return it, nil
}

// lastLines returns the last n non-empty lines of s, joined with " | ".
func lastLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, " | ")
}
