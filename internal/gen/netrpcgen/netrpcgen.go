// Package netrpcgen writes the mechanical half of internal/netrpc, the adapter between
// Mattermost's go-plugin/net/rpc wire protocol and the plain plugin.Hooks / plugin.API
// interfaces:
//
//   - internal/netrpc/hooks_server_gen.go: one net/rpc method per hook on hooksServer,
//     decoding plugin.Z_<Hook>Args, calling Config.Hooks and filling plugin.Z_<Hook>Returns;
//   - internal/netrpc/api_client_gen.go: one plugin.API method per API method on apiClient,
//     calling Plugin.<Method> on the server's API stream.
//
// The argument and result structs are the ones Mattermost's own generated glue uses
// (server/public/plugin/client_rpc_generated.go), positional fields A, B, C…, so the gob
// encoding on the wire is byte-for-byte what a Go plugin sends. Methods whose wire shape is not
// the positional one, or whose client does more than a call (streams, JSON configuration,
// stringified logging), are listed in HandWrittenHooks / HandWrittenAPI and written by hand in
// internal/netrpc.
package netrpcgen

import (
	"bytes"
	"fmt"
	"go/format"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// HandWrittenHooks are the hooks hooksServer implements by hand, with the reason. Every other
// plugin.Hooks method is generated.
var HandWrittenHooks = map[string]string{
	"Implemented":        "answered from Config.Implemented, not forwarded",
	"OnActivate":         "dials the API and Driver back-channels before forwarding OnConfigurationChange and OnActivate",
	"ServeHTTP":          "response writer and request body are MuxBroker streams (Z_ServeHTTPArgs)",
	"ServeMetrics":       "response writer and request body are MuxBroker streams (Z_ServeMetricsArgs)",
	"FileWillBeUploaded": "upload and replacement are MuxBroker streams",
}

// HandWrittenAPI are the plugin.API methods apiClient implements by hand, with the reason.
var HandWrittenAPI = map[string]string{
	"LoadPluginConfiguration":               "the configuration crosses as JSON bytes (Z_LoadPluginConfigurationArgsArgs)",
	"LogDebug":                              "key/values are stringified before sending",
	"LogInfo":                               "key/values are stringified before sending",
	"LogWarn":                               "key/values are stringified before sending",
	"LogError":                              "key/values are stringified before sending",
	"LogAuditRec":                           "the record's maps are made gob-safe before sending",
	"LogAuditRecWithLevel":                  "the record's maps are made gob-safe before sending",
	"PluginHTTP":                            "streamed request/response bodies with a buffered fallback",
	"InstallPlugin":                         "the bundle io.Reader is served on a MuxBroker stream",
	"UploadData":                            "the data io.Reader is served on a MuxBroker stream",
	"ReceiveSharedChannelAttachmentSyncMsg": "the data io.Reader is served on a MuxBroker stream",
}

// Output paths, relative to the repository root.
var (
	HooksServerPath = filepath.Join("internal", "netrpc", "hooks_server_gen.go")
	APIClientPath   = filepath.Join("internal", "netrpc", "api_client_gen.go")
)

// Generate returns the generated files keyed by their path relative to the repository root.
func Generate(s *ir.Surface) (map[string][]byte, error) {
	hooks, err := hooksServer(s)
	if err != nil {
		return nil, fmt.Errorf("netrpcgen: %s: %w", HooksServerPath, err)
	}
	api, err := apiClient(s)
	if err != nil {
		return nil, fmt.Errorf("netrpcgen: %s: %w", APIClientPath, err)
	}
	return map[string][]byte{HooksServerPath: hooks, APIClientPath: api}, nil
}

// positional is the field name Mattermost's generator gives the i-th argument or result.
func positional(i int) string {
	if i >= 26 {
		panic("netrpcgen: more than 26 positional fields")
	}
	return string(rune('A' + i))
}

func hooksServer(s *ir.Surface) ([]byte, error) {
	f := newFile("hooks_server_gen.go: the mechanical hook RPCs of hooksServer")
	f.use("github.com/mattermost/mattermost/server/public/plugin")
	if err := checkCovered(s.Hooks, HandWrittenHooks, "plugin.Hooks"); err != nil {
		return nil, err
	}
	for _, m := range s.Hooks {
		if _, ok := HandWrittenHooks[m.Name]; ok {
			continue
		}
		ft := m.Func
		var call []string
		for i := range ft.NumIn() {
			call = append(call, "args."+positional(i))
		}
		var lhs []string
		var encode []string
		for i := range ft.NumOut() {
			field := "returns." + positional(i)
			lhs = append(lhs, field)
			if ft.Out(i) == errorType {
				encode = append(encode, fmt.Sprintf("%s = encodeError(%s)", field, field))
			}
		}
		fmt.Fprintf(&f.body, "\n// %s forwards the hook to Config.Hooks.\n", m.Name)
		fmt.Fprintf(&f.body, "func (s *hooksServer) %s(args *plugin.Z_%sArgs, returns *plugin.Z_%sReturns) error {\n", m.Name, m.Name, m.Name)
		fmt.Fprintf(&f.body, "\tif !s.implements(%q) {\n\t\treturn notImplementedError(%q)\n\t}\n", m.Name, m.Name)
		invocation := fmt.Sprintf("s.hooks.%s(%s)", m.Name, strings.Join(call, ", "))
		if len(lhs) == 1 && len(encode) == 1 {
			// A lone error result is encoded in place.
			invocation, encode = "encodeError("+invocation+")", nil
		}
		if len(lhs) > 0 {
			fmt.Fprintf(&f.body, "\t%s = %s\n", strings.Join(lhs, ", "), invocation)
		} else {
			fmt.Fprintf(&f.body, "\t%s\n", invocation)
		}
		for _, e := range encode {
			fmt.Fprintf(&f.body, "\t%s\n", e)
		}
		fmt.Fprintf(&f.body, "\treturn nil\n}\n")
	}
	return f.format()
}

// reservedNames are the identifiers the generated API methods use themselves; a parameter with
// one of these names is renamed.
var reservedNames = map[string]bool{"api": true, "args": true, "returns": true, "err": true, "plugin": true, "model": true}

func apiClient(s *ir.Surface) ([]byte, error) {
	f := newFile("api_client_gen.go: the mechanical plugin.API methods of apiClient")
	f.use("github.com/mattermost/mattermost/server/public/plugin")
	if err := checkCovered(s.API, HandWrittenAPI, "plugin.API"); err != nil {
		return nil, err
	}
	for _, m := range s.API {
		if _, ok := HandWrittenAPI[m.Name]; ok {
			continue
		}
		ft := m.Func
		if ft.IsVariadic() {
			return nil, fmt.Errorf("%s is variadic: list it in HandWrittenAPI", m.Name)
		}
		var params, fields []string
		for i := range ft.NumIn() {
			name := m.Params[i].GoName
			switch {
			case name == "" || name == "_":
				name = fmt.Sprintf("p%d", i)
			case reservedNames[name]:
				name += "_"
			}
			t, err := f.typeString(ft.In(i))
			if err != nil {
				return nil, fmt.Errorf("%s parameter %d: %w", m.Name, i, err)
			}
			params = append(params, name+" "+t)
			fields = append(fields, positional(i)+": "+name)
		}
		var results, values []string
		for i := range ft.NumOut() {
			t, err := f.typeString(ft.Out(i))
			if err != nil {
				return nil, fmt.Errorf("%s result %d: %w", m.Name, i, err)
			}
			results = append(results, t)
			v := "returns." + positional(i)
			if i == ft.NumOut()-1 && ft.Out(i) == errorType {
				v = "decodeError(" + v + ")"
			}
			values = append(values, v)
		}
		resultList := strings.Join(results, ", ")
		if len(results) > 1 {
			resultList = "(" + resultList + ")"
		}

		fmt.Fprintf(&f.body, "\n// %s calls Plugin.%s on the server.\n", m.Name, m.Name)
		fmt.Fprintf(&f.body, "func (api *apiClient) %s(%s) %s {\n", m.Name, strings.Join(params, ", "), resultList)
		fmt.Fprintf(&f.body, "\targs := &plugin.Z_%sArgs{%s}\n", m.Name, strings.Join(fields, ", "))
		fmt.Fprintf(&f.body, "\treturns := &plugin.Z_%sReturns{}\n", m.Name)
		fmt.Fprintf(&f.body, "\tif err := api.client.Call(\"Plugin.%s\", args, returns); err != nil {\n", m.Name)
		switch m.ErrorStyle {
		case ir.ErrorApp:
			fmt.Fprintf(&f.body, "\t\treturn %s\n", strings.Join(append(values[:len(values)-1:len(values)-1], fmt.Sprintf("callFailedAppError(%q, err)", m.Name)), ", "))
		case ir.ErrorPlain:
			fmt.Fprintf(&f.body, "\t\treturn %s\n", strings.Join(append(values[:len(values)-1:len(values)-1], fmt.Sprintf("callFailedError(%q, err)", m.Name)), ", "))
		default:
			fmt.Fprintf(&f.body, "\t\tapi.logCallFailed(%q, err)\n", m.Name)
		}
		fmt.Fprintf(&f.body, "\t}\n")
		if len(values) > 0 {
			fmt.Fprintf(&f.body, "\treturn %s\n", strings.Join(values, ", "))
		}
		fmt.Fprintf(&f.body, "}\n")
	}
	return f.format()
}

// checkCovered fails when a hand-written entry names a method the interface does not have
// (a stale table after a Mattermost upgrade would otherwise silently drop a method).
func checkCovered(methods []*ir.Method, handWritten map[string]string, iface string) error {
	names := map[string]bool{}
	for _, m := range methods {
		names[m.Name] = true
	}
	var stale []string
	for name := range handWritten {
		if !names[name] {
			stale = append(stale, name)
		}
	}
	slices.Sort(stale)
	if len(stale) > 0 {
		return fmt.Errorf("hand-written entries %v are not %s methods in the pinned module; update the table in internal/gen/netrpcgen", stale, iface)
	}
	return nil
}

var errorType = reflect.TypeFor[error]()

// packageNames are the Go package names of the import paths reachable from the signatures;
// reflection knows a type's import path but not its package's name. A missing path is an
// error, so a new dependency is named consciously.
var packageNames = map[string]string{
	"github.com/mattermost/mattermost/server/public/model":       "model",
	"github.com/mattermost/mattermost/server/public/plugin":      "plugin",
	"github.com/mattermost/mattermost/server/public/shared/mlog": "mlog",
	"github.com/mattermost/logr/v2":                              "logr",
	"github.com/mattermost/gosaml2":                              "saml2",
	"database/sql/driver":                                        "driver",
	"encoding/json":                                              "json",
	"io":                                                         "io",
	"net/http":                                                   "http",
	"net/url":                                                    "url",
	"time":                                                       "time",
}

// file accumulates one generated Go file and the imports it needs.
type file struct {
	what    string
	imports map[string]string // path → name
	body    bytes.Buffer
}

func newFile(what string) *file {
	return &file{what: what, imports: map[string]string{}}
}

func (f *file) use(path string) string {
	name := packageNames[path]
	f.imports[path] = name
	return name
}

// typeString spells t as Go source, recording the imports it needs.
func (f *file) typeString(t reflect.Type) (string, error) {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			if t == errorType {
				return "error", nil
			}
			return t.Name(), nil // predeclared
		}
		if strings.Contains(t.Name(), "[") {
			return "", fmt.Errorf("generic type %v is not supported; hand-write the method", t)
		}
		name, ok := packageNames[t.PkgPath()]
		if !ok {
			return "", fmt.Errorf("no package name known for import path %q (add it to packageNames in internal/gen/netrpcgen)", t.PkgPath())
		}
		f.use(t.PkgPath())
		return name + "." + t.Name(), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		e, err := f.typeString(t.Elem())
		return "*" + e, err
	case reflect.Slice:
		e, err := f.typeString(t.Elem())
		return "[]" + e, err
	case reflect.Array:
		e, err := f.typeString(t.Elem())
		return fmt.Sprintf("[%d]%s", t.Len(), e), err
	case reflect.Map:
		k, err := f.typeString(t.Key())
		if err != nil {
			return "", err
		}
		v, err := f.typeString(t.Elem())
		return "map[" + k + "]" + v, err
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any", nil
		}
	}
	return "", fmt.Errorf("type %v cannot be spelled by netrpcgen; hand-write the method", t)
}

func (f *file) format() ([]byte, error) {
	var out bytes.Buffer
	fmt.Fprintf(&out, "// Code generated by mmplugin-gen (internal/gen/netrpcgen). DO NOT EDIT.\n")
	fmt.Fprintf(&out, "// %s.\n\npackage netrpc\n\n", f.what)
	paths := make([]string, 0, len(f.imports))
	for p := range f.imports {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	out.WriteString("import (\n")
	for _, p := range paths {
		if name := f.imports[p]; name != lastElem(p) {
			fmt.Fprintf(&out, "\t%s %q\n", name, p)
		} else {
			fmt.Fprintf(&out, "\t%q\n", p)
		}
	}
	out.WriteString(")\n")
	out.Write(f.body.Bytes())
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated code: %w", err)
	}
	return src, nil
}

func lastElem(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}
