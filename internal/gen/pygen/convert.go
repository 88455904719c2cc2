package pygen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// convert writes _gen/convert.py: <name>_to_pb / <name>_from_pb for every model message and
// wrapper, built field by field (no dict round trips), the TypedValue registry handed to
// mmplugin._values, and MODELS, the codec list tests iterate.
func (g *generator) convert() (string, error) {
	var body writer
	body.WriteRaw(convertHelpers)
	seen := map[string]string{}
	for _, t := range g.s.Types {
		fn := funcName(t.Name)
		if other, ok := seen[fn]; ok {
			return "", fmt.Errorf("messages %s and %s both map to the Python function name %s", other, t.Name, fn)
		}
		seen[fn] = t.Name
		body.blank(2)
		if err := g.writeToPB(&body, t); err != nil {
			return "", err
		}
		body.blank(2)
		g.writeFromPB(&body, t)
	}
	for _, wr := range g.s.Wrappers {
		body.blank(2)
		g.writeWrapper(&body, wr)
	}
	g.writeTypedRegistry(&body)
	g.writeModelRegistry(&body)

	var w writer
	g.header(&w, "Converters between the model dataclasses (mmplugin._gen.models) and the protobuf messages\n"+
		"(mmplugin.v1.models_pb2), one pair per message: <name>_to_pb and <name>_from_pb.\n\n"+
		"The `empty` field of a message lists the slice, map and bytes fields that are empty but not\n"+
		"nil; the helpers below read and write it so that None (nil) and []/{}/b\"\" stay different.")
	src := body.String()
	w.line(0, "from collections.abc import Callable, Container, Mapping, Sequence")
	if usesWord(src, "datetime") {
		w.line(0, "from datetime import datetime")
	}
	w.line(0, "from typing import Any, NamedTuple, TypeVar")
	w.blank(1)
	w.line(0, "from google.protobuf.message import Message")
	w.blank(1)
	w.line(0, "from mmplugin import _values as _v")
	w.line(0, "from mmplugin import errors as _e")
	w.line(0, "from mmplugin._gen import models as md")
	var errNames []string
	for _, n := range []string{"AppError", "PluginAPIError"} {
		if usesWord(src, n) {
			errNames = append(errNames, n)
		}
	}
	if len(errNames) > 0 {
		w.line(0, "from mmplugin.errors import %s", strings.Join(errNames, ", "))
	}
	w.line(0, "from mmplugin.v1 import models_pb2 as _m")
	w.blank(1)
	w.line(0, `_T = TypeVar("_T")`)
	w.line(0, `_U = TypeVar("_U")`)
	w.line(0, `_K = TypeVar("_K")`)
	w.WriteRaw(src)
	return w.String(), nil
}

