package gogluegen

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// file collects the body and imports of one generated Go file.
type file struct {
	pkg     string
	s       *ir.Surface
	imports map[string]string // path → name
	b       strings.Builder
}

func newFile(s *ir.Surface, pkg string) *file {
	return &file{pkg: pkg, s: s, imports: map[string]string{}}
}

// importNames fixes the names of packages whose last path element is unusual. logr.Level is
// spelled mlog.Level: it is the alias Mattermost's interfaces use.
var importNames = map[string]string{
	"github.com/mattermost/gosaml2":                              "saml2",
	"github.com/mattermost/gosaml2/types":                        "saml2types",
	"github.com/mattermost/mattermost/server/public/shared/mlog": "mlog",
	"github.com/mmplugin/mmplugin/internal/pb/mmpluginv1":        "pb",
	"github.com/mmplugin/mmplugin/internal/convert":              "convert",
}

func (f *file) use(path string) string {
	if n, ok := f.imports[path]; ok {
		return n
	}
	n, ok := importNames[path]
	if !ok {
		n = path[strings.LastIndex(path, "/")+1:]
	}
	f.imports[path] = n
	return n
}

func (f *file) printf(format string, args ...any) { fmt.Fprintf(&f.b, format, args...) }

// goType spells a Go type in the generated file, importing its package.
func (f *file) goType(t reflect.Type) string {
	if t.Name() != "" && t.PkgPath() != "" {
		if t.PkgPath() == "github.com/mattermost/logr/v2" && t.Name() == "Level" {
			return f.use("github.com/mattermost/mattermost/server/public/shared/mlog") + ".Level"
		}
		if strings.Contains(t.Name(), "[") {
			panic(fmt.Sprintf("gogluegen: generic type %v as a method parameter is not supported", t))
		}
		return f.use(t.PkgPath()) + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + f.goType(t.Elem())
	case reflect.Slice:
		return "[]" + f.goType(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), f.goType(t.Elem()))
	case reflect.Map:
		return "map[" + f.goType(t.Key()) + "]" + f.goType(t.Elem())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any"
		}
	}
	return t.String()
}

// zero is the zero-value literal of a Go type.
func (f *file) zero(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
		return "nil"
	case reflect.String:
		return `""`
	case reflect.Bool:
		return "false"
	case reflect.Struct, reflect.Array:
		return f.goType(t) + "{}"
	}
	return "0"
}

// pbScalar is the Go type protoc-gen-go uses for a proto scalar.
var pbScalar = map[string]string{
	"bool": "bool", "string": "string", "int64": "int64", "int32": "int32", "uint32": "uint32",
	"uint64": "uint64", "float": "float32", "double": "float64", "bytes": "[]byte",
}

// pbElem is the Go type of r's proto representation as a list element or map value.
func (f *file) pbElem(r *ir.TypeRef) string {
	t := f.s.ElemType(r)
	if s, ok := pbScalar[t]; ok {
		return s
	}
	if t == "google.protobuf.Timestamp" {
		return "*" + f.use("google.golang.org/protobuf/types/known/timestamppb") + ".Timestamp"
	}
	return "*" + f.use("github.com/mmplugin/mmplugin/internal/pb/mmpluginv1") + "." + t
}

func (f *file) conv() string { return f.use("github.com/mmplugin/mmplugin/internal/convert") }
func (f *file) pb() string   { return f.use("github.com/mmplugin/mmplugin/internal/pb/mmpluginv1") }

// expr is a conversion: code that evaluates to the converted value, or to (value, error) when
// fallible.
type expr struct {
	code     string
	fallible bool
}

