package pygen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// api writes _gen/api.py: API and AsyncAPI (plugin.API over PluginAPIService), Driver and
// AsyncDriver (plugin.Driver over PluginDriverService). One snake_case method per Go method,
// typed, raising the error result instead of returning it.
func (g *generator) api() (string, error) {
	var body writer
	imports := importSet{}
	var tuples []string
	for _, c := range []struct {
		name, doc string
		svc       ir.Service
		async     bool
	}{
		{"API", apiDoc, ir.ServiceAPI, false},
		{"AsyncAPI", apiDoc + asyncDoc, ir.ServiceAPI, true},
		{"Driver", driverDoc, ir.ServiceDriver, false},
		{"AsyncDriver", driverDoc + asyncDoc, ir.ServiceDriver, true},
	} {
		body.blank(2)
		if err := g.writeClient(&body, c.name, c.doc, c.svc, c.async, imports, &tuples); err != nil {
			return "", err
		}
	}

	var w writer
	g.header(&w, "Typed clients of the host's services, one method per Go method (generated).\n\n"+
		"API and AsyncAPI cover plugin.API (PluginAPIService), Driver and AsyncDriver plugin.Driver\n"+
		"(PluginDriverService). Use the public names from mmplugin.api.")
	src := body.String()
	for _, n := range []string{"Any", "Sequence", "grpc", "aio", "TypeVar", "cast"} {
		imports[n] = true
	}
	g.writeImports(&w, src, imports)
	w.blank(1)
	w.line(0, `_T = TypeVar("_T")`)
	w.blank(2)
	w.line(0, "def _nil(cls: type[_T]) -> _T:")
	w.docstring(1, "What a method returns when Go answers a nil pointer and no error. Such results are\n"+
		"annotated without None because Mattermost answers a value or an error; should a server\n"+
		"answer neither, the plugin sees None, as a Go plugin would see nil.")
	w.line(1, "return cast(_T, None)")
	for _, t := range tuples {
		w.blank(2)
		w.WriteRaw(t)
	}
	w.WriteRaw(src)
	return w.String(), nil
}

const apiDoc = `The Mattermost plugin API: every plugin.API method, typed and in snake_case.

Errors are raised, not returned: a *model.AppError result becomes AppError (or the subclass for
its status code, e.g. NotFoundError), a plain Go error PluginAPIError (e.g. NoRowsError), and a
transport failure ProtocolError. A method the host or server does not support raises
NotImplementedByServerError naming it.

Go types map as in mmplugin.models: a nil slice or map result is returned empty, a nil []byte as
None (KVGet: the key does not exist). Parameters accept None where Go accepts nil.`

const driverDoc = `Database access through the server's connections: every plugin.Driver method.

Handles (connection, statement, transaction and rows ids) are opaque strings owned by the
server. Go errors are raised as PluginAPIError; database/sql sentinels keep their identity
(NoRowsError, EndOfFileError, BadConnectionError, ...). mmplugin.db builds DB-API 2.0 on top.`

const asyncDoc = "\n\nThe asyncio flavour over a grpc.aio channel: use it on the channel's event loop only."

// importSet collects names the generated module must import.
type importSet map[string]bool

