package pyenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// withRuntime puts a "bundled runtime" into the fixture's plugin directory: a link to the
// machine's real interpreter at python/runtime/<platform>/bin/python3.X (a link only here; a
// real bundle ships the files, tested end to end in e2e/tests/test_no_system_python.py).
func (fx *fixture) withRuntime(t *testing.T, declared string) string {
	t.Helper()
	python, _ := machinePython(t)
	out, err := exec.Command(python, "-c", "import os, sys; print(os.path.realpath(sys.executable))").Output()
	if err != nil {
		t.Fatal(err)
	}
	platform := runtime.GOOS + "-" + runtime.GOARCH
	rel := "python/runtime/" + platform + "/bin/python" + declared
	exe := filepath.Join(fx.dir, rel)
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(strings.TrimSpace(string(out)), exe); err != nil {
		t.Fatal(err)
	}
	fx.settings.Runtimes = []Runtime{{Platform: platform, Python: declared, Executable: rel}}
	return exe
}

// noPythonOnServer is a server environment where neither PATH nor $MMPLUGIN_PYTHON gives a Python.
var noPythonOnServer = []string{"PATH=" + os.DevNull + "-nothing", "MMPLUGIN_PYTHON=/nonexistent/python3", "LANG=C.UTF-8"}

func TestPrepareBuildsTheVenvWithTheBundledRuntime(t *testing.T) {
	fx := newFixture(t)
	exe := fx.withRuntime(t, fx.minor)
	o := fx.options()
	o.Env = noPythonOnServer
	res, err := Prepare(context.Background(), o)
	if err != nil {
		t.Fatalf("Prepare with a bundled runtime and no Python on the server: %v", err)
	}
	if res.BasePython != exe {
		t.Errorf("venv built with %s, want the bundled runtime %s", res.BasePython, exe)
	}
	if got := fx.importedVersion(t); got != "1.0" {
		t.Errorf("tinypkg in the venv = %q, want 1.0", got)
	}
	cfg, err := os.ReadFile(filepath.Join(fx.dir, "venv", "pyvenv.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "home = " + filepath.Dir(exe); !strings.Contains(string(cfg), want) {
		t.Errorf("pyvenv.cfg does not point at the bundled runtime (%q):\n%s", want, cfg)
	}
}

func TestTheBundledRuntimeMustWorkAndMatch(t *testing.T) {
	fx := newFixture(t)
	fx.withRuntime(t, "3.99") // the file is the machine's Python, declared as another version
	fx.settings.Targets = append(fx.settings.Targets, Target{Python: "3.99", Platform: fx.settings.Targets[0].Platform, Lock: "python/locks/cp399.txt"})
	o := fx.options()
	o.Env = noPythonOnServer
	_, err := Prepare(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "the bundle's Python runtime") || !strings.Contains(err.Error(), "declares 3.99") {
		t.Errorf("a runtime of another version than declared: err = %v", err)
	}

	fx = newFixture(t)
	fx.settings.Runtimes = []Runtime{{Platform: fx.settings.Targets[0].Platform, Python: fx.minor, Executable: "python/runtime/bin/python3"}}
	o = fx.options()
	o.Env = noPythonOnServer
	_, err = Prepare(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "cannot be run") || !strings.Contains(err.Error(), "--python-runtime") {
		t.Errorf("a missing runtime file: err = %v", err)
	}
}

func TestNoPythonAtAllSaysHowToBundleOne(t *testing.T) {
	fx := newFixture(t)
	o := fx.options()
	o.Env = []string{"PATH=" + os.DevNull + "-nothing"}
	_, err := Prepare(context.Background(), o)
	if err == nil {
		t.Fatal("Prepare found a Python on an empty PATH")
	}
	for _, want := range []string{"no Python found", "python" + fx.minor + ", python3", "MMPLUGIN_PYTHON", "mmplugin bundle --python-runtime"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestRuntimeSettings(t *testing.T) {
	props := func(runtimes ...any) map[string]any {
		return map[string]any{"python": map[string]any{
			"wheelhouse": "python/wheels",
			"installer":  map[string]any{"wheel": "python/wheels/pip.whl", "sha256": strings.Repeat("b", 64)},
			"targets":    []any{map[string]any{"python": "3.11", "platform": "linux-amd64", "lock": "python/locks/a.txt"}},
			"runtimes":   runtimes,
		}}
	}
	amd := map[string]any{"platform": "linux-amd64", "python": "3.11", "executable": "python/runtime/linux-amd64/bin/python3.11"}
	s, err := SettingsFromProps(props(amd))
	if err != nil {
		t.Fatal(err)
	}
	if rt, ok := s.RuntimeFor("linux-amd64"); !ok || rt.Executable != amd["executable"] {
		t.Errorf("RuntimeFor(linux-amd64) = %+v, %v", rt, ok)
	}
	if _, ok := s.RuntimeFor("linux-arm64"); ok {
		t.Error("RuntimeFor(linux-arm64) found a runtime the bundle does not have")
	}
	for name, bad := range map[string]map[string]any{
		"leaves the plugin directory": {"platform": "linux-amd64", "python": "3.11", "executable": "../python3"},
		"needs platform":              {"platform": "linux-amd64", "python": "3.11"},
	} {
		if _, err := SettingsFromProps(props(bad)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("runtime %v: err = %v, want %q", bad, err, name)
		}
	}
	if _, err := SettingsFromProps(props(amd, amd)); err == nil || !strings.Contains(err.Error(), "two runtimes") {
		t.Errorf("two runtimes for one platform: err = %v", err)
	}
}
