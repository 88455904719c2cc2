package supervisor

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// PythonSettings is the "python" entry of plugin.json's props: how to run the plugin's Python
// side. It lives under props because stock Mattermost servers keep unknown props untouched, so a
// Python plugin's manifest stays valid for them.
//
//	"props": {"python": {
//	    "entry_point": "greeter.plugin:Greeter",
//	    "requires_python": ">=3.10",
//	    "path": ["."],
//	    "interpreter": "/opt/python3.12/bin/python3"
//	}}
type PythonSettings struct {
	// EntryPoint names the plugin class, "package.module:ClassName". Required.
	EntryPoint string `json:"entry_point"`
	// RequiresPython is a PEP 440 version specifier such as ">=3.11" or ">=3.10,<3.14".
	// The SDK's own minimum (MinPythonVersion) always applies as well.
	RequiresPython string `json:"requires_python,omitempty"`
	// Path lists directories, relative to the plugin directory, put first on sys.path.
	// Default ["."].
	Path []string `json:"path,omitempty"`
	// Interpreter is an optional Python executable, absolute or relative to the plugin
	// directory. It is used when the bundle has no venv.
	Interpreter string `json:"interpreter,omitempty"`
	// RestartWaitSeconds bounds how long a hook call waits for the Python process while it
	// restarts (default 10; 0 fails at once, as a Go plugin's calls do while it is down).
	RestartWaitSeconds *float64 `json:"restart_wait_seconds,omitempty"`
	// FailClosedHooks lists gatekeeping hooks (Go names: MessageWillBePosted, UserWillLogIn,
	// …) that reject, with a reason naming the plugin, when the plugin cannot answer (its
	// process is down past the restart wait, or its answer cannot be read), instead of
	// Mattermost's default of allowing unchanged.
	FailClosedHooks []string `json:"fail_closed_hooks,omitempty"`
}

// RestartWait is RestartWaitSeconds as Config.RestartWait.
func (s PythonSettings) RestartWait() time.Duration {
	switch {
	case s.RestartWaitSeconds == nil:
		return 0 // the default
	case *s.RestartWaitSeconds <= 0:
		return -1 // do not wait
	}
	return time.Duration(*s.RestartWaitSeconds * float64(time.Second))
}

// PropsKey is the key of the Python settings in plugin.json's props.
const PropsKey = "python"

var entryPointRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// PythonSettingsFromManifest reads and validates props.python from a plugin manifest.
func PythonSettingsFromManifest(m *model.Manifest) (PythonSettings, error) {
	if m == nil {
		return PythonSettings{}, fmt.Errorf("no plugin manifest")
	}
	raw, ok := m.Props[PropsKey]
	if !ok {
		return PythonSettings{}, fmt.Errorf("plugin %q has no props.python in plugin.json: add "+
			`"props": {"python": {"entry_point": "package.module:ClassName"}}`, m.Id)
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return PythonSettings{}, fmt.Errorf("props.python in plugin.json: %w", err)
	}
	var s PythonSettings
	if err := json.Unmarshal(data, &s); err != nil {
		return PythonSettings{}, fmt.Errorf("props.python in plugin.json is not an object with "+
			"entry_point, requires_python, path and interpreter: %w", err)
	}
	return s, s.Validate()
}

// Validate checks the settings and fills in defaults (Path ["."]).
func (s *PythonSettings) Validate() error {
	if s.EntryPoint == "" {
		return fmt.Errorf(`props.python.entry_point is missing in plugin.json: set it to "package.module:ClassName"`)
	}
	if !entryPointRE.MatchString(s.EntryPoint) {
		return fmt.Errorf(`props.python.entry_point %q in plugin.json is not of the form "package.module:ClassName"`, s.EntryPoint)
	}
	if s.RequiresPython != "" {
		if _, err := parseSpecifier(s.RequiresPython); err != nil {
			return fmt.Errorf("props.python.requires_python in plugin.json: %w", err)
		}
	}
	if len(s.Path) == 0 {
		s.Path = []string{"."}
	}
	for _, p := range s.Path {
		if p == "" || filepath.IsAbs(p) {
			return fmt.Errorf("props.python.path entry %q in plugin.json must be a directory relative to the plugin directory", p)
		}
		if c := filepath.Clean(p); c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) {
			return fmt.Errorf("props.python.path entry %q in plugin.json leaves the plugin directory", p)
		}
	}
	return nil
}

// sysPath returns the absolute sys.path additions for a plugin directory.
func (s PythonSettings) sysPath(pluginDir string) []string {
	out := make([]string, 0, len(s.Path))
	for _, p := range s.Path {
		out = append(out, filepath.Join(pluginDir, p))
	}
	return out
}