func (g *generator) writeImports(w *writer, src string, imports importSet) {
	var abc, typ []string
	for _, n := range []string{"AsyncIterator", "Callable", "Sequence"} {
		if imports[n] {
			abc = append(abc, n)
		}
	}
	if len(abc) > 0 {
		w.line(0, "from collections.abc import %s", strings.Join(abc, ", "))
	}
	if imports["datetime"] {
		w.line(0, "from datetime import datetime")
	}
	for _, n := range []string{"Any", "NamedTuple", "TypeVar", "cast"} {
		if imports[n] {
			typ = append(typ, n)
		}
	}
	if len(typ) > 0 {
		w.line(0, "from typing import %s", strings.Join(typ, ", "))
	}
	w.blank(1)
	if imports["grpc"] {
		w.line(0, "import grpc")
	}
	if imports["aio"] {
		w.line(0, "from grpc import aio")
	}
	w.blank(1)
	for _, m := range []struct{ alias, line string }{
		{"_d", "from mmplugin import _dispatch as _d"},
		{"_hr", "from mmplugin import _hookresults as _hr"},
		{"_s", "from mmplugin import _streams as _s"},
		{"_t", "from mmplugin import _transport as _t"},
		{"_v", "from mmplugin import _values as _v"},
		{"_e", "from mmplugin import errors as _e"},
		{"_c", "from mmplugin._gen import convert as _c"},
	} {
		if usesAlias(src, m.alias) {
			w.line(0, "%s", m.line)
		}
	}
	var models []string
	for _, t := range g.s.Types {
		if imports[t.Name] {
			models = append(models, t.Name)
		}
	}
	sort.Strings(models)
	if len(models) > 0 {
		w.call(0, "from mmplugin._gen.models import (", models, ")")
	}
	var errs []string
	for _, n := range []string{"AppError", "PluginAPIError"} {
		if imports[n] {
			errs = append(errs, n)
		}
	}
	if len(errs) > 0 {
		w.line(0, "from mmplugin.errors import %s", strings.Join(errs, ", "))
	}
	for _, m := range []struct{ alias, mod string }{
		{"_api", "api_pb2"}, {"_api_grpc", "api_pb2_grpc"},
		{"_driver", "driver_pb2"}, {"_driver_grpc", "driver_pb2_grpc"},
		{"_hooks", "hooks_pb2"}, {"_hooks_grpc", "hooks_pb2_grpc"},
		{"_m", "models_pb2"},
	} {
		if usesAlias(src, m.alias) {
			w.line(0, "from mmplugin.v1 import %s as %s", m.mod, m.alias)
		}
	}
}

// usesAlias reports whether src uses module alias a ("a." not preceded by an identifier
// character or a dot).
func usesAlias(src, a string) bool {
	for i := 0; ; {
		j := strings.Index(src[i:], a+".")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || !isIdentByte(src[j-1]) && src[j-1] != '.' {
			return true
		}
		i = j + len(a)
	}
}

// goSignature spells a Go method for docstrings: "API.GetUser(userID string) (*model.User, *model.AppError)".
func goSignature(m *ir.Method) string {
	iface := [...]string{"API", "Hooks", "Driver"}[m.Service]
	var ps []string
	for i, p := range m.Params {
		t := p.Type.Go.String()
		if m.Variadic && i == len(m.Params)-1 {
			t = "..." + p.Type.Go.Elem().String()
		}
		ps = append(ps, strings.TrimSpace(p.GoName+" "+t))
	}
	var rs []string
	for i := range m.Func.NumOut() {
		rs = append(rs, m.Func.Out(i).String())
	}
	res := ""
	switch len(rs) {
	case 0:
	case 1:
		res = " " + rs[0]
	default:
		res = " (" + strings.Join(rs, ", ") + ")"
	}
	s := iface + "." + m.Name + "(" + strings.Join(ps, ", ") + ")" + res
	return strings.ReplaceAll(s, "interface {}", "any")
}

// methodDoc is the docstring of a generated method or hook.
func methodDoc(m *ir.Method, extra string) string {
	text := m.Doc
	if text == "" {
		text = m.Name + "."
	}
	if extra != "" {
		text += "\n\n" + extra
	}
	if m.MinVersion != "" {
		text += "\n\nMinimum server version: " + m.MinVersion
	}
	return text + "\n\nGo: " + goSignature(m)
}

// resultType is the Python annotation of a method result. Nil slices and maps come back empty;
// a nil pointer to a struct is None only for methods without an error result (GetLicense:
// nil means unlicensed) — with an error result Mattermost answers a value or an error.
func (g *generator) resultType(m *ir.Method, r *ir.TypeRef) string {
	switch r.Kind {
	case ir.KindList, ir.KindMap:
		return g.containerType(r)
	case ir.KindPointer:
		switch r.Elem.Kind {
		case ir.KindList, ir.KindMap:
			return g.containerType(r.Elem)
		case ir.KindMessage, ir.KindTimestamp:
			if m.ErrorStyle != ir.ErrorNone {
				return g.elemType(r.Elem)
			}
		}
	}
	return g.fieldType(r)
}

