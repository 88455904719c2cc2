package host_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mmplugin/mmplugin/internal/harness"
)

// The host's own records keep their key/values as separate fields of the server's log line,
// as the plugin's do, including those logged before the server connected the API; and a
// normal start and stop leave no error-level line. Mattermost's plugin environment, with the
// server's own hclog adapter for the plugin's stderr, runs the real host binary here.
func TestHostLogLinesKeepTheirFieldsAndAStopLogsNoError(t *testing.T) {
	h := harness.New(t)
	pythonPlugin(t, h, "com.example.quiet", map[string]string{
		"plugin.py": `
from mmplugin import Plugin


class TestPlugin(Plugin):
    def on_activate(self) -> None:
        self.log.info("quiet plugin up", answer=42)

    def on_deactivate(self) -> None:
        self.log.info("quiet plugin down")
`,
	})
	for round := range 2 { // a restart (disable, enable) too
		if err := h.Activate("com.example.quiet"); err != nil {
			t.Fatalf("activate (round %d): %v", round, err)
		}
		h.Log().Wait(t, harness.LogQuery{Level: "info", Message: "quiet plugin up"}, 10*time.Second)
		if !h.Deactivate("com.example.quiet") {
			t.Fatal("deactivate reported the plugin was not active")
		}
	}
	started := h.Log().Wait(t, harness.LogQuery{Message: "Python process started"}, 10*time.Second)
	if started.Fields["pid"] == "" || started.Fields["plugin_id"] != "com.example.quiet" {
		t.Errorf("the host's line does not carry pid and plugin_id as fields: %s", started)
	}
	// Records after deactivation still arrive, via stderr, at their level.
	h.Log().Wait(t, harness.LogQuery{Message: "Python process stopped"}, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // let the last stderr lines of the second stop arrive
	for _, e := range h.Log().Entries() {
		if _, wrapped := e.Fields["wrapped_extras"]; wrapped && strings.Contains(e.Fields["wrapped_extras"], "@module") {
			t.Errorf("a host line reached the log with its fields run together: %s", e)
		}
		if e.Level == "error" && e.Fields["plugin_id"] == "com.example.quiet" {
			t.Errorf("error-level line on a normal start and stop: %s", e)
		}
	}
}