// toPB converts the Go value src of type r to its proto field value.
func (f *file) toPB(r *ir.TypeRef, src string) (expr, error) {
	switch r.Kind {
	case ir.KindScalar:
		if r.Go.String() == pbScalar[r.Scalar] {
			return expr{code: src}, nil
		}
		return expr{code: pbScalar[r.Scalar] + "(" + src + ")"}, nil
	case ir.KindBytes:
		if r.Go.String() == "[]uint8" {
			return expr{code: src}, nil
		}
		return expr{code: "[]byte(" + src + ")"}, nil
	case ir.KindMessage:
		return expr{code: fmt.Sprintf("%s.%sToProto(&%s)", f.conv(), r.Message.Name, src), fallible: true}, nil
	case ir.KindValue:
		return expr{code: fmt.Sprintf("%s.ValueToProto(%s)", f.conv(), src), fallible: true}, nil
	case ir.KindError:
		return expr{code: fmt.Sprintf("%s.ErrorToProto(%s)", f.conv(), src)}, nil
	case ir.KindPointer:
		switch r.Elem.Kind {
		case ir.KindMessage:
			return expr{code: fmt.Sprintf("%s.%sToProto(%s)", f.conv(), r.Elem.Message.Name, src), fallible: true}, nil
		case ir.KindAppError:
			return expr{code: fmt.Sprintf("%s.AppErrorToProto(%s)", f.conv(), src)}, nil
		}
	case ir.KindList:
		if r.ArrayLen >= 0 {
			break
		}
		fn, err := f.elemToPB(r.Elem)
		if err != nil {
			return expr{}, err
		}
		return expr{code: fmt.Sprintf("listToPB(%s, %s)", src, fn), fallible: true}, nil
	case ir.KindMap:
		if r.Key.Go.String() != pbScalar[r.Key.Scalar] {
			break
		}
		fn, err := f.elemToPB(r.Elem)
		if err != nil {
			return expr{}, err
		}
		return expr{code: fmt.Sprintf("mapToPB(%s, %s)", src, fn), fallible: true}, nil
	}
	return expr{}, unsupported(r)
}

// fromPB converts the proto field value src back to the Go type of r.
func (f *file) fromPB(r *ir.TypeRef, src string, emptyField string, n int32) (expr, error) {
	gt := f.goType(r.Go)
	switch r.Kind {
	case ir.KindScalar:
		if gt == pbScalar[r.Scalar] {
			return expr{code: src}, nil
		}
		return expr{code: gt + "(" + src + ")"}, nil
	case ir.KindBytes:
		return expr{code: fmt.Sprintf("bytesFromPB[%s](%s, %s, %d)", gt, src, emptyField, n)}, nil
	case ir.KindMessage:
		return expr{code: fmt.Sprintf("deref(%s.%sFromProto(%s))", f.conv(), r.Message.Name, src), fallible: true}, nil
	case ir.KindValue:
		if gt == "any" {
			return expr{code: fmt.Sprintf("%s.ValueFromProto(%s)", f.conv(), src), fallible: true}, nil
		}
		return expr{code: fmt.Sprintf("valueAs[%s](%s)", gt, src), fallible: true}, nil
	case ir.KindError:
		return expr{code: fmt.Sprintf("%s.ErrorFromProto(%s)", f.conv(), src)}, nil
	case ir.KindPointer:
		switch r.Elem.Kind {
		case ir.KindMessage:
			return expr{code: fmt.Sprintf("%s.%sFromProto(%s)", f.conv(), r.Elem.Message.Name, src), fallible: true}, nil
		case ir.KindAppError:
			return expr{code: fmt.Sprintf("%s.AppErrorFromProto(%s)", f.conv(), src)}, nil
		}
	case ir.KindList:
		if r.ArrayLen >= 0 {
			break
		}
		fn, err := f.elemFromPB(r.Elem)
		if err != nil {
			return expr{}, err
		}
		return expr{code: fmt.Sprintf("listFromPB[%s](%s, %s, %s, %d)", gt, src, fn, emptyField, n), fallible: true}, nil
	case ir.KindMap:
		if r.Key.Go.String() != pbScalar[r.Key.Scalar] {
			break
		}
		fn, err := f.elemFromPB(r.Elem)
		if err != nil {
			return expr{}, err
		}
		return expr{code: fmt.Sprintf("mapFromPB[%s](%s, %s, %s, %d)", gt, src, fn, emptyField, n), fallible: true}, nil
	}
	return expr{}, unsupported(r)
}

