package host_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/mmplugin/mmplugin/internal/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// repoPython is the repository's venv interpreter, which has the mmplugin SDK installed
// (editable). Tests hand it to the host through MMPLUGIN_PYTHON, as an admin would.
func repoPython(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	python := filepath.Join(filepath.Dir(file), "..", "..", ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the repository venv is missing (%v): run `make setup`", err)
	}
	return python
}

// pythonPlugin installs a Python plugin whose server executable is the real mmplugin-host.
func pythonPlugin(t testing.TB, h *harness.Harness, id string, files map[string]string) {
	t.Helper()
	t.Setenv("MMPLUGIN_PYTHON", repoPython(t))
	bundleFiles := map[string][]byte{}
	for name, content := range files {
		bundleFiles[name] = []byte(content)
	}
	h.Install(harness.Bundle{
		Manifest: &model.Manifest{
			Id:      id,
			Name:    id,
			Version: "0.1.0",
			Server:  &model.ManifestServer{Executable: "server/mmplugin-host"},
			Props: map[string]any{"python": map[string]any{
				"entry_point": "plugin:TestPlugin",
			}},
		},
		Executable: harness.BuildBinary(t, "github.com/mmplugin/mmplugin/cmd/mmplugin-host"),
		Files:      bundleFiles,
	})
}

func TestActivatesAPlainPythonClass(t *testing.T) {
	h := harness.New(t)
	pythonPlugin(t, h, "com.example.plain", map[string]string{
		"plugin.py": "class TestPlugin:\n    pass\n",
	})
	if err := h.Activate("com.example.plain"); err != nil {
		t.Fatalf("activate: %v", err)
	}
	if s := h.Status("com.example.plain"); s == nil || s.State != model.PluginStateRunning {
		t.Fatalf("status = %+v, want running", s)
	}
	if err := h.HealthCheck("com.example.plain"); err != nil {
		t.Fatalf("health check: %v", err)
	}
	if !h.Deactivate("com.example.plain") {
		t.Fatal("deactivate reported the plugin was not active")
	}
}

func TestActivationFailsWithTheImportError(t *testing.T) {
	h := harness.New(t)
	pythonPlugin(t, h, "com.example.broken", map[string]string{
		"plugin.py": "import definitely_not_installed_module\n",
	})
	err := h.Activate("com.example.broken")
	if err == nil {
		t.Fatal("activation succeeded, want the import error")
	}
	for _, want := range []string{"plugin:TestPlugin", "definitely_not_installed_module"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("activation error %q does not mention %q", err, want)
		}
	}
}
