package pyenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Settings are the keys of plugin.json's props.python that describe the bundled dependencies.
// Other keys (entry_point, path, …) belong to the supervisor and are ignored here.
type Settings struct {
	// Interpreter is the optional Python named by the author (props.python.interpreter),
	// absolute or relative to the plugin directory.
	Interpreter string `json:"interpreter,omitempty"`
	// SDKVersion is the mmplugin version the bundle was built with.
	SDKVersion string `json:"sdk_version,omitempty"`
	// Wheelhouse is the directory of wheels, relative to the plugin directory.
	Wheelhouse string `json:"wheelhouse,omitempty"`
	// Installer is pip's wheel, run from the wheelhouse to install offline.
	Installer *Installer `json:"installer,omitempty"`
	// Targets lists the (Python version, platform) pairs the wheelhouse serves.
	Targets []Target `json:"targets,omitempty"`
	// Runtimes are the relocatable Pythons shipped in the bundle ("mmplugin bundle
	// --python-runtime"), at most one per platform, for servers without Python.
	Runtimes []Runtime `json:"runtimes,omitempty"`
}

// Runtime is a Python interpreter shipped inside the bundle for one platform.
type Runtime struct {
	Platform   string `json:"platform"`   // "linux-amd64"
	Python     string `json:"python"`     // "3.11"
	Executable string `json:"executable"` // relative to the plugin directory
}

// RuntimeFor returns the bundled runtime for platform, if the bundle has one.
func (s Settings) RuntimeFor(platform string) (Runtime, bool) {
	for _, r := range s.Runtimes {
		if r.Platform == platform {
			return r, true
		}
	}
	return Runtime{}, false
}

// Installer names the pip wheel used to install the lock, with its sha256.
type Installer struct {
	Wheel  string `json:"wheel"`
	SHA256 string `json:"sha256"`
}

// Target is one Python minor version on one platform, with its lock file.
type Target struct {
	Python   string `json:"python"`   // "3.11"
	Platform string `json:"platform"` // "linux-amd64", as in server.executables
	Lock     string `json:"lock"`     // relative to the plugin directory
}

// Key is e.g. "cp311-linux-amd64", the name "mmplugin bundle" uses in its messages.
func (t Target) Key() string {
	return "cp" + strings.ReplaceAll(t.Python, ".", "") + "-" + t.Platform
}

// HasWheelhouse reports whether the bundle carries dependencies to install. A plugin without
// them runs on an interpreter that already has mmplugin (development, or an admin's Python).
func (s Settings) HasWheelhouse() bool { return len(s.Targets) > 0 }

// SettingsFromProps reads the settings from a manifest's props (model.Manifest.Props).
func SettingsFromProps(props map[string]any) (Settings, error) {
	raw, ok := props["python"]
	if !ok {
		return Settings{}, nil
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return Settings{}, fmt.Errorf("props.python in plugin.json: %w", err)
	}
	var s Settings
	if err := json.Unmarshal(data, &s); err != nil {
		return Settings{}, fmt.Errorf("props.python in plugin.json has an unexpected shape "+
			"(wheelhouse, installer, targets, runtimes): %w; rebuild the bundle with 'mmplugin bundle'", err)
	}
	return s, s.validate()
}

// ReadSettings reads the settings from <pluginDir>/plugin.json.
func ReadSettings(pluginDir string) (Settings, error) {
	data, err := os.ReadFile(filepath.Join(pluginDir, "plugin.json"))
	if err != nil {
		return Settings{}, err
	}
	var m struct {
		Props map[string]any `json:"props"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return Settings{}, fmt.Errorf("plugin.json in %s: %w", pluginDir, err)
	}
	return SettingsFromProps(m.Props)
}

func (s Settings) validate() error {
	if !s.HasWheelhouse() {
		return nil
	}
	fix := "; rebuild the bundle with 'mmplugin bundle'"
	if s.Wheelhouse == "" {
		return errors.New("props.python.targets is set but props.python.wheelhouse is not" + fix)
	}
	if s.Installer == nil || s.Installer.Wheel == "" || len(s.Installer.SHA256) != 64 {
		return errors.New("props.python.installer (pip's wheel and its sha256) is missing" + fix)
	}
	paths := []string{s.Wheelhouse, s.Installer.Wheel}
	for i, t := range s.Targets {
		if t.Python == "" || t.Platform == "" || t.Lock == "" {
			return fmt.Errorf("props.python.targets[%d] needs python, platform and lock%s", i, fix)
		}
		paths = append(paths, t.Lock)
	}
	seen := map[string]bool{}
	for i, r := range s.Runtimes {
		if r.Platform == "" || r.Python == "" || r.Executable == "" {
			return fmt.Errorf("props.python.runtimes[%d] needs platform, python and executable%s", i, fix)
		}
		if seen[r.Platform] {
			return fmt.Errorf("props.python.runtimes has two runtimes for %s%s", r.Platform, fix)
		}
		seen[r.Platform] = true
		paths = append(paths, r.Executable)
	}
	for _, p := range paths {
		if _, err := inside("", p); err != nil {
			return err
		}
	}
	return nil
}

// inside joins dir and rel, refusing absolute paths and paths that leave dir.
func inside(dir, rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) {
		return "", fmt.Errorf("path %q in props.python must be relative to the plugin directory", rel)
	}
	c := filepath.Clean(rel)
	if c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("path %q in props.python leaves the plugin directory", rel)
	}
	return filepath.Join(dir, c), nil
}
