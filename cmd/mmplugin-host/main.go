// Command mmplugin-host is the server executable of a Python Mattermost plugin: the server
// starts it like any Go plugin, and it runs the plugin's Python process. See internal/host.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/mmplugin/mmplugin/internal/host"
)

func main() {
	// The host relays between the server and one Python process, which runs hooks on about one
	// core (the GIL): its goroutines mostly wait. With one P every hand-off between them stays on
	// one OS thread instead of waking another, which makes hook round trips ~15 % faster on
	// docs/benchmarks.md's machine and costs nothing measurable in throughput or transfers.
	// GOMAXPROCS in the environment still wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if err := host.Run(host.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
