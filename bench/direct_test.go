package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/apiserver"
	"github.com/mmplugin/mmplugin/internal/harness"
	"github.com/mmplugin/mmplugin/internal/hooksclient"
	"github.com/mmplugin/mmplugin/internal/supervisor"
)

// directPython starts the Python twin under the supervisor in this process, without
// mmplugin-host's netrpc side: the hooks it returns are the hooks client on the supervisor's
// connection only, so a call through them measures the host → Python leg of a hook, which the
// full path adds the server → host netrpc leg to. The API is the in-memory server's, served by the real apiserver.
func directPython(tb testing.TB, h *harness.Harness) plugin.Hooks {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plugin.py"), pyPluginCode(tb), 0o644); err != nil {
		tb.Fatal(err)
	}
	log := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn})
	api := apiserver.New(h.Server().NewPluginAPI(&model.Manifest{Id: pyID}), nil, log)
	sup, err := supervisor.New(supervisor.Config{
		PluginID:    pyID + ".direct",
		PluginDir:   dir,
		Python:      supervisor.PythonSettings{EntryPoint: "plugin:BenchPlugin", Path: []string{"."}},
		Logger:      log,
		RegisterAPI: api.Register,
		Environ:     append(os.Environ(), "MMPLUGIN_PYTHON="+venvPython(tb)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sup.Start(ctx); err != nil {
		tb.Fatalf("start the Python twin under the supervisor: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sup.Stop(ctx)
	})
	// The same hooks client over the same connection (framed hooks when Python has them) as
	// mmplugin-host uses.
	return hooksclient.New(sup.ClientConn(), log, "com.mmplugin.bench")
}
