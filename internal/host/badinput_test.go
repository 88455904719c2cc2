package host_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mmplugin/mmplugin/internal/harness"
)

// Each bad input fails the activation with an error that names the cause and what to do; the
// server records it as the plugin's activation error and logs it, as for a Go plugin.
func TestBadInputsFailActivationClearly(t *testing.T) {
	fakeOld := t.TempDir()
	if err := os.WriteFile(filepath.Join(fakeOld, "python3"), []byte("#!/bin/sh\necho 3.8.10\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		code  string
		entry string
		env   map[string]string // set after the host binary is built
		want  []string
	}{
		{
			name: "python missing",
			code: "class TestPlugin:\n    pass\n",
			env:  map[string]string{"MMPLUGIN_PYTHON": "", "PATH": t.TempDir()},
			want: []string{"no Python found", "install Python ≥3.10 or set MMPLUGIN_PYTHON"},
		},
		{
			name: "python too old",
			code: "class TestPlugin:\n    pass\n",
			env:  map[string]string{"MMPLUGIN_PYTHON": "", "PATH": fakeOld},
			want: []string{"Python 3.8", "is too old: this plugin needs >=3.10"},
		},
		{
			name:  "entry point class missing",
			code:  "class Other:\n    pass\n",
			entry: "plugin:TestPlugin",
			want:  []string{"plugin:TestPlugin", "TestPlugin"},
		},
		{
			name: "syntax error",
			code: "def broken(:\n    pass\n",
			want: []string{"plugin:TestPlugin", "SyntaxError"},
		},
		{
			name: "import raises",
			code: "raise RuntimeError('cannot start without a token')\n",
			want: []string{"plugin:TestPlugin", "cannot start without a token"},
		},
		{
			name: "handshake never arrives",
			code: "import time\ntime.sleep(600)\n",
			env:  map[string]string{"MMPLUGIN_HANDSHAKE_TIMEOUT": "3s"},
			want: []string{"handshake within 3s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := harness.New(t)
			id := "com.example.bad"
			pythonPlugin(t, h, id, map[string]string{"plugin.py": tc.code})
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			start := time.Now()
			err := h.Activate(id)
			if err == nil {
				t.Fatal("activation succeeded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("activation error does not mention %q:\n%v", want, err)
				}
			}
			if s := h.Status(id); s == nil || s.State == model.PluginStateRunning {
				t.Errorf("status = %+v, want not running", s)
			}
			h.Log().Wait(t, harness.LogQuery{Level: "error", Message: "could not start"}, 5*time.Second)
			if elapsed := time.Since(start); elapsed > time.Minute {
				t.Errorf("the failure took %s to surface", elapsed)
			}
		})
	}
}
