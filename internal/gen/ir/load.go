package ir

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/gen"
)

// Options configure Load.
type Options struct {
	// FieldNumbersPath is the field-number table (default proto/fieldnumbers.json, relative
	// to the working directory, which must be the repository root).
	FieldNumbersPath string
	// ModuleDir overrides where the pinned module's source is read from (default: asked from
	// `go list -m`).
	ModuleDir string
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	errorType    = reflect.TypeFor[error]()
	appErrorType = reflect.TypeFor[model.AppError]()
	contextType  = reflect.TypeFor[*plugin.Context]()
	byteType     = reflect.TypeFor[byte]()
	streamTypes  = map[reflect.Type]bool{
		reflect.TypeFor[io.Reader]():           true,
		reflect.TypeFor[io.Writer]():           true,
		reflect.TypeFor[http.ResponseWriter](): true,
		reflect.TypeFor[*http.Request]():       true,
		reflect.TypeFor[*http.Response]():      true,
	}
)

// Load builds the Surface of the pinned module.
func Load(opts Options) (*Surface, error) {
	if opts.FieldNumbersPath == "" {
		opts.FieldNumbersPath = filepath.Join("proto", "fieldnumbers.json")
	}
	dir, version := opts.ModuleDir, ""
	if dir == "" {
		var err error
		if dir, version, err = moduleDir(); err != nil {
			return nil, err
		}
	}
	numbers, err := LoadFieldNumbers(opts.FieldNumbersPath)
	if err != nil {
		return nil, err
	}
	s := &Surface{
		Module: MattermostModule, Version: version, Numbers: numbers,
		byGo: map[reflect.Type]*Type{}, wrappers: map[string]*Wrapper{}, refs: map[reflect.Type]*TypeRef{},
	}
	services := []struct {
		svc     Service
		iface   reflect.Type
		file    string
		name    string
		special map[string]gen.Special
		out     *[]*Method
	}{
		{ServiceAPI, reflect.TypeFor[plugin.API](), "api.go", "API", gen.APISpecial, &s.API},
		{ServiceHooks, reflect.TypeFor[plugin.Hooks](), "hooks.go", "Hooks", gen.HooksSpecial, &s.Hooks},
		{ServiceDriver, reflect.TypeFor[plugin.Driver](), "driver.go", "Driver", gen.DriverSpecial, &s.Driver},
	}
	for _, sv := range services {
		ms, err := s.loadService(sv.svc, sv.iface, filepath.Join(dir, "plugin", sv.file), sv.name, sv.special)
		if err != nil {
			return nil, err
		}
		*sv.out = ms
	}
	if err := s.applyHookResults(); err != nil {
		return nil, err
	}
	for _, g := range gen.GobTypes {
		r, err := s.ref(g.Type, "")
		if err != nil {
			return nil, fmt.Errorf("gob type %s: %w", g.Name, err)
		}
		d := &DynamicType{Name: g.Name, Go: g.Type, Ref: r}
		switch {
		case r.Kind == KindPointer && r.Elem.Kind == KindMessage:
			d.Message = r.Elem.Message.Name
			r.Elem.Message.Dynamic = true
		case r.Kind == KindMessage:
			d.Message = r.Message.Name
			r.Message.Dynamic = true
		case r.Kind == KindList || r.Kind == KindMap:
			w, err := s.wrapper(r)
			if err != nil {
				return nil, fmt.Errorf("gob type %s: %w", g.Name, err)
			}
			d.Message = w.Name
		default:
			return nil, fmt.Errorf("gob type %s: kind %v cannot be a TypedValue", g.Name, r.Kind)
		}
		s.Dynamic = append(s.Dynamic, d)
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	return s, nil
}

// applyHookResults gives every hook its row of gen.HookResults and checks the rows' parameter
// names against the hook's signature.
func (s *Surface) applyHookResults() error {
	seen := map[string]bool{}
	for _, m := range s.Hooks {
		r, ok := gen.HookResults[m.Name]
		if !ok {
			return fmt.Errorf("internal/gen/hookresults.go has no row for hook %s: read what the server does with its results (server/channels/app) and add one", m.Name)
		}
		seen[m.Name] = true
		for what, p := range map[string]string{"DefaultFromParam": r.DefaultFromParam, "NoneKeeps": r.NoneKeeps} {
			if p == "" {
				continue
			}
			i := slices.IndexFunc(m.Params, func(x *Param) bool { return x.GoName == p })
			if i < 0 {
				return fmt.Errorf("hook %s: %s %q is not a parameter", m.Name, what, p)
			}
			if len(m.Results) == 0 || m.Results[0].Type.Go != m.Params[i].Type.Go {
				return fmt.Errorf("hook %s: %s %q does not match the first result", m.Name, what, p)
			}
		}
		m.Result = r
	}
	for name := range gen.HookResults {
		if !seen[name] {
			return fmt.Errorf("internal/gen/hookresults.go has a row for %s, which the pinned plugin.Hooks lacks", name)
		}
	}
	return nil
}

func (s *Surface) loadService(svc Service, iface reflect.Type, file, name string, special map[string]gen.Special) ([]*Method, error) {
	srcs, err := parseInterface(file, name)
	if err != nil {
		return nil, err
	}
	if len(srcs) != iface.NumMethod() {
		return nil, fmt.Errorf("%s: source has %d methods, the compiled interface %d: the module source and the build disagree", file, len(srcs), iface.NumMethod())
	}
	for k := range special {
		if _, ok := iface.MethodByName(k); !ok {
			return nil, fmt.Errorf("internal/gen/special.go names %s.%s, which the pinned interface lacks", name, k)
		}
	}
	var out []*Method
	for _, src := range srcs {
		rm, ok := iface.MethodByName(src.name)
		if !ok {
			return nil, fmt.Errorf("%s.%s is in the source but not in the compiled interface", name, src.name)
		}
		m, err := s.loadMethod(svc, rm.Type, src, special[src.name])
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, src.name, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Surface) loadMethod(svc Service, ft reflect.Type, src srcMethod, sp gen.Special) (*Method, error) {
	m := &Method{Service: svc, Name: src.name, Doc: src.doc, MinVersion: src.minVersion, Tags: src.tags,
		Special: sp, Func: ft, Variadic: ft.IsVariadic()}
	if len(src.paramNames) != ft.NumIn() || len(src.resultNames) != ft.NumOut() {
		return nil, fmt.Errorf("source and compiled signatures differ")
	}
	hasStream := false
	for i := range ft.NumIn() {
		t := ft.In(i)
		p := &Param{GoName: src.paramNames[i], ProtoName: Snake(src.paramNames[i]), IsContext: t == contextType}
		if p.IsContext {
			p.ProtoName = gen.ContextParamName
		}
		if m.Variadic && i == ft.NumIn()-1 && t.Elem().Kind() != reflect.Interface {
			return nil, fmt.Errorf("variadic parameter of type %v: only ...any is supported", t)
		}
		r, err := s.ref(t, "")
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.GoName, err)
		}
		p.Type = r
		hasStream = hasStream || r.Kind == KindStream
		m.Params = append(m.Params, p)
	}
	for i := range ft.NumOut() {
		t := ft.Out(i)
		if i == ft.NumOut()-1 && t == reflect.PointerTo(appErrorType) {
			m.ErrorStyle = ErrorApp
			continue
		}
		if i == ft.NumOut()-1 && t == errorType {
			m.ErrorStyle = ErrorPlain
			continue
		}
		r, err := s.ref(t, "")
		if err != nil {
			return nil, fmt.Errorf("result %d: %w", i+1, err)
		}
		hasStream = hasStream || r.Kind == KindStream
		m.Results = append(m.Results, &Param{GoName: src.resultNames[i], Type: r})
	}
	if hasStream && !m.Streaming() {
		return nil, fmt.Errorf("has an io/http parameter or result but no streaming entry in internal/gen/special.go")
	}
	if !hasStream && m.Streaming() {
		return nil, fmt.Errorf("is a stream in internal/gen/special.go but has no io/http parameter")
	}
	return m, s.layoutMethod(m)
}