// elemToPB returns a func(G) (P, error) converting one list element or map value.
func (f *file) elemToPB(r *ir.TypeRef) (string, error) {
	gt, pt := f.goType(r.Go), f.pbElem(r)
	switch r.Kind {
	case ir.KindScalar, ir.KindBytes:
		if gt == pt {
			return fmt.Sprintf("same[%s]", gt), nil
		}
		return fmt.Sprintf("func(v %s) (%s, error) { return %s(v), nil }", gt, pt, pt), nil
	case ir.KindMessage:
		return fmt.Sprintf("byValue(%s.%sToProto)", f.conv(), r.Message.Name), nil
	case ir.KindValue:
		return fmt.Sprintf("func(v %s) (%s, error) { return %s.ValueToProto(v) }", gt, pt, f.conv()), nil
	case ir.KindPointer:
		if r.Elem.Kind == ir.KindMessage {
			return fmt.Sprintf("nonNil(%q, %s.%sToProto)", r.Go.String(), f.conv(), r.Elem.Message.Name), nil
		}
	}
	return "", unsupported(r)
}

// elemFromPB returns a func(P) (G, error) converting one list element or map value back.
func (f *file) elemFromPB(r *ir.TypeRef) (string, error) {
	gt, pt := f.goType(r.Go), f.pbElem(r)
	switch r.Kind {
	case ir.KindScalar, ir.KindBytes:
		if gt == pt {
			return fmt.Sprintf("same[%s]", gt), nil
		}
		return fmt.Sprintf("func(v %s) (%s, error) { return %s(v), nil }", pt, gt, gt), nil
	case ir.KindMessage:
		return fmt.Sprintf("derefFunc(%s.%sFromProto)", f.conv(), r.Message.Name), nil
	case ir.KindValue:
		return fmt.Sprintf("valueAs[%s]", gt), nil
	case ir.KindPointer:
		if r.Elem.Kind == ir.KindMessage {
			return fmt.Sprintf("%s.%sFromProto", f.conv(), r.Elem.Message.Name), nil
		}
	}
	return "", unsupported(r)
}

func unsupported(r *ir.TypeRef) error {
	return fmt.Errorf("Go type %v (kind %d) as a method parameter or result has no glue conversion; add one to internal/gen/gogluegen/types.go", r.Go, r.Kind)
}

// fieldNames returns the Go names of a request/response message's fields.
func fieldNames(ps []*ir.Param, errField string, errNum int32) map[string]string {
	type nf struct {
		n    int32
		name string
	}
	var all []nf
	for _, p := range ps {
		all = append(all, nf{p.Number, p.ProtoName})
	}
	if errField != "" {
		all = append(all, nf{errNum, errField})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].n < all[j].n })
	names := make([]string, len(all))
	for i, x := range all {
		names[i] = x.name
	}
	return ir.PBGoFieldNames(append(names, "empty"))
}

func needsEmpty(r *ir.TypeRef) bool {
	return r.Kind == ir.KindList || r.Kind == ir.KindMap || r.Kind == ir.KindBytes
}

// source writes the file with its header and imports, gofmt'ed.
func (f *file) source() ([]byte, error) {
	var h strings.Builder
	fmt.Fprintf(&h, "// Code generated by cmd/mmplugin-gen from %s %s. DO NOT EDIT.\n\n", f.s.Module, f.s.Version)
	fmt.Fprintf(&h, "package %s\n\n", f.pkg)
	if len(f.imports) > 0 {
		paths := make([]string, 0, len(f.imports))
		for p := range f.imports {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		h.WriteString("import (\n")
		for _, p := range paths {
			n := f.imports[p]
			if n == p[strings.LastIndex(p, "/")+1:] {
				fmt.Fprintf(&h, "%q\n", p)
			} else {
				fmt.Fprintf(&h, "%s %q\n", n, p)
			}
		}
		h.WriteString(")\n\n")
	}
	return formatSource(h.String() + f.b.String())
}
