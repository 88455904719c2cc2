package pyenv_test

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mmplugin/mmplugin/internal/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// TestBundleActivatesThroughMattermost is the whole path: the Python bundler builds a real
// bundle (wheels from the package index, the real mmplugin-host), Mattermost's own
// plugin.Environment activates it, and the host prepares the venv offline with this package
// before starting Python. The second activation reuses the venv.
func TestBundleActivatesThroughMattermost(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the bundle built here targets linux-amd64")
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	bundler := filepath.Join(repo, ".venv", "bin", "python")
	if _, err := os.Stat(bundler); err != nil {
		t.Fatalf("the repository venv is missing (%v): run `make setup`", err)
	}
	python, minor := machinePythonMinor(t)
	host := harness.BuildBinary(t, "github.com/mmplugin/mmplugin/cmd/mmplugin-host")

	work := t.TempDir()
	src := filepath.Join(work, "plugin")
	const id = "com.example.bundled"
	runOK(t, bundler, "-m", "mmplugin.cli", "new", src, "--id", id, "--name", "Bundled")
	// A plain class: the runtime serves it without the SDK's Plugin base.
	if err := os.WriteFile(filepath.Join(src, "bundled", "plugin.py"), []byte("class BundledPlugin:\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, bundler, "-m", "mmplugin.cli", "bundle", src, "--platform", "linux-amd64",
		"--python", minor, "--host-binary", "linux-amd64="+host, "-o", filepath.Join(work, "dist"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	unpacked := filepath.Join(work, "unpacked")
	untar(t, lines[len(lines)-1], unpacked)

	// Python is found on PATH the way a server finds it; never the repository venv.
	t.Setenv("MMPLUGIN_PYTHON", "")
	t.Setenv("PATH", filepath.Dir(python)+string(os.PathListSeparator)+os.Getenv("PATH"))
	h := harness.New(t)
	dir := h.Install(harness.Bundle{SourceDir: filepath.Join(unpacked, id)})
	if err := h.Activate(id); err != nil {
		t.Fatalf("activate: %v\nserver log:\n%s", err, h.Log().Dump())
	}
	if s := h.Status(id); s == nil || s.State != model.PluginStateRunning {
		t.Fatalf("status = %+v, want running", s)
	}
	link, err := os.Readlink(filepath.Join(dir, "venv"))
	if err != nil || !strings.HasPrefix(link, ".mmplugin-venvs/") {
		t.Fatalf("venv link = %q, %v; want one into .mmplugin-venvs/", link, err)
	}
	if !h.Deactivate(id) {
		t.Fatal("deactivate reported the plugin was not active")
	}
	if err := h.Activate(id); err != nil {
		t.Fatalf("second activate: %v", err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "venv")); again != link {
		t.Errorf("the second activation switched the venv from %s to %s; want it reused", link, again)
	}
	h.Deactivate(id)
	ready := h.Log().Find(harness.LogQuery{Message: "Python environment ready", Fields: map[string]string{"plugin_id": id}})
	if len(ready) != 2 {
		t.Errorf("host log lines about the venv = %v; want one per activation", ready)
	}
	if installs := h.Log().Find(harness.LogQuery{Message: "installing the bundle's Python dependencies"}); len(installs) != 1 {
		t.Errorf("the venv was installed %d times, want once:\n%s", len(installs), h.Log().Dump())
	}
}

func machinePythonMinor(t *testing.T) (string, string) {
	t.Helper()
	path, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("this test needs python3 on PATH: %v", err)
	}
	out, err := exec.Command(path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return path, strings.TrimSpace(string(out))
}

func runOK(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func untar(t *testing.T, archive, dest string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dest, filepath.FromSlash(hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			w.Close()
		}
	}
}
