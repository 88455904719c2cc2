package supervisor

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

// FuzzPythonSettings: whatever props.python a bundle's plugin.json holds, reading it never
// panics; it is accepted, or refused with an error that names plugin.json.
func FuzzPythonSettings(f *testing.F) {
	f.Add(`{"entry_point": "pkg.mod:Plugin"}`)
	f.Add(`{"entry_point": "pkg.mod:Plugin", "path": ["../x"], "requires_python": ">=3.10,<4"}`)
	f.Add(`{"entry_point": 3, "restart_wait_seconds": -1, "fail_closed_hooks": [null]}`)
	f.Add(`"not an object"`)
	f.Add(`{"entry_point": "a:b", "requires_python": "~=3.\u0000"}`)
	f.Fuzz(func(t *testing.T, props string) {
		var raw any
		if json.Unmarshal([]byte(props), &raw) != nil {
			return
		}
		m := &model.Manifest{Id: "com.example.fuzz", Props: map[string]any{PropsKey: raw}}
		s, err := PythonSettingsFromManifest(m)
		if err != nil {
			if !strings.Contains(err.Error(), "plugin.json") {
				t.Errorf("error without the file to fix: %v", err)
			}
			return
		}
		if s.EntryPoint == "" || len(s.Path) == 0 {
			t.Errorf("accepted incomplete settings %+v", s)
		}
		_ = s.RestartWait()
	})
}
