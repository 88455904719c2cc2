// Command mmplugin-parity prints the parity report (`make parity`): one line per area of the
// pinned Mattermost plugin surface (the "@tag" of each API method, then Hooks and Driver)
// naming every method that lacks an RPC, Go glue or a Python method, and a last line
//
//	parity: api A/N hooks B/M driver C/K
//
// With $MMPLUGIN_EXERCISED_OUT pointing at the runtime harness's counts, it also prints
// "exercised: api X/N hooks Y/M". Run it from the repository root. With -strict it exits 1
// unless every method is covered.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
	"github.com/mmplugin/mmplugin/internal/gen/parity"
)

func main() {
	strict := flag.Bool("strict", false, "exit 1 unless every method has its RPC, Go glue and Python method")
	python := flag.String("python", ".venv/bin/python", "interpreter used to check the Python SDK's classes (\"\" trusts surface.json)")
	flag.Parse()
	if err := run(*strict, *python); err != nil {
		fmt.Fprintln(os.Stderr, "mmplugin-parity:", err)
		os.Exit(1)
	}
}

func run(strict bool, python string) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the repository root (no go.mod here)")
	}
	s, err := ir.Load(ir.Options{FieldNumbersPath: filepath.Join("proto", "fieldnumbers.json")})
	if err != nil {
		return err
	}
	tags := map[string][]string{}
	for _, m := range s.API {
		tags[m.Name] = m.Tags
	}
	if python != "" {
		if _, err := os.Stat(python); err != nil {
			return fmt.Errorf("no Python interpreter at %s: run `make setup`, or pass -python=\"\" to trust surface.json", python)
		}
	}
	r, err := parity.Compute(parity.Options{
		Tags:          tags,
		SurfacePath:   filepath.Join("python", "src", "mmplugin", "_gen", "surface.json"),
		Python:        python,
		PythonPath:    filepath.Join("python", "src"),
		ExercisedPath: os.Getenv("MMPLUGIN_EXERCISED_OUT"),
	})
	if err != nil {
		return err
	}
	r.Write(os.Stdout)
	if strict && !r.Complete() {
		return fmt.Errorf("parity is incomplete")
	}
	return nil
}
