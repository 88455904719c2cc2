package netrpcgen

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

const repoRoot = "../../.."

func load(t *testing.T) *ir.Surface {
	t.Helper()
	s, err := ir.Load(ir.Options{FieldNumbersPath: filepath.Join(repoRoot, "proto", "fieldnumbers.json")})
	if err != nil {
		t.Fatalf("loading the surface: %v", err)
	}
	return s
}

// TestGeneratedFilesAreCurrent fails when the committed files differ from what the generator
// writes now. NETRPCGEN_UPDATE=1 rewrites them (make generate does the same through
// cmd/mmplugin-gen).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := Generate(load(t))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		full := filepath.Join(repoRoot, path)
		if os.Getenv("NETRPCGEN_UPDATE") == "1" {
			if err := os.WriteFile(full, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(full)
		if err != nil {
			t.Fatalf("%s: %v (run make generate)", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run make generate", path)
		}
	}
}

// TestEveryMethodIsCovered checks the split between generated and hand-written methods: each
// interface method is generated exactly when it is not in the hand-written table.
func TestEveryMethodIsCovered(t *testing.T) {
	files, err := Generate(load(t))
	if err != nil {
		t.Fatal(err)
	}
	check := func(iface reflect.Type, recv, path string, handWritten map[string]string) {
		src := string(files[path])
		for m := range iface.Methods() {
			generated := strings.Contains(src, "func ("+recv+") "+m.Name+"(")
			_, hand := handWritten[m.Name]
			if generated == hand {
				t.Errorf("%s.%s: generated=%v, hand-written=%v; exactly one must hold", iface.Name(), m.Name, generated, hand)
			}
		}
	}
	check(reflect.TypeFor[plugin.Hooks](), "s *hooksServer", HooksServerPath, HandWrittenHooks)
	check(reflect.TypeFor[plugin.API](), "api *apiClient", APIClientPath, HandWrittenAPI)
}

func TestTypeString(t *testing.T) {
	f := newFile("test")
	cases := map[reflect.Type]string{
		reflect.TypeFor[map[string][]*plugin.Context](): "map[string][]*plugin.Context",
		reflect.TypeFor[[4]byte]():                      "[4]uint8",
		reflect.TypeFor[any]():                          "any",
		reflect.TypeFor[error]():                        "error",
	}
	for typ, want := range cases {
		got, err := f.typeString(typ)
		if err != nil || got != want {
			t.Errorf("typeString(%v) = %q, %v; want %q", typ, got, err, want)
		}
	}
	if _, err := f.typeString(reflect.TypeFor[chan int]()); err == nil {
		t.Error("typeString(chan int) succeeded; want an error asking for a hand-written method")
	}
}