// usesWord reports whether src mentions name as a whole identifier outside "x.name" access.
func usesWord(src, name string) bool {
	for i := 0; ; {
		j := strings.Index(src[i:], name)
		if j < 0 {
			return false
		}
		j += i
		before := byte(' ')
		if j > 0 {
			before = src[j-1]
		}
		after := byte(' ')
		if k := j + len(name); k < len(src) {
			after = src[k]
		}
		if !isIdentByte(before) && before != '.' && !isIdentByte(after) {
			return true
		}
		i = j + len(name)
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// WriteRaw appends text verbatim.
func (w *writer) WriteRaw(s string) { w.b.WriteString(s) }

const convertHelpers = `

# The Go nil slices, maps and bytes that Python shows as empty (see mmplugin._values): they go
# back as nil, not as empty.
_NILS = (_v.GoNilList, _v.GoNilMap, _v.GoNilBytes)


def _mark(x: _T | None, n: int, e: list[int]) -> _T | None:
    """x for a proto field; records field n in e when x is empty but not None."""
    if x:
        return x
    if x is not None and not isinstance(x, _NILS):
        e.append(n)
    return None


def _mbytes(x: bytes | None, n: int, e: list[int]) -> bytes:
    """A []byte field: nil is unset, an empty non-nil slice is marked in e."""
    if x:
        return x
    if x is not None and type(x) is not _v.GoNilBytes:
        e.append(n)
    return b""


def _pbytes(x: bytes | None, n: int, e: list[int]) -> bytes | None:
    """A *[]byte: presence is the pointer, e marks an empty non-nil slice."""
    if x is None or x:
        return x
    if type(x) is _v.GoNilBytes:
        return b""
    e.append(n)
    return x


def _opt(f: Callable[[_T], _U], x: _T | None) -> _U | None:
    return None if x is None else f(x)


def _list(f: Callable[[_T], _U], x: list[_T] | None, n: int, e: list[int]) -> list[_U] | None:
    if x:
        return [f(i) for i in x]
    if x is not None and not isinstance(x, _NILS):
        e.append(n)
    return None


def _map(
    f: Callable[[_T], _U],
    x: dict[_K, _T] | None,
    n: int,
    e: list[int],
) -> dict[_K, _U] | None:
    if x:
        return {k: f(i) for k, i in x.items()}
    if x is not None and not isinstance(x, _NILS):
        e.append(n)
    return None


def _ubytes(x: bytes, n: int, e: Container[int]) -> bytes | None:
    return x if x or n in e else None


def _upbytes(x: bytes, n: int, e: Container[int]) -> bytes:
    """A present *[]byte: empty and unmarked is a pointer to a nil slice."""
    return x if x or n in e else _v.GoNilBytes()


def _nil_list(x: list[_T] | None) -> list[_T]:
    """A present *[]T: a nil slice behind the pointer reads as GoNilList."""
    return _v.GoNilList() if x is None else x


def _nil_map(x: dict[_K, _T] | None) -> dict[_K, _T]:
    """A present *map[K]V: a nil map behind the pointer reads as GoNilMap."""
    return _v.GoNilMap() if x is None else x


def _ulist(x: Sequence[_T], n: int, e: Container[int]) -> list[_T] | None:
    return list(x) if x or n in e else None


def _umap(x: Mapping[_K, _T], n: int, e: Container[int]) -> dict[_K, _T] | None:
    return dict(x) if x or n in e else None


def _ulistf(f: Callable[[_T], _U], x: Sequence[_T], n: int, e: Container[int]) -> list[_U] | None:
    return [f(i) for i in x] if x or n in e else None


def _umapf(
    f: Callable[[_T], _U],
    x: Mapping[_K, _T],
    n: int,
    e: Container[int],
) -> dict[_K, _U] | None:
    return {k: f(i) for k, i in x.items()} if x or n in e else None
`

// elemTo is the function converting one element to its proto form ("" = as is).
func (g *generator) elemTo(r *ir.TypeRef) string {
	switch r.Kind {
	case ir.KindScalar, ir.KindBytes:
		return ""
	case ir.KindMessage:
		return g.cq + funcName(r.Message.Name) + "_to_pb"
	case ir.KindTimestamp:
		return "_v.time_to_pb"
	case ir.KindValue:
		return "_v.to_pb"
	case ir.KindError:
		return "_e.error_to_pb"
	case ir.KindAppError:
		return "_e.app_error_to_pb"
	case ir.KindList, ir.KindMap:
		return g.cq + wrapperFunc(g.s.WrapperFor(r), "to_pb")
	case ir.KindPointer:
		return g.elemTo(r.Elem)
	}
	panic(fmt.Sprintf("pygen: no element conversion for %v", r.Go))
}

// elemFrom is the inverse of elemTo.
func (g *generator) elemFrom(r *ir.TypeRef) string {
	switch r.Kind {
	case ir.KindScalar, ir.KindBytes:
		return ""
	case ir.KindMessage:
		return g.cq + funcName(r.Message.Name) + "_from_pb"
	case ir.KindTimestamp:
		return "_v.time_from_pb"
	case ir.KindValue:
		return "_v.from_pb"
	case ir.KindError:
		return "_e.error_from_pb"
	case ir.KindAppError:
		return "_e.app_error_from_pb"
	case ir.KindList, ir.KindMap:
		return g.cq + wrapperFunc(g.s.WrapperFor(r), "from_pb")
	case ir.KindPointer:
		return g.elemFrom(r.Elem)
	}
	panic(fmt.Sprintf("pygen: no element conversion for %v", r.Go))
}

// toPB is the expression converting Python value src to the proto field value; e collects the
// `empty` marks (uses reports whether the expression needs it).
func (g *generator) toPB(r *ir.TypeRef, src string, n int32) (expr string, usesE bool) {
	return g.toPBe(r, src, n, "e")
}

// toPBe is toPB with the name of the list collecting `empty` marks.
func (g *generator) toPBe(r *ir.TypeRef, src string, n int32, ev string) (expr string, usesE bool) {
	num := fmt.Sprint(n)
	switch r.Kind {
	case ir.KindScalar:
		return src, false
	case ir.KindBytes:
		return g.cq + "_mbytes(" + src + ", " + num + ", " + ev + ")", true
	case ir.KindMessage:
		return g.cq + funcName(r.Message.Name) + "_to_pb(" + src + ")", false
	case ir.KindTimestamp:
		return "_v.time_to_pb(" + src + ")", false
	case ir.KindValue:
		return g.cq + "_opt(_v.to_pb, " + src + ")", false
	case ir.KindError:
		return g.cq + "_opt(_e.error_to_pb, " + src + ")", false
	case ir.KindAppError:
		return g.cq + "_opt(_e.app_error_to_pb, " + src + ")", false
	case ir.KindList, ir.KindMap:
		f := g.elemTo(r.Elem)
		if f == "" {
			return g.cq + "_mark(" + src + ", " + num + ", " + ev + ")", true
		}
		helper := "_list"
		if r.Kind == ir.KindMap {
			helper = "_map"
		}
		return g.cq + helper + "(" + f + ", " + src + ", " + num + ", " + ev + ")", true
	case ir.KindPointer:
		e := r.Elem
		switch e.Kind {
		case ir.KindScalar:
			return src, false
		case ir.KindBytes:
			return g.cq + "_pbytes(" + src + ", " + num + ", " + ev + ")", true
		case ir.KindMessage, ir.KindTimestamp, ir.KindAppError:
			return g.cq + "_opt(" + g.elemTo(e) + ", " + src + ")", false
		case ir.KindList, ir.KindMap:
			return g.cq + "_opt(" + g.cq + wrapperFunc(g.s.WrapperFor(e), "to_pb") + ", " + src + ")", false
		}
	}
	panic(fmt.Sprintf("pygen: no field conversion for %v", r.Go))
}

// fromPB is the expression converting proto field `field` of message m back to Python. When the
// value depends on field presence, cond is the presence test and the expression applies only
// when it holds (None otherwise; GO_ZERO_TIME for a time.Time value).
func (g *generator) fromPB(r *ir.TypeRef, field string, n int32) (expr, cond, otherwise string) {
	return g.fromPBm(r, "m", field, n, "e")
}

// fromPBm is fromPB for field `field` of message variable mv, with `empty` in ev.
func (g *generator) fromPBm(r *ir.TypeRef, mv, field string, n int32, ev string) (expr, cond, otherwise string) {
	num := fmt.Sprint(n)
	src := mv + "." + field
	has := mv + ".HasField(" + pyString(field) + ")"
	switch r.Kind {
	case ir.KindScalar:
		return src, "", ""
	case ir.KindBytes:
		return g.cq + "_ubytes(" + src + ", " + num + ", " + ev + ")", "", ""
	case ir.KindMessage:
		return g.cq + funcName(r.Message.Name) + "_from_pb(" + src + ")", "", ""
	case ir.KindTimestamp:
		return "_v.time_from_pb(" + src + ")", has, "_v.GO_ZERO_TIME"
	case ir.KindValue:
		return "_v.from_pb(" + src + ")", "", ""
	case ir.KindError, ir.KindAppError:
		return g.elemFrom(r) + "(" + src + ")", has, "None"
	case ir.KindList, ir.KindMap:
		f := g.elemFrom(r.Elem)
		helper := "_ulist"
		if r.Kind == ir.KindMap {
			helper = "_umap"
		}
		if f == "" {
			return g.cq + helper + "(" + src + ", " + num + ", " + ev + ")", "", ""
		}
		return g.cq + helper + "f(" + f + ", " + src + ", " + num + ", " + ev + ")", "", ""
	case ir.KindPointer:
		e := r.Elem
		switch e.Kind {
		case ir.KindScalar:
			return src, has, "None"
		case ir.KindBytes:
			// A pointer to a nil []byte reads as GoNilBytes: Python has one None.
			return g.cq + "_upbytes(" + src + ", " + num + ", " + ev + ")", has, "None"
		case ir.KindMessage, ir.KindTimestamp, ir.KindAppError:
			return g.elemFrom(e) + "(" + src + ")", has, "None"
		case ir.KindList, ir.KindMap:
			// A pointer to a nil container reads as GoNilList / GoNilMap: Python has one None.
			helper := "_nil_list("
			if e.Kind == ir.KindMap {
				helper = "_nil_map("
			}
			return g.cq + helper + g.cq + wrapperFunc(g.s.WrapperFor(e), "from_pb") + "(" + src + "))", has, "None"
		}
	}
	panic(fmt.Sprintf("pygen: no field conversion for %v", r.Go))
}

func (g *generator) writeToPB(w *writer, t *ir.Type) error {
	fn := funcName(t.Name)
	w.call(0, "def "+fn+"_to_pb(", []string{"v: md." + t.Name}, ") -> _m."+t.Name+":")
	var items []string
	usesE := false
	for _, f := range t.Fields {
		if pyKeywords[f.ProtoName] {
			return fmt.Errorf("%s.%s: proto field name is a Python keyword; pygen does not handle that yet", t.Name, f.ProtoName)
		}
		expr, e := g.toPB(f.Type, "v."+f.ProtoName, f.Number)
		usesE = usesE || e
		items = append(items, f.ProtoName+"="+expr)
	}
	if usesE {
		w.line(1, "e: list[int] = []")
		items = append(items, "empty=e")
	}
	w.call(1, "return _m."+t.Name+"(", items, ")")
	return nil
}

func (g *generator) writeFromPB(out *writer, t *ir.Type) {
	fn := funcName(t.Name)
	out.call(0, "def "+fn+"_from_pb(", []string{"m: _m." + t.Name}, ") -> md."+t.Name+":")
	var w writer // the body, so that `e` is declared only when used
	var items []string
	for _, f := range t.Fields {
		expr, cond, otherwise := g.fromPB(f.Type, f.ProtoName, f.Number)
		if cond != "" {
			inline := f.ProtoName + "=" + expr + " if " + cond + " else " + otherwise
			if fits(2, inline+",") {
				items = append(items, inline)
				continue
			}
			// Too long for one line: a statement before the constructor.
			local := fmt.Sprintf("f%d", f.Number)
			w.line(1, "%s: %s = %s", local, g.qualify(g.fieldType(f.Type)), otherwise)
			w.line(1, "if %s:", cond)
			w.expr(2, local+" = ", expr, "")
			items = append(items, f.ProtoName+"="+local)
			continue
		}
		items = append(items, f.ProtoName+"="+expr)
	}
	usesE := false
	for _, f := range t.Fields {
		expr, _, _ := g.fromPB(f.Type, f.ProtoName, f.Number)
		usesE = usesE || strings.HasSuffix(expr, ", e)")
	}
	w.call(1, "return md."+t.Name+"(", items, ")")
	if usesE {
		out.line(1, "e = m.empty")
	}
	out.WriteRaw(w.String())
}

// qualify prefixes model class names in an annotation with "md.".
func (g *generator) qualify(annotation string) string {
	var b strings.Builder
	word := strings.Builder{}
	flush := func() {
		s := word.String()
		if g.isModel(s) {
			b.WriteString("md.")
		}
		b.WriteString(s)
		word.Reset()
	}
	for _, r := range annotation {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			word.WriteRune(r)
			continue
		}
		flush()
		b.WriteRune(r)
	}
	flush()
	return b.String()
}

func (g *generator) isModel(name string) bool {
	for _, t := range g.s.Types {
		if t.Name == name {
			return true
		}
	}
	return false
}

func (g *generator) writeWrapper(w *writer, wr *ir.Wrapper) {
	pyT := g.qualify(g.containerType(wr.Items)) + " | None"
	w.call(0, "def "+wrapperFunc(wr, "to_pb")+"(", []string{"x: " + pyT}, ") -> _m."+wr.Name+":")
	w.line(1, "e: list[int] = []")
	expr, _ := g.toPB(wr.Items, "x", 1)
	w.call(1, "return _m."+wr.Name+"(", []string{"items=" + expr, "empty=e"}, ")")
	w.blank(2)
	w.call(0, "def "+wrapperFunc(wr, "from_pb")+"(", []string{"m: _m." + wr.Name}, ") -> "+pyT+":")
	expr, _, _ = g.fromPBm(wr.Items, "m", "items", 1, "m.empty")
	w.line(1, "return %s", expr)
}

// writeTypedRegistry hands mmplugin._values the TypedValue registry: the model types Mattermost
// registers with gob, which an `any` value may hold.
func (g *generator) writeTypedRegistry(w *writer) {
	dyn := append([]*ir.DynamicType(nil), g.s.Dynamic...)
	sort.SliceStable(dyn, func(i, j int) bool { return dyn[i].Name < dyn[j].Name })
	var entries []string
	for _, d := range dyn {
		base := "_tv_" + funcName(d.Message)
		var enc, dec, cls string
		isList := "False"
		switch {
		case d.Ref.Kind == ir.KindPointer && d.Ref.Elem.Kind == ir.KindMessage:
			cls = "md." + d.Ref.Elem.Message.Name
			enc = funcName(d.Message) + "_to_pb(x)"
			dec = funcName(d.Message) + "_from_pb(_m." + d.Message + ".FromString(data))"
		case d.Ref.Kind == ir.KindMessage:
			cls = "md." + d.Ref.Message.Name
			enc = funcName(d.Message) + "_to_pb(x)"
			dec = funcName(d.Message) + "_from_pb(_m." + d.Message + ".FromString(data))"
		default:
			wr := g.s.WrapperFor(d.Ref)
			elem := wr.Items.Elem
			if elem.Kind == ir.KindPointer {
				elem = elem.Elem
			}
			cls = "md." + elem.Message.Name
			isList = "True"
			enc = wrapperFunc(wr, "to_pb") + "(x)"
			dec = wrapperFunc(wr, "from_pb") + "(_m." + d.Message + ".FromString(data))"
		}
		w.blank(2)
		w.line(0, "def %s_encode(x: Any) -> bytes:", base)
		w.line(1, "return %s.SerializeToString()", enc)
		w.blank(2)
		w.line(0, "def %s_decode(data: bytes) -> Any:", base)
		w.line(1, "return %s", dec)
		entries = append(entries, fmt.Sprintf("_v.TypedCodec(%s, %s, %s, %s_encode, %s_decode)",
			pyString(d.Name), cls, isList, base, base))
	}
	w.blank(2)
	w.line(0, "_v.register_typed_codecs(")
	w.line(1, "(")
	for _, e := range entries {
		w.expr(2, "", e, ",")
	}
	w.line(1, ")")
	w.line(0, ")")
}

func (g *generator) writeModelRegistry(w *writer) {
	w.blank(2)
	w.line(0, "class ModelCodec(NamedTuple):")
	w.docstring(1, "Converters of one model type (MODELS lists them all).")
	w.blank(1)
	w.line(1, "name: str")
	w.line(1, "model: type[Any]")
	w.line(1, "message: type[Message]")
	w.line(1, "to_pb: Callable[[Any], Message]")
	w.line(1, "from_pb: Callable[[Any], Any]")
	w.blank(2)
	w.line(0, "# Every model type with its converters, in message-name order.")
	w.line(0, "MODELS: tuple[ModelCodec, ...] = (")
	for _, t := range g.s.Types {
		fn := funcName(t.Name)
		w.call(1, "ModelCodec(", []string{pyString(t.Name), "md." + t.Name, "_m." + t.Name, fn + "_to_pb", fn + "_from_pb"}, "),")
	}
	w.line(0, ")")
}