// resultExpr converts response field p of _r; cond/otherwise as in fromPB.
func (g *generator) resultExpr(m *ir.Method, p *ir.Param) (expr, cond, otherwise string) {
	r := p.Type
	src := "_r." + p.ProtoName
	has := "_r.HasField(" + pyString(p.ProtoName) + ")"
	container := r
	if r.Kind == ir.KindPointer && (r.Elem.Kind == ir.KindList || r.Elem.Kind == ir.KindMap) {
		container = r.Elem
		f := g.cq + wrapperFunc(g.s.WrapperFor(container), "from_pb")
		empty := "[]"
		if container.Kind == ir.KindMap {
			empty = "{}"
		}
		return f + "(" + src + ") or " + empty, has, empty
	}
	switch r.Kind {
	case ir.KindList:
		if f := g.elemFrom(r.Elem); f != "" {
			return "[" + f + "(x) for x in " + src + "]", "", ""
		}
		return "list(" + src + ")", "", ""
	case ir.KindMap:
		if f := g.elemFrom(r.Elem); f != "" {
			return "{k: " + f + "(x) for k, x in " + src + ".items()}", "", ""
		}
		return "dict(" + src + ")", "", ""
	case ir.KindPointer:
		if (r.Elem.Kind == ir.KindMessage || r.Elem.Kind == ir.KindTimestamp) && m.ErrorStyle != ir.ErrorNone {
			expr, cond, _ := g.fromPBm(r, "_r", p.ProtoName, p.Number, "_r.empty")
			return expr, cond, "_nil(" + g.elemType(r.Elem) + ")"
		}
	}
	return g.fromPBm(r, "_r", p.ProtoName, p.Number, "_r.empty")
}

type pyParam struct {
	name, annotation string
	proto            *ir.Param // the request field; nil for streams
	stream           bool
}

// params returns the Python parameters of an API or Driver method.
func (g *generator) params(m *ir.Method) []pyParam {
	byGo := map[string]*ir.Param{}
	for _, p := range m.RequestFields {
		byGo[p.GoName] = p
	}
	var out []pyParam
	for i, p := range m.Params {
		if m.Special.Kind == gen.KindPluginConfigJSON {
			continue
		}
		if p.Type.Kind == ir.KindStream {
			out = append(out, pyParam{name: paramName(p.GoName), stream: true})
			continue
		}
		rf := byGo[p.GoName]
		if m.Variadic && i == len(m.Params)-1 {
			out = append(out, pyParam{name: "**key_values", annotation: "Any", proto: rf})
			continue
		}
		ann := g.fieldType(p.Type)
		if m.Special.Kind == gen.KindOutParam && p.GoName == m.Special.OutParam {
			ann = g.containerType(p.Type)
		}
		out = append(out, pyParam{name: paramName(p.GoName), annotation: ann, proto: rf})
	}
	seen := map[string]bool{}
	for i, p := range out {
		for seen[p.name] {
			p.name += "_"
		}
		seen[p.name] = true
		out[i] = p
	}
	return out
}

