// Command mmplugin-pyenv prepares an unpacked plugin bundle's venv exactly as mmplugin-host does
// before it starts Python, and prints the venv's interpreter. It lets the bundler's integration
// tests, and an admin chasing an install failure, run that step without a Mattermost server:
//
//	go run ./internal/pyenv/cmd/mmplugin-pyenv [-python PATH] [-import mod,mod] PLUGIN_DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mmplugin/mmplugin/internal/pyenv"
)

func main() {
	python := flag.String("python", "", "interpreter to build the venv with (default: found like the host does)")
	imports := flag.String("import", strings.Join(pyenv.DefaultSmokeImports, ","), "modules the venv must import")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mmplugin-pyenv [-python PATH] [-import mod,mod] PLUGIN_DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	settings, err := pyenv.ReadSettings(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmplugin-pyenv:", err)
		os.Exit(1)
	}
	res, err := pyenv.Prepare(context.Background(), pyenv.Options{
		PluginDir:    dir,
		Settings:     settings,
		Python:       *python,
		SmokeImports: strings.Split(*imports, ","),
		Logf:         func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmplugin-pyenv:", err)
		os.Exit(1)
	}
	state := "created"
	if res.Reused {
		state = "reused"
	}
	fmt.Fprintf(os.Stderr, "%s venv for %s (Python %s)\n", state, res.Target.Key(), res.BaseVersion)
	fmt.Println(res.Python)
}
