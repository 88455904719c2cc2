package supervisor

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each bad input fails Start with an error that says what is wrong and what to do.
func TestStartErrors(t *testing.T) {
	python := repoPython(t)
	emptyPath := t.TempDir()

	fakeOld := t.TempDir()
	if err := os.WriteFile(filepath.Join(fakeOld, "python3"), []byte("#!/bin/sh\necho 3.8.10\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A venv without the SDK: pyvenv.cfg pointing at the real base interpreter, no packages.
	bareVenvPlugin := writePlugin(t, map[string]string{"plug.py": "class Plugin: pass\n"})
	makeVenv(t, filepath.Join(bareVenvPlugin, "venv"), "")

	tests := []struct {
		name  string
		files map[string]string
		dir   string // instead of files
		edit  func(*Config)
		want  []string
	}{
		{
			name: "python missing",
			edit: func(c *Config) { c.Environ = []string{"PATH=" + emptyPath} },
			want: []string{"no Python found (looked in ", "venv/bin/python3 (the bundle's venv)",
				"$MMPLUGIN_PYTHON (not set)", "python3 on PATH (" + emptyPath + ")",
				"install Python ≥3.10 or set MMPLUGIN_PYTHON"},
		},
		{
			name: "configured interpreter missing falls through to report all places",
			edit: func(c *Config) {
				c.Environ = []string{"PATH=" + emptyPath, "MMPLUGIN_PYTHON=/nonexistent/python3"}
				c.Python.Interpreter = "/opt/nowhere/python3"
			},
			want: []string{"/opt/nowhere/python3 (props.python.interpreter)", "/nonexistent/python3 ($MMPLUGIN_PYTHON)"},
		},
		{
			name: "python too old",
			edit: func(c *Config) { c.Environ = []string{"PATH=" + fakeOld} },
			want: []string{"Python 3.8 at " + filepath.Join(fakeOld, "python3") + " is too old: this plugin needs >=3.10"},
		},
		{
			name: "requires_python above the interpreter",
			edit: func(c *Config) { c.Python.RequiresPython = ">=3.99" },
			want: []string{"Python 3.", "at " + python + " is too old: this plugin needs >=3.99"},
		},
		{
			name: "requires_python upper bound",
			edit: func(c *Config) { c.Python.RequiresPython = ">=3.10,<3.11" },
			want: []string{"at " + python + " does not fit this plugin: it needs >=3.10,<3.11"},
		},
		{
			name: "sdk not installed in the bundle's venv",
			dir:  bareVenvPlugin,
			want: []string{"the mmplugin package cannot be imported by Python 3.", filepath.Join(bareVenvPlugin, "venv", "bin", "python3"),
				"No module named 'mmplugin'", "bundle a venv with mmplugin"},
		},
		{
			name:  "entry point module missing",
			files: map[string]string{"other.py": ""},
			edit:  func(c *Config) { c.Python.EntryPoint = "nosuch.module:Plugin" },
			want: []string{"could not start (exit code 3)",
				"entry point 'nosuch.module:Plugin' failed to import: ModuleNotFoundError: No module named 'nosuch'",
				"check props.python.entry_point and props.python.path"},
		},
		{
			name:  "entry class missing",
			files: map[string]string{"plug.py": "class Other: pass\n"},
			want:  []string{"entry point 'plug:Plugin' failed to import: module 'plug' has no attribute 'Plugin'"},
		},
		{
			name:  "import raises",
			files: map[string]string{"plug.py": "raise RuntimeError('settings.toml not found')\nclass Plugin: pass\n"},
			want:  []string{"entry point 'plug:Plugin' failed to import: RuntimeError: settings.toml not found"},
		},
		{
			name:  "dependency missing",
			files: map[string]string{"plug.py": "import requests_that_is_not_installed\nclass Plugin: pass\n"},
			want: []string{"entry point 'plug:Plugin' failed to import: ModuleNotFoundError: No module named 'requests_that_is_not_installed'",
				"a dependency of the plugin is missing"},
		},
		{
			name:  "syntax error",
			files: map[string]string{"plug.py": "class Plugin:\n    def broken(self)\n        pass\n"},
			want:  []string{"entry point 'plug:Plugin' failed to import: SyntaxError:", "plug.py, line 2"},
		},
		{
			name:  "constructor raises",
			files: map[string]string{"plug.py": "class Plugin:\n    def __init__(self):\n        raise ValueError('no bot token')\n"},
			want:  []string{"could not start (exit code 4)", "plugin class 'plug:Plugin' could not be created: ValueError: no bot token"},
		},
		{
			name:  "entry point in a sub-directory without path",
			files: map[string]string{"src/plug.py": "class Plugin: pass\n"},
			want:  []string{"No module named 'plug'", "(looked in "},
		},
		{
			name: "handshake never arrives",
			files: map[string]string{"plug.py": `
import sys, time
sys.stderr.write("loading the model, this takes forever\n")
sys.stderr.flush()
time.sleep(3600)
class Plugin: pass
`},
			edit: func(c *Config) { c.HandshakeTimeout = 2 * time.Second },
			want: []string{"the Python process of plugin \"com.example.test\" did not complete its handshake within 2s; last stderr lines: ",
				"loading the model, this takes forever"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = writePlugin(t, tc.files)
			}
			cfg, logs := testConfig(t, dir)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			start := time.Now()
			err := startErr(t, cfg)
			if err == nil {
				t.Fatalf("Start succeeded; log:\n%s", logs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if took := time.Since(start); took > cfg.HandshakeTimeout+5*time.Second {
				t.Errorf("Start took %s to fail", took)
			}
		})
	}
}

// The entry point in a sub-directory works once props.python.path names it; and a prepared
// bundle venv (here: one that reuses the repo venv's packages) wins over MMPLUGIN_PYTHON.
func TestBundleVenvAndPath(t *testing.T) {
	dir := writePlugin(t, map[string]string{"src/plug.py": testPlugin})
	makeVenv(t, filepath.Join(dir, "venv"), repoSitePackages(t))
	cfg, _ := testConfig(t, dir)
	cfg.Python.Path = []string{"src"}
	s := startSupervisor(t, cfg)
	it := s.Interpreter()
	if it.Source != "the bundle's venv" || it.Path != filepath.Join(dir, "venv", "bin", "python3") {
		t.Errorf("interpreter = %+v", it)
	}
	if len(s.ImplementedHooks()) != 2 {
		t.Errorf("hooks = %v", s.ImplementedHooks())
	}
}

// makeVenv creates a minimal venv at dir whose site-packages optionally extends to extraSite.
func makeVenv(t *testing.T, dir, extraSite string) {
	t.Helper()
	base := strings.TrimSpace(runPython(t, "import sys; print(sys._base_executable)"))
	ver := strings.TrimSpace(runPython(t, "import sys; print('%d.%d' % sys.version_info[:2])"))
	bin := filepath.Join(dir, "bin")
	site := filepath.Join(dir, "lib", "python"+ver, "site-packages")
	for _, d := range []string{bin, site} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "home = " + filepath.Dir(base) + "\ninclude-system-site-packages = false\nversion = " + ver + "\n"
	if err := os.WriteFile(filepath.Join(dir, "pyvenv.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(bin, "python3")); err != nil {
		t.Fatal(err)
	}
	if extraSite != "" {
		// addsitedir also runs the .pth files there (the editable install of mmplugin is one).
		pth := "import site; site.addsitedir(" + strconv.Quote(extraSite) + ")\n"
		if err := os.WriteFile(filepath.Join(site, "repo.pth"), []byte(pth), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func repoSitePackages(t *testing.T) string {
	return strings.TrimSpace(runPython(t, "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
}
