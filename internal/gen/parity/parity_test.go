package parity_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/apiserver"
	"github.com/mmplugin/mmplugin/internal/gen/parity"
)

type entry struct {
	Go      string   `json:"go"`
	Python  string   `json:"python"`
	Clients []string `json:"clients"`
}

// writeSurface writes a surface.json listing every pinned method except those in skip.
func writeSurface(t *testing.T, dir string, skip map[string]bool) string {
	list := func(iface reflect.Type, clients ...string) []entry {
		out := []entry{}
		for i := range iface.NumMethod() {
			n := iface.Method(i).Name
			if !skip[n] {
				out = append(out, entry{Go: n, Python: strings.ToLower(n), Clients: clients})
			}
		}
		return out
	}
	doc := map[string]any{
		"api":    list(reflect.TypeFor[plugin.API](), "API"),
		"hooks":  list(reflect.TypeFor[plugin.Hooks](), "HooksServicer"),
		"driver": list(reflect.TypeFor[plugin.Driver](), "Driver"),
	}
	b, _ := json.Marshal(doc)
	p := filepath.Join(dir, "surface.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func report(t *testing.T, o parity.Options) (*parity.Report, string) {
	r, err := parity.Compute(o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	r.Write(&b)
	return r, b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestCountsComeFromTheInterfaces(t *testing.T) {
	dir := t.TempDir()
	surface := writeSurface(t, dir, map[string]bool{"GetUser": true, "OnActivate": true})
	apiserver.Unsupported["CreatePost"] = "waiting for a test"
	defer delete(apiserver.Unsupported, "CreatePost")
	r, out := report(t, parity.Options{
		Tags:        map[string][]string{"GetUser": {"User"}, "CreatePost": {"Post"}},
		SurfacePath: surface,
	})
	nAPI, nHooks, nDriver := reflect.TypeFor[plugin.API]().NumMethod(), reflect.TypeFor[plugin.Hooks]().NumMethod()-1, reflect.TypeFor[plugin.Driver]().NumMethod()
	if len(r.API) != nAPI || len(r.Hooks) != nHooks || len(r.Driver) != nDriver {
		t.Fatalf("sizes %d/%d/%d, want %d/%d/%d", len(r.API), len(r.Hooks), len(r.Driver), nAPI, nHooks, nDriver)
	}
	want := "parity: api 256/258 hooks 50/51 driver 20/20"
	if lastLine(out) != want {
		t.Fatalf("last line %q, want %q\n%s", lastLine(out), want, out)
	}
	for _, s := range []string{
		"User", "GetUser (no Python method)",
		"Post", "CreatePost (Go glue unsupported: waiting for a test)",
		"OnActivate (no Python method)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "Implemented") {
		t.Errorf("Implemented is plumbing, not a hook, and must not be listed:\n%s", out)
	}
}

func TestMissingSurfaceCountsPythonAsMissing(t *testing.T) {
	_, out := report(t, parity.Options{SurfacePath: filepath.Join(t.TempDir(), "absent.json")})
	if lastLine(out) != "parity: api 0/258 hooks 0/51 driver 0/20" || !strings.Contains(out, "Python counted as missing") {
		t.Fatalf("got:\n%s", out)
	}
}

// TestPythonIntrospection checks the classes really are looked at: a method listed in
// surface.json but absent from the class, or a hook only inherited from the protoc base, is
// missing.
func TestPythonIntrospection(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to check the Python side of parity:", err)
	}
	dir := t.TempDir()
	surface := writeSurface(t, dir, nil)
	pkg := filepath.Join(dir, "src")
	var api, drv, hooks strings.Builder
	api.WriteString("class API:\n")
	for i := range reflect.TypeFor[plugin.API]().NumMethod() {
		if n := reflect.TypeFor[plugin.API]().Method(i).Name; n != "GetTeam" {
			api.WriteString("    def " + strings.ToLower(n) + "(self): pass\n")
		}
	}
	drv.WriteString("class Driver:\n")
	for i := range reflect.TypeFor[plugin.Driver]().NumMethod() {
		drv.WriteString("    def " + strings.ToLower(reflect.TypeFor[plugin.Driver]().Method(i).Name) + "(self): pass\n")
	}
	hooks.WriteString("from mmplugin.v1.base import Base\nclass HooksServicer(Base):\n")
	for i := range reflect.TypeFor[plugin.Hooks]().NumMethod() {
		if n := reflect.TypeFor[plugin.Hooks]().Method(i).Name; n != "ServeHTTP" {
			hooks.WriteString("    def " + n + "(self): pass\n")
		}
	}
	files := map[string]string{
		"mmplugin/__init__.py": "", "mmplugin/_gen/__init__.py": "", "mmplugin/v1/__init__.py": "",
		"mmplugin/v1/base.py":  "class Base:\n    def ServeHTTP(self): pass\n",
		"mmplugin/_gen/api.py": api.String() + drv.String(), "mmplugin/_gen/hooks.py": hooks.String(),
	}
	for name, text := range files {
		p := filepath.Join(pkg, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, out := report(t, parity.Options{SurfacePath: surface, Python: python, PythonPath: pkg})
	if lastLine(out) != "parity: api 257/258 hooks 50/51 driver 20/20" {
		t.Fatalf("got:\n%s", out)
	}
	if !strings.Contains(out, "GetTeam (no Python method)") || !strings.Contains(out, "ServeHTTP (no Python method)") {
		t.Fatalf("missing methods not named:\n%s", out)
	}
}

func TestExercisedLine(t *testing.T) {
	dir := t.TempDir()
	ex := filepath.Join(dir, "exercised.json")
	if err := os.WriteFile(ex, []byte(`{"api":{"GetUser":2,"CreatePost":1,"NotAMethod":4,"KVGet":0},"hooks":{"OnActivate":1,"Implemented":3}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out := report(t, parity.Options{SurfacePath: writeSurface(t, dir, nil), ExercisedPath: ex})
	if !strings.Contains(out, "\nexercised: api 2/258 hooks 1/51\n") {
		t.Fatalf("got:\n%s", out)
	}
	_, out = report(t, parity.Options{SurfacePath: writeSurface(t, dir, nil), ExercisedPath: filepath.Join(dir, "absent.json")})
	if strings.Contains(out, "exercised:") {
		t.Fatalf("an absent file must print no exercised line:\n%s", out)
	}
}
