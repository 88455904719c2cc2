package ir

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// MattermostModule is the module whose plugin interfaces are the source of truth.
const MattermostModule = "github.com/mattermost/mattermost/server/public"

// srcMethod is what reflection cannot tell: names and comments.
type srcMethod struct {
	name        string
	doc         string
	minVersion  string
	tags        []string
	paramNames  []string
	resultNames []string // "" for unnamed results
}

// moduleDir asks the go command where the pinned module lives (the module cache, or a
// replace directory) and which version it is.
func moduleDir() (dir, version string, err error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Version}}", MattermostModule).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", "", fmt.Errorf("go list -m %s: %v: %s (run the generator from the repository root)", MattermostModule, err, ee.Stderr)
		}
		return "", "", fmt.Errorf("go list -m %s: %w", MattermostModule, err)
	}
	dir, version, _ = strings.Cut(strings.TrimSpace(string(out)), "\t")
	if dir == "" {
		return "", "", fmt.Errorf("module %s is not downloaded: run `go mod download`", MattermostModule)
	}
	return dir, version, nil
}

var (
	minVersionRE = regexp.MustCompile(`^Minimum server version:\s*(\S+)\s*$`)
	tagRE        = regexp.MustCompile(`^@tag\s+(.+?)\s*$`)
)

// parseInterface returns the methods of interface `name` declared in file, in source order.
func parseInterface(file, name string) ([]srcMethod, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var it *ast.InterfaceType
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == name {
			it, _ = ts.Type.(*ast.InterfaceType)
			return false
		}
		return true
	})
	if it == nil {
		return nil, fmt.Errorf("%s: interface %s not found", filepath.Base(file), name)
	}
	var out []srcMethod
	for _, m := range it.Methods.List {
		ft, ok := m.Type.(*ast.FuncType)
		if !ok || len(m.Names) != 1 {
			return nil, fmt.Errorf("%s: interface %s embeds %T; the generator only knows plain methods", filepath.Base(file), name, m.Type)
		}
		sm := srcMethod{name: m.Names[0].Name}
		sm.doc, sm.minVersion, sm.tags = splitDoc(m.Doc)
		sm.paramNames = fieldNames(ft.Params)
		sm.resultNames = fieldNames(ft.Results)
		out = append(out, sm)
	}
	return out, nil
}

// splitDoc separates the "@tag" and "Minimum server version" notes from the prose.
func splitDoc(cg *ast.CommentGroup) (doc, minVersion string, tags []string) {
	if cg == nil {
		return "", "", nil
	}
	var lines []string
	for _, l := range strings.Split(cg.Text(), "\n") {
		t := strings.TrimSpace(l)
		if m := minVersionRE.FindStringSubmatch(t); m != nil {
			minVersion = m[1]
			continue
		}
		if m := tagRE.FindStringSubmatch(t); m != nil {
			tags = append(tags, m[1])
			continue
		}
		lines = append(lines, strings.TrimRight(l, " \t"))
	}
	doc = strings.TrimSpace(strings.Join(lines, "\n"))
	return doc, minVersion, tags
}

// fieldNames flattens a parameter list: "teamID, trigger string" → [teamID trigger];
// an unnamed entry yields "".
func fieldNames(fl *ast.FieldList) []string {
	if fl == nil {
		return nil
	}
	var out []string
	for _, f := range fl.List {
		if len(f.Names) == 0 {
			out = append(out, "")
			continue
		}
		for _, n := range f.Names {
			out = append(out, n.Name)
		}
	}
	return out
}