// layoutMethod decides which parameters and results go into which message.
func (s *Surface) layoutMethod(m *Method) error {
	copyParam := func(p *Param) *Param { c := *p; return &c }
	for _, p := range m.Params {
		if p.Type.Kind == KindStream {
			continue
		}
		if m.Special.Kind == gen.KindPluginConfigJSON {
			continue // dest is an out-parameter; the config comes back as JSON
		}
		m.RequestFields = append(m.RequestFields, copyParam(p))
	}
	switch len(m.Results) {
	case 0:
	case 1:
		r := copyParam(m.Results[0])
		r.ProtoName = "result"
		m.ResponseFields = append(m.ResponseFields, r)
	default:
		for i, res := range m.Results {
			r := copyParam(res)
			r.ProtoName = fmt.Sprintf("result_%d", i+1)
			if res.GoName != "" {
				r.ProtoName = Snake(res.GoName)
			}
			m.ResponseFields = append(m.ResponseFields, r)
		}
	}
	switch m.Special.Kind {
	case gen.KindPluginConfigJSON:
		r, err := s.ref(reflect.TypeFor[[]byte](), "")
		if err != nil {
			return err
		}
		m.ResponseFields = append(m.ResponseFields, &Param{ProtoName: "config_json", Type: r})
	case gen.KindOutParam:
		found := false
		for _, p := range m.Params {
			if p.GoName == m.Special.OutParam {
				m.ResponseFields = append(m.ResponseFields, copyParam(p))
				found = true
			}
		}
		if !found {
			return fmt.Errorf("out parameter %q not found", m.Special.OutParam)
		}
	}
	switch m.Special.Kind {
	case gen.KindHTTPHook, gen.KindPluginHTTP:
		// The shared HTTPRequestHead / HTTPResponseHead carry everything.
		m.RequestFields, m.ResponseFields = nil, nil
		return nil
	case gen.KindReaderUpload:
		m.RequestMessage, m.ResponseMessage = m.Name+"RequestHead", m.ResponseName()
	case gen.KindUploadHook:
		m.RequestMessage, m.ResponseMessage = m.Name+"RequestHead", m.Name+"Result"
	default:
		m.RequestMessage, m.ResponseMessage = m.RequestName(), m.ResponseName()
	}
	var err error
	if m.RequestEmpty, err = s.numberParams(m.RequestMessage, m.RequestFields, ""); err != nil {
		return err
	}
	if m.ResponseEmpty, err = s.numberParams(m.ResponseMessage, m.ResponseFields, m.ErrorField()); err != nil {
		return err
	}
	if m.ErrorStyle != ErrorNone {
		m.ErrorNumber = s.Numbers.Messages[m.ResponseMessage].Fields[m.ErrorField()]
	}
	return nil
}