func (g *generator) writeClient(w *writer, class, doc string, svc ir.Service, async bool, imports importSet, tuples *[]string) error {
	base, stubType, channel := "_t.SyncClient", "PluginAPIServiceStub", "grpc.Channel"
	if async {
		base, stubType, channel = "_t.AsyncClient", "PluginAPIServiceAsyncStub", "aio.Channel"
	}
	grpcMod := pbModule(svc) + "_grpc"
	stubType = grpcMod + "." + strings.Replace(stubType, "PluginAPIService", svc.ProtoService(), 1)
	w.line(0, "class %s(%s):", class, base)
	w.docstring(1, doc)
	w.blank(1)
	w.line(1, `__slots__ = ("_stub",)`)
	w.line(1, "_stub: %s", stubType)
	w.blank(1)
	params := []string{"self", "channel: " + channel, "*",
		"metadata: Sequence[tuple[str, str]] = ()", "timeout: float | None = None"}
	// calls: the host's calls socket, which carries the unary methods (see _transport).
	calls := "calls: _t.CallsClient | None = None"
	if async {
		calls = "calls: _t.AsyncCallsClient | None = None"
	}
	w.call(1, "def __init__(", append(params, calls), ") -> None:")
	w.line(2, "super().__init__(%s, metadata, timeout, calls)", pyString(svc.ProtoService()))
	w.line(2, "self._stub = %s.%sStub(channel)", grpcMod, svc.ProtoService())
	for _, m := range g.s.Methods(svc) {
		w.blank(1)
		if err := g.writeMethod(w, m, async, imports, tuples); err != nil {
			return fmt.Errorf("%s.%s: %w", svc.ProtoService(), m.Name, err)
		}
	}
	return nil
}

