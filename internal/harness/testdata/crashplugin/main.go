// Command crashplugin is a deliberately fragile plugin for the harness's fault tests: it
// writes to stderr when activated and exits when asked to over HTTP, so tests can check that
// plugin output reaches the server log and that a dead plugin is seen by the health check.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/mattermost/mattermost/server/public/plugin"
)

// Plugin is the crash plugin.
type Plugin struct {
	plugin.MattermostPlugin
}

// OnActivate writes a line to stderr.
func (p *Plugin) OnActivate() error {
	fmt.Fprintln(os.Stderr, "crashplugin: hello from stderr")
	return nil
}

// ServeHTTP exits the process on /crash.
func (p *Plugin) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/crash" {
		os.Exit(3)
	}
	http.NotFound(w, r)
}

func main() {
	plugin.ClientMain(&Plugin{})
}
