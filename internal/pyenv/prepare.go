package pyenv

import (
	"github.com/mmplugin/mmplugin/internal/execenv"

	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const (
	// VenvLink is the path, relative to the plugin directory, where the supervisor looks for
	// the bundle's venv (<plugin dir>/venv/bin/python3).
	VenvLink = "venv"
	// venvsDir holds the real venvs, one per key; VenvLink points at one of them.
	venvsDir = ".mmplugin-venvs"
	// markerName is written last into a complete venv; it says what the venv was built from.
	markerName = "mmplugin-venv.json"
	// DefaultTimeout bounds a whole Prepare when the context has no deadline.
	DefaultTimeout = 5 * time.Minute
)

// DefaultSmokeImports are imported by the new venv's Python before it is used.
var DefaultSmokeImports = []string{"mmplugin", "grpc"}

// Options configures Prepare.
type Options struct {
	// PluginDir is the plugin's directory (where plugin.json is). Required.
	PluginDir string
	// Settings are the bundle's props.python settings (ReadSettings / SettingsFromProps).
	Settings Settings
	// Python, if set, is the interpreter to build the venv with; otherwise one is found:
	// props.python.interpreter, then $MMPLUGIN_PYTHON, then python3.X / python3 on PATH.
	Python string
	// Env is the server's environment, read for PATH, MMPLUGIN_PYTHON, locale and TMPDIR only.
	// Default os.Environ().
	Env []string
	// Platform is "<GOOS>-<GOARCH>" of the server. Default: the running binary's.
	Platform string
	// SmokeImports are the modules the new venv must import. Default DefaultSmokeImports.
	SmokeImports []string
	// Logf receives progress messages (optional).
	Logf func(format string, args ...any)
}

// Result says which venv is in use.
type Result struct {
	// Python is <plugin dir>/venv/bin/python3, the interpreter to start the plugin with.
	Python string
	// Reused is true when an existing venv matched and nothing was installed.
	Reused bool
	// Target is the bundled target that was installed.
	Target Target
	// BasePython and BaseVersion describe the interpreter the venv was built with.
	BasePython, BaseVersion string
}

// marker is the content of markerName.
type marker struct {
	LockSHA256      string `json:"lock_sha256"`
	InstallerSHA256 string `json:"installer_sha256"`
	Python          string `json:"python"`
	PythonVersion   string `json:"python_version"`
	Target          string `json:"target"`
}

// Prepare makes <plugin dir>/venv hold exactly the bundle's locked dependencies for this
// server, reusing the current venv when nothing changed. See the package documentation.
func Prepare(ctx context.Context, o Options) (Result, error) {
	if o.PluginDir == "" {
		return Result{}, errors.New("pyenv: no plugin directory")
	}
	if !o.Settings.HasWheelhouse() {
		return Result{}, errors.New("the bundle has no wheelhouse (props.python.targets): " +
			"build it with 'mmplugin bundle'")
	}
	if err := o.Settings.validate(); err != nil {
		return Result{}, err
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Platform == "" {
		o.Platform = runtime.GOOS + "-" + runtime.GOARCH
	}
	if o.SmokeImports == nil {
		o.SmokeImports = DefaultSmokeImports
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	dir, err := filepath.Abs(o.PluginDir)
	if err != nil {
		return Result{}, err
	}
	o.PluginDir = dir

	b, target, err := pickInterpreter(ctx, &o, o.Settings.Targets)
	if err != nil {
		return Result{}, err
	}
	lockPath, _ := inside(dir, target.Lock)
	lock, err := os.ReadFile(lockPath)
	if err != nil {
		return Result{}, fmt.Errorf("the bundle's lock file for %s is unreadable: %w; rebuild the bundle", target.Key(), err)
	}
	want := marker{
		LockSHA256:      sha256Hex(lock),
		InstallerSHA256: strings.ToLower(o.Settings.Installer.SHA256),
		Python:          b.real,
		PythonVersion:   b.version,
		Target:          target.Key(),
	}
	key := venvKey(want)
	venvs := filepath.Join(dir, venvsDir)
	if err := os.MkdirAll(venvs, 0o755); err != nil {
		return Result{}, fmt.Errorf("cannot create %s: %w", venvs, err)
	}
	unlock, err := lockDir(venvs)
	if err != nil {
		return Result{}, err
	}
	defer unlock()

	res := Result{
		Python:      filepath.Join(dir, VenvLink, "bin", "python3"),
		Target:      target,
		BasePython:  b.path,
		BaseVersion: b.version,
	}
	venv := filepath.Join(venvs, key)
	if have, err := readMarker(venv); err == nil && have == want && execenv.IsExecutable(filepath.Join(venv, "bin", "python3")) == nil {
		if err := pointLink(dir, key); err != nil {
			return Result{}, err
		}
		removeOthers(venvs, key)
		res.Reused = true
		return res, nil
	}

	o.Logf("installing the bundle's Python dependencies for %s with Python %s (%s)", target.Key(), b.version, b.path)
	start := time.Now()
	if err := build(ctx, &o, b, target, lockPath, venv, want); err != nil {
		_ = os.RemoveAll(venv)
		return Result{}, err
	}
	if err := pointLink(dir, key); err != nil {
		return Result{}, err
	}
	removeOthers(venvs, key)
	o.Logf("Python dependencies for %s installed in %s", target.Key(), time.Since(start).Round(time.Millisecond))
	return res, nil
}

func build(ctx context.Context, o *Options, b base, target Target, lockPath, venv string, want marker) error {
	if err := os.RemoveAll(venv); err != nil { // a leftover of an interrupted build
		return fmt.Errorf("cannot remove the incomplete venv %s: %w", venv, err)
	}
	installer, _ := inside(o.PluginDir, o.Settings.Installer.Wheel)
	sum, err := fileSHA256(installer)
	if err != nil {
		return fmt.Errorf("the bundle's installer wheel is unreadable: %w; rebuild the bundle", err)
	}
	if sum != want.InstallerSHA256 {
		return fmt.Errorf("the bundle's installer %s does not match its sha256 in plugin.json "+
			"(the bundle was changed after it was built): rebuild and upload it again", o.Settings.Installer.Wheel)
	}
	env := o.childEnv()
	if out, err := run(ctx, env, o.PluginDir, b.path, "-I", "-m", "venv", "--without-pip", venv); err != nil {
		return fmt.Errorf("cannot create a venv with Python %s (%s): %v\n%s", b.version, b.path, err, tail(out, 15))
	}
	py := filepath.Join(venv, "bin", "python3")
	wheelhouse, _ := inside(o.PluginDir, o.Settings.Wheelhouse)
	out, err := run(ctx, env, o.PluginDir, py, "-I", filepath.Join(installer, "pip"), "install",
		"--no-index", "--find-links", wheelhouse, "--require-hashes", "--only-binary=:all:",
		"--no-cache-dir", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
		"-r", lockPath)
	if err != nil {
		return fmt.Errorf("installing the bundle's wheels for %s failed (%v)%s; pip said:\n%s",
			target.Key(), err, pipHint(out), tail(out, 15))
	}
	if len(o.SmokeImports) > 0 {
		script := "import " + strings.Join(o.SmokeImports, ", ")
		if out, err := run(ctx, env, o.PluginDir, py, "-I", "-c", script); err != nil {
			return fmt.Errorf("the new venv for %s cannot %q (%v):\n%s", target.Key(), script, err, tail(out, 15))
		}
	}
	data, _ := json.MarshalIndent(want, "", "  ")
	return writeFileAtomic(filepath.Join(venv, markerName), append(data, '\n'))
}

// pipHint adds what to do for the failures an admin can meet.
func pipHint(out string) string {
	switch {
	case strings.Contains(out, "DO NOT MATCH THE HASHES"):
		return ": a wheel in the bundle differs from the one that was locked (the bundle was " +
			"changed or damaged after it was built); rebuild it and upload it again"
	case strings.Contains(out, "is not a supported wheel on this platform"),
		strings.Contains(out, "No matching distribution found"):
		return ": the bundled wheels do not fit this server (an older glibc than the bundle " +
			"targets, or a musl system such as Alpine); rebuild with 'mmplugin bundle --glibc 2.X' " +
			"for the server's glibc"
	}
	return ""
}

// childEnv is the environment of every process pyenv starts: no PIP_* or PYTHON* variable, no
// HOME and nothing secret from the server (its environment may hold database credentials). With
// PIP_CONFIG_FILE=/dev/null pip reads no configuration file at all (global, user or site).
func (o *Options) childEnv() []string {
	var env []string
	for _, kv := range o.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if name == "PATH" || name == "LANG" || name == "TMPDIR" || strings.HasPrefix(name, "LC_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"PIP_CONFIG_FILE="+os.DevNull,
		"PIP_NO_INPUT=1",
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
		"PYTHONNOUSERSITE=1",
	)
}

func run(ctx context.Context, env []string, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return out.String(), err
}

func venvKey(m marker) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n", m.LockSHA256, m.InstallerSHA256, m.Python, m.PythonVersion, m.Target)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func readMarker(venv string) (marker, error) {
	var m marker
	data, err := os.ReadFile(filepath.Join(venv, markerName))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(data, &m)
}

// pointLink makes <dir>/venv a relative symbolic link to .mmplugin-venvs/<key>, atomically.
func pointLink(dir, key string) error {
	link := filepath.Join(dir, VenvLink)
	dest := filepath.Join(venvsDir, key)
	if cur, err := os.Readlink(link); err == nil && cur == dest {
		return nil
	}
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		// A real directory or file (e.g. a venv shipped inside an old bundle): move it aside.
		aside := filepath.Join(dir, venvsDir, "old-"+randomSuffix())
		if err := os.Rename(link, aside); err != nil {
			return fmt.Errorf("cannot move the existing %s aside: %w", link, err)
		}
	}
	tmp := filepath.Join(dir, VenvLink+".tmp-"+randomSuffix())
	if err := os.Symlink(dest, tmp); err != nil {
		return fmt.Errorf("cannot link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot switch %s to the new venv: %w", link, err)
	}
	return nil
}

// removeOthers deletes venvs other than key; failures only waste disk, so they are ignored.
func removeOthers(venvs, key string) {
	entries, err := os.ReadDir(venvs)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() != key && e.Name() != lockName {
			_ = os.RemoveAll(filepath.Join(venvs, e.Name()))
		}
	}
}

const lockName = ".lock"

// lockDir takes an exclusive flock on venvs/.lock, so two hosts sharing a plugin directory never
// build the same venv at once.
func lockDir(venvs string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(venvs, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w", venvs, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock %s: %w", venvs, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