// numberParams makes the names unique, adds the error and `empty` fields and assigns numbers.
func (s *Surface) numberParams(msg string, ps []*Param, errField string) (int32, error) {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.ProtoName
	}
	names = uniqueNames(names)
	needsEmpty := false
	for i, p := range ps {
		p.ProtoName = names[i]
		sh, err := s.shape(p.Type)
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %w", msg, p.ProtoName, err)
		}
		needsEmpty = needsEmpty || sh.NeedsEmpty
	}
	all := names
	if errField != "" {
		all = append(all, errField)
	}
	if needsEmpty {
		all = append(all, "empty")
	}
	nums, _ := s.Numbers.Assign(msg, all)
	for i, p := range ps {
		p.Number = nums[i]
	}
	if needsEmpty {
		return nums[len(nums)-1], nil
	}
	return 0, nil
}

// ref returns the TypeRef of t, walking struct fields on first sight. hint names anonymous
// structs after the field holding them.
func (s *Surface) ref(t reflect.Type, hint string) (*TypeRef, error) {
	if r, ok := s.refs[t]; ok {
		return r, nil
	}
	r := &TypeRef{Go: t, ArrayLen: -1}
	s.refs[t] = r
	if err := s.fill(r, hint); err != nil {
		delete(s.refs, t)
		return nil, err
	}
	return r, nil
}

func (s *Surface) fill(r *TypeRef, hint string) error {
	t := r.Go
	switch {
	case t == timeType:
		r.Kind = KindTimestamp
		return nil
	case t == errorType:
		r.Kind = KindError
		return nil
	case t == appErrorType:
		r.Kind = KindAppError
		return nil
	case streamTypes[t]:
		r.Kind = KindStream
		return nil
	}
	var err error
	switch t.Kind() {
	case reflect.Bool:
		r.Kind, r.Scalar = KindScalar, "bool"
	case reflect.String:
		r.Kind, r.Scalar = KindScalar, "string"
	case reflect.Int, reflect.Int64:
		r.Kind, r.Scalar = KindScalar, "int64"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		r.Kind, r.Scalar = KindScalar, "int32"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		r.Kind, r.Scalar = KindScalar, "uint32"
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		r.Kind, r.Scalar = KindScalar, "uint64"
	case reflect.Float32:
		r.Kind, r.Scalar = KindScalar, "float"
	case reflect.Float64:
		r.Kind, r.Scalar = KindScalar, "double"
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Array {
			r.ArrayLen = t.Len()
		}
		if t.Elem() == byteType {
			r.Kind = KindBytes
			return nil
		}
		r.Kind = KindList
		r.Elem, err = s.ref(t.Elem(), hint)
	case reflect.Map:
		r.Kind = KindMap
		if r.Key, err = s.ref(t.Key(), hint); err != nil {
			return err
		}
		r.Elem, err = s.ref(t.Elem(), hint)
	case reflect.Pointer:
		r.Kind = KindPointer
		r.Elem, err = s.ref(t.Elem(), hint)
	case reflect.Interface:
		r.Kind = KindValue
	case reflect.Struct:
		r.Kind = KindMessage
		r.Message, err = s.structType(t, hint)
	default:
		return fmt.Errorf("Go type %v (%v) cannot cross the protocol", t, t.Kind())
	}
	return err
}

