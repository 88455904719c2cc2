package pyenv

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// These tests run real Python and real pip (from the machine's ensurepip wheel) on a tiny
// wheelhouse built here, offline.

type fixture struct {
	dir      string
	minor    string // "3.11" of python3 on PATH
	settings Settings
}

func machinePython(t *testing.T) (path, minor string) {
	t.Helper()
	path, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("these tests need python3 on PATH: %v", err)
	}
	out, err := exec.Command(path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return path, strings.TrimSpace(string(out))
}

// pipWheel finds a pip wheel without a network: the one ensurepip ships, else one pip downloads.
func pipWheel(t *testing.T, python string) string {
	t.Helper()
	out, err := exec.Command(python, "-c", `import ensurepip, glob, os
print(sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1])`).Output()
	if err == nil {
		return strings.TrimSpace(string(out))
	}
	dir := t.TempDir()
	if out, err := exec.Command(python, "-m", "pip", "download", "--no-deps", "-d", dir, "pip").CombinedOutput(); err != nil {
		t.Fatalf("no pip wheel: ensurepip has none and pip download failed: %v\n%s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(dir, "pip-*.whl"))
	if len(m) == 0 {
		t.Fatal("pip download gave no pip wheel")
	}
	return m[0]
}

func recordHash(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(s[:])
}

// writeWheel writes tinypkg-<version>-py3-none-any.whl into dir and returns its path.
func writeWheel(t *testing.T, dir, version string) string {
	t.Helper()
	files := []struct{ name, body string }{
		{"tinypkg/__init__.py", fmt.Sprintf("VERSION = %q\n", version)},
		{"tinypkg-" + version + ".dist-info/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: " + version + "\n"},
		{"tinypkg-" + version + ".dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		fmt.Fprintf(&record, "%s,%s,%d\n", f.name, recordHash([]byte(f.body)), len(f.body))
	}
	recName := "tinypkg-" + version + ".dist-info/RECORD"
	record.WriteString(recName + ",,\n")
	files = append(files, struct{ name, body string }{recName, record.String()})

	path := filepath.Join(dir, "tinypkg-"+version+"-py3-none-any.whl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, file := range files {
		w, err := zw.Create(file.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(file.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	h, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	python, minor := machinePython(t)
	dir := t.TempDir()
	wheels := filepath.Join(dir, "python", "wheels")
	if err := os.MkdirAll(filepath.Join(dir, "python", "locks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(wheels, 0o755); err != nil {
		t.Fatal(err)
	}
	pip := pipWheel(t, python)
	data, err := os.ReadFile(pip)
	if err != nil {
		t.Fatal(err)
	}
	installer := filepath.Join(wheels, filepath.Base(pip))
	if err := os.WriteFile(installer, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{dir: dir, minor: minor}
	fx.settings = Settings{
		SDKVersion: "0.1.0",
		Wheelhouse: "python/wheels",
		Installer:  &Installer{Wheel: "python/wheels/" + filepath.Base(pip), SHA256: fileHash(t, installer)},
		Targets: []Target{{
			Python: minor, Platform: runtime.GOOS + "-" + runtime.GOARCH,
			Lock: "python/locks/cp" + strings.ReplaceAll(minor, ".", "") + ".txt",
		}},
	}
	fx.lockVersion(t, "1.0", "")
	return fx
}

// lockVersion adds tinypkg <version> to the wheelhouse and locks it (with hash, or badHash).
func (fx *fixture) lockVersion(t *testing.T, version, badHash string) {
	t.Helper()
	wheel := writeWheel(t, filepath.Join(fx.dir, "python", "wheels"), version)
	hash := fileHash(t, wheel)
	if badHash != "" {
		hash = badHash
	}
	lock := fmt.Sprintf("tinypkg==%s \\\n    --hash=sha256:%s\n", version, hash)
	if err := os.WriteFile(filepath.Join(fx.dir, fx.settings.Targets[0].Lock), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) options() Options {
	return Options{PluginDir: fx.dir, Settings: fx.settings, SmokeImports: []string{"tinypkg"}, Logf: func(string, ...any) {}}
}

func (fx *fixture) importedVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(fx.dir, "venv", "bin", "python3"), "-I", "-c", "import tinypkg; print(tinypkg.VERSION)").CombinedOutput()
	if err != nil {
		t.Fatalf("venv python: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func venvDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, venvsDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != lockName {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestPrepareCreatesReusesAndRebuilds(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()

	res, err := Prepare(ctx, fx.options())
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if res.Reused {
		t.Error("first Prepare reported a reused venv")
	}
	if want := filepath.Join(fx.dir, "venv", "bin", "python3"); res.Python != want {
		t.Errorf("Python = %q, want %q", res.Python, want)
	}
	if res.Target.Python != fx.minor {
		t.Errorf("Target = %+v, want Python %s", res.Target, fx.minor)
	}
	if v := fx.importedVersion(t); v != "1.0" {
		t.Errorf("tinypkg version in venv = %q, want 1.0", v)
	}
	first := venvDirs(t, fx.dir)
	if len(first) != 1 {
		t.Fatalf("venvs after first Prepare = %v, want one", first)
	}
	m, err := readMarker(filepath.Join(fx.dir, venvsDir, first[0]))
	if err != nil {
		t.Fatalf("marker: %v", err)
	}
	lock, _ := os.ReadFile(filepath.Join(fx.dir, fx.settings.Targets[0].Lock))
	if m.LockSHA256 != sha256Hex(lock) {
		t.Errorf("marker lock sha256 = %s, want %s", m.LockSHA256, sha256Hex(lock))
	}
	markerPath := filepath.Join(fx.dir, venvsDir, first[0], markerName)
	before, _ := os.Stat(markerPath)

	res, err = Prepare(ctx, fx.options())
	if err != nil {
		t.Fatalf("second Prepare: %v", err)
	}
	if !res.Reused {
		t.Error("second Prepare with an unchanged lock rebuilt the venv")
	}
	after, _ := os.Stat(markerPath)
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("the reused venv's marker was rewritten")
	}

	fx.lockVersion(t, "2.0", "")
	res, err = Prepare(ctx, fx.options())
	if err != nil {
		t.Fatalf("Prepare after lock change: %v", err)
	}
	if res.Reused {
		t.Error("Prepare after a lock change reused the old venv")
	}
	if v := fx.importedVersion(t); v != "2.0" {
		t.Errorf("tinypkg version after lock change = %q, want 2.0", v)
	}
	second := venvDirs(t, fx.dir)
	if len(second) != 1 || second[0] == first[0] {
		t.Errorf("venvs after rebuild = %v, want one new one (old was %s)", second, first[0])
	}
	if link, err := os.Readlink(filepath.Join(fx.dir, "venv")); err != nil || link != filepath.Join(venvsDir, second[0]) {
		t.Errorf("venv link = %q, %v; want %s", link, err, filepath.Join(venvsDir, second[0]))
	}
}

func TestPrepareHashMismatchFailsAndKeepsTheWorkingVenv(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	if _, err := Prepare(ctx, fx.options()); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	fx.lockVersion(t, "3.0", strings.Repeat("0", 64))
	_, err := Prepare(ctx, fx.options())
	if err == nil {
		t.Fatal("Prepare accepted a wheel whose hash does not match the lock")
	}
	for _, want := range []string{"differs from the one that was locked", "DO NOT MATCH THE HASHES", "rebuild"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if v := fx.importedVersion(t); v != "1.0" {
		t.Errorf("after a failed rebuild the venv has tinypkg %q, want the working 1.0", v)
	}
	if dirs := venvDirs(t, fx.dir); len(dirs) != 1 {
		t.Errorf("a failed build left venvs behind: %v", dirs)
	}
}

func TestPrepareNoTargetForThisPython(t *testing.T) {
	fx := newFixture(t)
	o := fx.options()
	o.Settings.Targets = []Target{{Python: "3.99", Platform: "linux-arm64", Lock: "python/locks/x.txt"}}
	o.Platform = "linux-arm64"
	_, err := Prepare(context.Background(), o)
	if err == nil {
		t.Fatal("Prepare found a target that does not exist")
	}
	want := fmt.Sprintf("this bundle contains wheels for cp399 linux-arm64; the server has Python %s", fx.minor)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if !strings.Contains(err.Error(), "mmplugin bundle --python "+fx.minor+" --platform linux-arm64") {
		t.Errorf("error %q does not say how to rebuild", err)
	}
}

func TestPrepareExplicitPythonMustFit(t *testing.T) {
	fx := newFixture(t)
	o := fx.options()
	o.Settings.Targets[0].Python = "3.99"
	python, _ := machinePython(t)
	o.Env = append(os.Environ(), PythonEnvVar+"="+python)
	_, err := Prepare(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "this bundle contains wheels for cp399") {
		t.Fatalf("err = %v, want the mismatch explained", err)
	}
}

func TestPrepareRejectsATamperedInstaller(t *testing.T) {
	fx := newFixture(t)
	o := fx.options()
	o.Settings.Installer.SHA256 = strings.Repeat("a", 64)
	_, err := Prepare(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "does not match its sha256") {
		t.Fatalf("err = %v, want the installer hash mismatch", err)
	}
	if _, err := os.Lstat(filepath.Join(fx.dir, "venv")); !os.IsNotExist(err) {
		t.Errorf("a venv link exists after a refused install: %v", err)
	}
}

func TestSettings(t *testing.T) {
	good := map[string]any{"python": map[string]any{
		"entry_point": "x.plugin:P",
		"wheelhouse":  "python/wheels",
		"installer":   map[string]any{"wheel": "python/wheels/pip.whl", "sha256": strings.Repeat("b", 64)},
		"targets":     []any{map[string]any{"python": "3.11", "platform": "linux-amd64", "lock": "python/locks/a.txt"}},
	}}
	s, err := SettingsFromProps(good)
	if err != nil {
		t.Fatalf("SettingsFromProps: %v", err)
	}
	if !s.HasWheelhouse() || s.Targets[0].Key() != "cp311-linux-amd64" {
		t.Errorf("settings = %+v", s)
	}

	none, err := SettingsFromProps(map[string]any{"python": map[string]any{"entry_point": "x:Y"}})
	if err != nil || none.HasWheelhouse() {
		t.Errorf("a manifest without targets: %+v, %v; want no wheelhouse and no error", none, err)
	}

	bad := map[string]any{"python": map[string]any{
		"wheelhouse": "../../etc",
		"installer":  map[string]any{"wheel": "python/wheels/pip.whl", "sha256": strings.Repeat("b", 64)},
		"targets":    []any{map[string]any{"python": "3.11", "platform": "linux-amd64", "lock": "a.txt"}},
	}}
	if _, err := SettingsFromProps(bad); err == nil || !strings.Contains(err.Error(), "leaves the plugin directory") {
		t.Errorf("a wheelhouse outside the plugin: err = %v", err)
	}

	noInstaller := map[string]any{"python": map[string]any{
		"wheelhouse": "w", "targets": []any{map[string]any{"python": "3.11", "platform": "linux-amd64", "lock": "a.txt"}},
	}}
	if _, err := SettingsFromProps(noInstaller); err == nil || !strings.Contains(err.Error(), "installer") {
		t.Errorf("no installer: err = %v", err)
	}

	dir := t.TempDir()
	data, _ := json.Marshal(map[string]any{"id": "x.y.z", "props": good})
	if err := os.WriteFile(filepath.Join(dir, "plugin.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadSettings(dir); err != nil || len(s.Targets) != 1 {
		t.Errorf("ReadSettings = %+v, %v", s, err)
	}
}

func TestChildEnvDropsSecretsAndPipSettings(t *testing.T) {
	o := Options{PluginDir: "/p", Env: []string{
		"PATH=/usr/bin", "MM_SQLSETTINGS_DATASOURCE=postgres://secret", "PIP_INDEX_URL=http://evil",
		"PYTHONPATH=/x", "LANG=C.UTF-8", "HOME=/home/mattermost",
	}}
	env := strings.Join(o.childEnv(), "\n")
	for _, bad := range []string{"secret", "evil", "PYTHONPATH", "/home/mattermost"} {
		if strings.Contains(env, bad) {
			t.Errorf("child environment contains %q:\n%s", bad, env)
		}
	}
	for _, want := range []string{"PATH=/usr/bin", "LANG=C.UTF-8", "PIP_CONFIG_FILE=" + os.DevNull} {
		if !strings.Contains(env, want) {
			t.Errorf("child environment lacks %q:\n%s", want, env)
		}
	}
}
