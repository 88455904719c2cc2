// Command mmplugin-host is the server executable of a Python Mattermost plugin: the server
// starts it like any Go plugin, and it runs the plugin's Python process. See internal/host.
package main

import (
	"fmt"
	"os"

	"github.com/mmplugin/mmplugin/internal/host"
)

func main() {
	if err := host.Run(host.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
