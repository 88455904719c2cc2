// Package parity computes the parity report: for every method of the pinned plugin.API,
// plugin.Hooks (without Implemented, which is protocol plumbing rather than a hook) and
// plugin.Driver, whether the protocol, the Go glue and the Python SDK cover it.
//
// Every list comes from the thing it describes, never from a hand-kept list: the methods from
// reflection over the compiled interfaces, the RPCs from the compiled proto descriptors
// (protoregistry), the Go glue from reflection over the apiserver and hooksclient types minus
// their Unsupported tables, and the Python side from python/src/mmplugin/_gen/surface.json
// (written by internal/gen/pygen) checked against the importable Python classes.
package parity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/mmplugin/mmplugin/internal/apiserver"
	"github.com/mmplugin/mmplugin/internal/hooksclient"
	_ "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1" // registers the descriptors
)

// Method is one interface method and what covers it.
type Method struct {
	Name string
	// Area is the first "@tag" of an API method; "Hooks" or "Driver" otherwise.
	Area string
	// RPC: the service in the compiled descriptors has an RPC of this name.
	RPC bool
	// Go: the generated/hand-written glue has the method and does not list it as unsupported.
	Go bool
	// GoNote is the Unsupported reason, if any.
	GoNote string
	// Python: surface.json lists it and the Python class has it.
	Python bool
}

// Missing returns what the method lacks ("" when complete).
func (m *Method) Missing() string {
	var miss []string
	if !m.RPC {
		miss = append(miss, "no RPC")
	}
	if !m.Go {
		if m.GoNote != "" {
			miss = append(miss, "Go glue unsupported: "+m.GoNote)
		} else {
			miss = append(miss, "no Go glue")
		}
	}
	if !m.Python {
		miss = append(miss, "no Python method")
	}
	return strings.Join(miss, ", ")
}

// Report is the parity of the three interfaces.
type Report struct {
	API, Hooks, Driver []*Method
	// PythonNote explains why Python coverage could not be established, if so.
	PythonNote string
	// Exercised is the runtime harness's line, when its file was given.
	Exercised string
}

// Options locate the inputs.
type Options struct {
	// Tags maps API method names to their "@tag" notes (from the IR's doc comments).
	Tags map[string][]string
	// SurfacePath is python/src/mmplugin/_gen/surface.json.
	SurfacePath string
	// Python is the interpreter used to check the Python classes ("" skips the check and
	// trusts surface.json).
	Python string
	// PythonPath is added to PYTHONPATH for the check (python/src).
	PythonPath string
	// ExercisedPath is the harness's $MMPLUGIN_EXERCISED_OUT file ("" or absent: no line).
	ExercisedPath string
}

// Compute builds the report.
func Compute(o Options) (*Report, error) {
	r := &Report{}
	srv := apiserver.New(nil, nil, nil)
	specs := []struct {
		out     *[]*Method
		iface   reflect.Type
		service string
		glue    reflect.Type
		unsup   map[string]string
		area    func(string) string
	}{
		{&r.API, reflect.TypeFor[plugin.API](), "PluginAPIService", reflect.TypeOf(srv.APIService()), apiserver.Unsupported,
			func(n string) string {
				if t := o.Tags[n]; len(t) > 0 {
					return t[0]
				}
				return "Untagged"
			}},
		{&r.Hooks, reflect.TypeFor[plugin.Hooks](), "PluginHooksService", reflect.TypeFor[*hooksclient.Client](), hooksclient.Unsupported,
			func(string) string { return "Hooks" }},
		{&r.Driver, reflect.TypeFor[plugin.Driver](), "PluginDriverService", reflect.TypeOf(srv.DriverService()), apiserver.Unsupported,
			func(string) string { return "Driver" }},
	}
	for _, sp := range specs {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName("mmplugin.v1." + sp.service))
		if err != nil {
			return nil, fmt.Errorf("service %s is not in the compiled descriptors: %w", sp.service, err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := range sp.iface.NumMethod() {
			name := sp.iface.Method(i).Name
			if sp.iface == reflect.TypeFor[plugin.Hooks]() && name == "Implemented" {
				continue
			}
			m := &Method{Name: name, Area: sp.area(name), RPC: sd.Methods().ByName(protoreflect.Name(name)) != nil}
			_, has := sp.glue.MethodByName(name)
			m.GoNote = sp.unsup[name]
			m.Go = has && m.GoNote == ""
			*sp.out = append(*sp.out, m)
		}
	}
	r.PythonNote = pythonCoverage(o, r)
	if o.ExercisedPath != "" {
		line, err := exercised(o.ExercisedPath, len(r.API), len(r.Hooks))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			r.Exercised = line
		}
	}
	return r, nil
}

// surfaceDoc is the part of surface.json the report reads.
type surfaceDoc struct {
	API, Hooks, Driver []struct {
		Go      string   `json:"go"`
		Python  string   `json:"python"`
		Clients []string `json:"clients"`
	}
}