func (s *Surface) structType(t reflect.Type, hint string) (*Type, error) {
	if ty, ok := s.byGo[t]; ok {
		return ty, nil
	}
	name, err := messageName(t, hint)
	if err != nil {
		return nil, err
	}
	ty := &Type{Go: t, Name: name, GoPkg: t.PkgPath(), GoName: t.Name()}
	s.byGo[t] = ty
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue // gob ignores unexported fields, so do we
		}
		switch f.Type.Kind() {
		case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
			// gob treats func and chan fields like unexported ones.
			ty.Skipped = append(ty.Skipped, f.Name+" ("+f.Type.Kind().String()+")")
			continue
		}
		jsonName, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if jsonName == "-" {
			jsonName = ""
		}
		fld := &Field{GoName: f.Name, Index: i, JSONName: jsonName, Embedded: f.Anonymous}
		switch {
		case jsonName != "":
			fld.ProtoName = Snake(jsonName)
		default:
			fld.ProtoName = Snake(f.Name)
		}
		if fld.Type, err = s.ref(f.Type, name+f.Name); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		ty.Fields = append(ty.Fields, fld)
	}
	return ty, nil
}

// messageName names the message of a struct type: package prefix + type name, with generic
// type arguments appended ("PropertyOptions[*model.X]" → "PropertyOptionsX").
func messageName(t reflect.Type, hint string) (string, error) {
	if t.Name() == "" {
		if hint == "" {
			return "", fmt.Errorf("anonymous struct %v outside a named struct field", t)
		}
		return hint, nil
	}
	prefix, ok := gen.PackagePrefixes[t.PkgPath()]
	if !ok {
		return "", fmt.Errorf("type %v: package %q has no prefix in gen.PackagePrefixes (internal/gen/special.go)", t, t.PkgPath())
	}
	base, args, generic := strings.Cut(t.Name(), "[")
	if generic {
		for _, a := range strings.Split(strings.TrimSuffix(args, "]"), ",") {
			a = a[strings.LastIndexAny(a, "./*")+1:]
			base += Pascal(a)
		}
	}
	return prefix + base, nil
}

// finish assigns field numbers, creates wrappers and sorts everything.
func (s *Surface) finish() error {
	byName := map[string]*Type{}
	for _, ty := range s.byGo {
		if other, ok := byName[ty.Name]; ok {
			return fmt.Errorf("message name %s used by both %v and %v", ty.Name, other.Go, ty.Go)
		}
		byName[ty.Name] = ty
		s.Types = append(s.Types, ty)
	}
	sort.Slice(s.Types, func(i, j int) bool { return s.Types[i].Name < s.Types[j].Name })
	for _, ty := range s.Types {
		names := make([]string, len(ty.Fields))
		for i, f := range ty.Fields {
			names[i] = f.ProtoName
		}
		names = uniqueNames(names)
		needsEmpty := false
		for i, f := range ty.Fields {
			f.ProtoName = names[i]
			sh, err := s.shape(f.Type)
			if err != nil {
				return fmt.Errorf("%v.%s: %w", ty.Go, f.GoName, err)
			}
			needsEmpty = needsEmpty || sh.NeedsEmpty
		}
		if needsEmpty {
			names = append(names, "empty")
		}
		nums, reserved := s.Numbers.Assign(ty.Name, names)
		for i, f := range ty.Fields {
			f.Number = nums[i]
		}
		if needsEmpty {
			ty.EmptyNumber = nums[len(nums)-1]
		}
		ty.Reserved = reserved
	}
	s.frozen = true
	s.Wrappers = sortedWrappers(s.wrappers)
	for _, w := range s.Wrappers {
		if _, ok := byName[w.Name]; ok {
			return fmt.Errorf("wrapper name %s clashes with a model message", w.Name)
		}
	}
	// RPC messages must not clash with model messages or with each other (the three services
	// share one proto package).
	rpcNames := map[string]string{}
	for _, svc := range []Service{ServiceAPI, ServiceHooks, ServiceDriver} {
		for _, m := range s.Methods(svc) {
			own := map[string]bool{}
			for _, n := range []string{m.RequestName(), m.ResponseName(), m.RequestMessage, m.ResponseMessage} {
				if n == "" || own[n] {
					continue
				}
				own[n] = true
				if _, ok := byName[n]; ok {
					return fmt.Errorf("RPC message %s clashes with a model message", n)
				}
				if other, ok := rpcNames[n]; ok {
					return fmt.Errorf("RPC message %s is needed by both %s and %s.%s", n, other, svc.ProtoService(), m.Name)
				}
				rpcNames[n] = svc.ProtoService() + "." + m.Name
			}
		}
	}
	return nil
}
