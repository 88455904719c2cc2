// Command mmplugin-gen generates the mmplugin protocol and glue from the pinned Mattermost
// plugin interfaces. Run it from the repository root (`make generate` does, before compiling
// the .proto files):
//
//	go run ./cmd/mmplugin-gen
//
// It loads the IR once (internal/gen/ir) and hands it to every emitter below; each emitter
// returns the files it owns, keyed by repository-relative path. Files are rewritten only when
// their content changes, so reruns are byte-identical no-ops.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/mmplugin/mmplugin/internal/gen/convgen"
	"github.com/mmplugin/mmplugin/internal/gen/gogluegen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
	"github.com/mmplugin/mmplugin/internal/gen/netrpcgen"
	"github.com/mmplugin/mmplugin/internal/gen/protogen"
	"github.com/mmplugin/mmplugin/internal/gen/pygen"
	"github.com/mmplugin/mmplugin/internal/gen/recordergen"
)

// emitter produces generated files from the IR.
type emitter struct {
	name string
	run  func(*ir.Surface) (map[string][]byte, error)
}

// emitters is the generator pipeline. Add yours with one line.
var emitters = []emitter{
	{"proto", protogen.Generate},
	{"python", pygen.Generate},
	{"convert", convgen.Generate},
	{"netrpc", netrpcgen.Generate},
	{"harness", recordergen.Generate},
	{"goglue", gogluegen.Generate},
	{"fieldnumbers", fieldNumbers},
}

const fieldNumbersPath = "proto/fieldnumbers.json"

// fieldNumbers writes back the field-number table the IR loaded and extended.
func fieldNumbers(s *ir.Surface) (map[string][]byte, error) {
	b, err := s.Numbers.Marshal()
	return map[string][]byte{fieldNumbersPath: b}, err
}

func main() {
	check := flag.Bool("check", false, "report files that would change and exit 1, writing nothing")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "mmplugin-gen:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run from the repository root (no go.mod here)")
	}
	s, err := ir.Load(ir.Options{FieldNumbersPath: fieldNumbersPath})
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	owner := map[string]string{}
	for _, e := range emitters {
		out, err := e.run(s)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		for path, b := range out {
			if prev, ok := owner[path]; ok {
				return fmt.Errorf("%s and %s both write %s", prev, e.name, path)
			}
			owner[path], files[path] = e.name, b
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	stale := 0
	for _, p := range paths {
		old, err := os.ReadFile(p)
		if err == nil && bytes.Equal(old, files[p]) {
			continue
		}
		stale++
		if check {
			fmt.Fprintln(os.Stderr, "stale:", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[p], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", p)
	}
	if check && stale > 0 {
		return fmt.Errorf("%d generated files are stale: run `make generate`", stale)
	}
	return nil
}