// pythonCoverage sets Method.Python and returns a note when coverage could not be checked.
func pythonCoverage(o Options, r *Report) string {
	b, err := os.ReadFile(o.SurfacePath)
	if err != nil {
		return fmt.Sprintf("Python counted as missing: %s not readable (%v); it is written by `make generate` (internal/gen/pygen)", o.SurfacePath, err)
	}
	var doc surfaceDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Sprintf("Python counted as missing: %s: %v", o.SurfacePath, err)
	}
	// Each listed method is then looked up on the Python classes that should have it. For
	// hooks the generated servicer must define the RPC itself: its grpc base class has every
	// RPC, answering UNIMPLEMENTED.
	var checks []pyCheck
	index := map[*Method][]int{}
	for _, part := range []struct {
		methods []*Method
		listed  []struct {
			Go      string   `json:"go"`
			Python  string   `json:"python"`
			Clients []string `json:"clients"`
		}
		hooks bool
	}{{r.API, doc.API, false}, {r.Hooks, doc.Hooks, true}, {r.Driver, doc.Driver, false}} {
		byName := map[string]*Method{}
		for _, m := range part.methods {
			byName[m.Name] = m
		}
		for _, e := range part.listed {
			m := byName[e.Go]
			if m == nil || len(e.Clients) == 0 {
				continue
			}
			for _, c := range e.Clients {
				attr, own := e.Python, false
				if part.hooks {
					attr, own = e.Go, true
				}
				index[m] = append(index[m], len(checks))
				checks = append(checks, pyCheck{Class: c, Attr: attr, Own: own})
			}
		}
	}
	if o.Python == "" {
		for m := range index {
			m.Python = true
		}
		return "Python classes not introspected (no interpreter): trusting surface.json"
	}
	ok, err := runPyChecks(o.Python, o.PythonPath, checks)
	if err != nil {
		return "Python counted as missing: " + err.Error()
	}
	for m, idx := range index {
		m.Python = true
		for _, i := range idx {
			m.Python = m.Python && ok[i]
		}
	}
	return ""
}

// exercised renders the harness's counts as "exercised: api X/N hooks Y/M", counting names of
// the pinned interfaces only (Implemented excluded, as in the parity line).
func exercised(path string, nAPI, nHooks int) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	// The format of internal/harness.ExercisedFile: call counts by Go method name.
	var f struct {
		API   map[string]int `json:"api"`
		Hooks map[string]int `json:"hooks"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	count := func(calls map[string]int, iface reflect.Type) int {
		n := 0
		for name, c := range calls {
			if _, ok := iface.MethodByName(name); ok && c > 0 && name != "Implemented" {
				n++
			}
		}
		return n
	}
	return fmt.Sprintf("exercised: api %d/%d hooks %d/%d",
		count(f.API, reflect.TypeFor[plugin.API]()), nAPI, count(f.Hooks, reflect.TypeFor[plugin.Hooks]()), nHooks), nil
}

// Write prints one line per area, the missing methods by name, and the summary line
// "parity: api A/N hooks B/M driver C/K".
func (r *Report) Write(w io.Writer) {
	areas := map[string][]*Method{}
	var order []string
	for _, ms := range [][]*Method{r.API, r.Hooks, r.Driver} {
		var names []string
		for _, m := range ms {
			if _, ok := areas[m.Area]; !ok {
				names = append(names, m.Area)
			}
			areas[m.Area] = append(areas[m.Area], m)
		}
		sort.Strings(names)
		order = append(order, names...)
	}
	for _, a := range order {
		ms := areas[a]
		var miss []string
		for _, m := range ms {
			if s := m.Missing(); s != "" {
				miss = append(miss, m.Name+" ("+s+")")
			}
		}
		line := fmt.Sprintf("%-20s %3d/%-3d", a, len(ms)-len(miss), len(ms))
		if len(miss) > 0 {
			line += "  missing: " + strings.Join(miss, "; ")
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	if r.PythonNote != "" {
		fmt.Fprintln(w, "note:", r.PythonNote)
	}
	if r.Exercised != "" {
		fmt.Fprintln(w, r.Exercised)
	}
	fmt.Fprintf(w, "parity: api %d/%d hooks %d/%d driver %d/%d\n",
		complete(r.API), len(r.API), complete(r.Hooks), len(r.Hooks), complete(r.Driver), len(r.Driver))
}

func complete(ms []*Method) int {
	n := 0
	for _, m := range ms {
		if m.Missing() == "" {
			n++
		}
	}
	return n
}

// Complete reports whether every method is fully covered.
func (r *Report) Complete() bool {
	return complete(r.API) == len(r.API) && complete(r.Hooks) == len(r.Hooks) && complete(r.Driver) == len(r.Driver)
}