func (g *generator) writeMethod(w *writer, m *ir.Method, async bool, imports importSet, tuples *[]string) error {
	pb := pbModule(m.Service)
	aw, def := "", "def "
	if async {
		aw, def = "await ", "async def "
	}
	name := methodName(m.Name)
	ps := g.params(m)
	sig := []string{"self"}
	for i, p := range ps {
		switch {
		case p.stream && m.Special.Kind == gen.KindPluginHTTP:
			continue
		case p.stream:
			t := "_s.BinaryData"
			if async {
				t = "_s.AsyncBinaryData"
			}
			sig = append(sig, p.name+": "+t)
		case strings.HasPrefix(p.name, "**"):
			if i > 0 {
				sig = append(sig, "/")
			}
			sig = append(sig, p.name+": "+p.annotation)
		default:
			sig = append(sig, p.name+": "+p.annotation)
		}
		modelNames(p.annotation, imports, g.modelSet())
	}

	// Results.
	var results []*ir.Param
	for _, p := range m.ResponseFields {
		if m.Special.Kind == gen.KindOutParam && p.GoName == m.Special.OutParam {
			continue
		}
		if m.Special.Kind == gen.KindPluginConfigJSON {
			continue
		}
		results = append(results, p)
	}
	ret := "None"
	switch {
	case m.Special.Kind == gen.KindPluginConfigJSON:
		ret = "dict[str, Any]"
	case m.Special.Kind == gen.KindPluginHTTP:
		ret = "_t.HTTPResponse"
		if async {
			ret = "_t.AsyncHTTPResponse"
		}
		sig = append(sig, "method: str", "url: str", "*", "headers: _s.HeadersLike = ()", "body: "+
			map[bool]string{false: "_s.BinaryData", true: "_s.AsyncBinaryData"}[async]+` = b""`)
	case len(results) == 1:
		ret = g.resultType(m, results[0].Type)
	case len(results) > 1:
		var ts []string
		named := true
		for _, r := range results {
			ts = append(ts, g.resultType(m, r.Type))
			named = named && r.GoName != ""
		}
		if named {
			tn := m.Name + "Result"
			ret = tn
			imports["NamedTuple"] = true
			if !async {
				var tw writer
				tw.line(0, "class %s(NamedTuple):", tn)
				tw.docstring(1, "The results of "+m.Name+".")
				tw.blank(1)
				for i, r := range results {
					tw.line(1, "%s: %s", safeIdent(r.ProtoName), ts[i])
				}
				*tuples = append(*tuples, tw.String())
			}
		} else {
			ret = "tuple[" + strings.Join(ts, ", ") + "]"
		}
	}
	modelNames(ret, imports, g.modelSet())
	w.call(1, def+name+"(", sig, ") -> "+ret+":")
	extra := ""
	if m.Special.Kind == gen.KindReaderUpload {
		extra = "The reader is streamed in chunks: pass bytes, a binary file object or an iterable of\n" +
			"bytes" + map[bool]string{false: "", true: " (or an async iterable)"}[async] + "."
	}
	if m.Variadic {
		extra = "Key/value pairs are passed as keyword arguments and reach the server log with the message."
	}
	w.docstring(2, methodDoc(m, extra))

	if m.Special.Kind == gen.KindPluginHTTP {
		w.call(2, "return "+aw+"self._plugin_http(", []string{pyString(m.Name), "self._stub." + m.Name,
			pb + "." + m.RequestName(), "method", "url", "headers", "body"}, ")")
		return nil
	}

	// Request.
	var items []string
	usesE := false
	var streamArg string
	for _, p := range ps {
		if p.stream {
			streamArg = p.name
			continue
		}
		if strings.HasPrefix(p.name, "**") {
			items = append(items, p.proto.ProtoName+"=_v.key_values_to_pb(key_values)")
			continue
		}
		expr, e := g.toPBe(p.proto.Type, p.name, p.proto.Number, "_empty")
		usesE = usesE || e
		items = append(items, p.proto.ProtoName+"="+expr)
	}
	if usesE {
		w.line(2, "_empty: list[int] = []")
		items = append(items, "empty=_empty")
	}
	if m.Special.Kind == gen.KindReaderUpload {
		w.call(2, "_head = "+pb+"."+m.RequestMessage+"(", items, ")")
		w.call(2, "_r = "+aw+"self._upload(", []string{pyString(m.Name), "self._stub." + m.Name,
			pb + "." + m.RequestName(), "_head", streamArg}, ")")
	} else {
		w.call(2, "_req = "+pb+"."+m.RequestMessage+"(", items, ")")
		assign := "_r = "
		if m.ErrorStyle == ir.ErrorNone && len(m.ResponseFields) == 0 {
			assign = ""
		}
		w.call(2, assign+aw+"self._unary(", []string{pyString(m.Name), "self._stub." + m.Name, "_req"}, ")")
	}
	switch m.ErrorStyle {
	case ir.ErrorApp:
		w.line(2, `if _r.HasField("app_error"):`)
		w.line(3, "raise _e.app_error_from_pb(_r.app_error)")
	case ir.ErrorPlain:
		w.line(2, `if _r.HasField("error"):`)
		w.line(3, "raise _e.exception_from_pb(_r.error)")
	}
	switch {
	case m.Special.Kind == gen.KindPluginConfigJSON:
		w.line(2, "return _v.config_from_json(_r.config_json)")
	case m.Special.Kind == gen.KindOutParam:
		var out *ir.Param
		for _, p := range m.ResponseFields {
			if p.GoName == m.Special.OutParam {
				out = p
			}
		}
		f := g.elemFrom(out.Type.Elem)
		if f == "" {
			w.line(2, "%s[:] = _r.%s", paramName(out.GoName), out.ProtoName)
		} else {
			w.line(2, "%s[:] = [%s(x) for x in _r.%s]", paramName(out.GoName), f, out.ProtoName)
		}
	case len(results) == 1:
		expr, cond, otherwise := g.resultExpr(m, results[0])
		if cond != "" {
			w.line(2, "if not %s:", cond)
			w.line(3, "return %s", otherwise)
		}
		w.line(2, "return %s", expr)
	case len(results) > 1:
		var exprs []string
		for _, r := range results {
			expr, cond, otherwise := g.resultExpr(m, r)
			if cond != "" {
				expr = expr + " if " + cond + " else " + otherwise
			}
			exprs = append(exprs, expr)
		}
		if strings.HasSuffix(ret, "Result") {
			w.call(2, "return "+ret+"(", exprs, ")")
		} else if one := "return " + strings.Join(exprs, ", "); fits(2, one) {
			w.line(2, "%s", one)
		} else {
			w.call(2, "return (", exprs, ")")
		}
	}
	return nil
}

// modelSet is the names an annotation may need imported: model classes, the error classes,
// datetime and Any.
func (g *generator) modelSet() map[string]bool {
	known := map[string]bool{"AppError": true, "PluginAPIError": true, "datetime": true, "Any": true,
		"NamedTuple": true}
	for _, t := range g.s.Types {
		known[t.Name] = true
	}
	return known
}
