package gogluegen_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"testing"

	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/gogluegen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

const root = "../../.."

func load(t *testing.T) *ir.Surface {
	s, err := ir.Load(ir.Options{FieldNumbersPath: filepath.Join(root, "proto", "fieldnumbers.json")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGeneratedFilesAreCurrent checks the committed glue is what the generator writes now, and
// that two runs agree byte for byte.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	s := load(t)
	a, err := gogluegen.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := gogluegen.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	for path, src := range a {
		if !bytes.Equal(src, b[path]) {
			t.Errorf("%s differs between two runs", path)
		}
		committed, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || !bytes.Equal(committed, src) {
			t.Errorf("%s is stale: run `make generate`", path)
		}
	}
}

// TestEveryMechanicalMethodIsGenerated checks that exactly the methods without a hand-written
// special case get a generated method, so a new Mattermost method cannot slip through.
func TestEveryMechanicalMethodIsGenerated(t *testing.T) {
	s := load(t)
	files, err := gogluegen.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, p := range []string{gogluegen.APIPath, gogluegen.DriverPath, gogluegen.HooksPath} {
		f, err := parser.ParseFile(token.NewFileSet(), p, files[p], 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil {
				declared[p+"."+fd.Name.Name] = true
			}
		}
	}
	check := func(path string, ms []*ir.Method, handWritten ...gen.Kind) {
		for _, m := range ms {
			hand := false
			for _, k := range handWritten {
				hand = hand || m.Special.Kind == k
			}
			if declared[path+"."+m.Name] == hand {
				t.Errorf("%s: generated=%v for %s (special kind %d)", path, !hand, m.Name, m.Special.Kind)
			}
		}
	}
	check(gogluegen.APIPath, s.API, gen.KindPluginHTTP, gen.KindPluginConfigJSON)
	check(gogluegen.DriverPath, s.Driver)
	check(gogluegen.HooksPath, s.Hooks, gen.KindHTTPHook, gen.KindUploadHook)
}
