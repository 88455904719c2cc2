package pygen

import (
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// outcome classifies a hook's results into the Python idiom that expresses them
// (mmplugin._dispatch.Outcome).
type outcome string

const (
	outNone          outcome = "NONE"            // no results
	outError         outcome = "ERROR"           // error
	outReject        outcome = "REJECT"          // string (a rejection reason)
	outReplace       outcome = "REPLACE"         // (*T, string)
	outValue         outcome = "VALUE"           // T
	outValueError    outcome = "VALUE_ERROR"     // (T, error)
	outValueAppError outcome = "VALUE_APP_ERROR" // (T, *model.AppError)
	outHTTP          outcome = "HTTP"            // ServeHTTP-shaped stream
	outUpload        outcome = "UPLOAD"          // FileWillBeUploaded stream
	outImplemented   outcome = "IMPLEMENTED"     // answered by the SDK itself
)

type hookInfo struct {
	m       *ir.Method
	py      string
	konst   string // module constant holding the HookSpec
	outcome outcome
	// returns is the Python annotation of the handler's return value.
	returns string
	params  []hookParam
}

type hookParam struct {
	name, annotation string
	field            *ir.Param
}

func (g *generator) hookInfo(m *ir.Method) (*hookInfo, error) {
	h := &hookInfo{m: m, py: methodName(m.Name), konst: strings.ToUpper(ir.Snake(m.Name))}
	for _, p := range m.RequestFields {
		hp := hookParam{name: paramName(p.GoName), field: p}
		switch {
		case p.IsContext:
			hp.name, hp.annotation = "ctx", "Context"
		case p.Type.Kind == ir.KindPointer && p.Type.Elem.Kind == ir.KindMessage:
			hp.annotation = p.Type.Elem.Message.Name
		default:
			hp.annotation = g.fieldType(p.Type)
		}
		h.params = append(h.params, hp)
	}
	res := m.Results
	isString := func(p *ir.Param) bool { return p.Type.Kind == ir.KindScalar && p.Type.Scalar == "string" }
	switch {
	case m.Name == "Implemented":
		h.outcome, h.returns = outImplemented, "list[str]"
	case m.Special.Kind == gen.KindHTTPHook:
		h.outcome, h.returns = outHTTP, "None"
		h.params = []hookParam{{"ctx", "Context", nil}, {"w", "ResponseWriter", nil}, {"r", "HTTPRequest", nil}}
	case m.Special.Kind == gen.KindUploadHook:
		h.outcome = outUpload
		h.returns = res[0].Type.Elem.Message.Name + " | Reject | None"
		h.params = append(h.params, hookParam{"file", "UploadReader", nil}, hookParam{"output", "UploadWriter", nil})
	case m.Special.Kind != gen.KindPlain:
		return nil, fmt.Errorf("hook %s: special kind %d has no Python dispatch", m.Name, m.Special.Kind)
	case len(res) == 0 && m.ErrorStyle == ir.ErrorNone:
		h.outcome, h.returns = outNone, "None"
	case len(res) == 0 && m.ErrorStyle == ir.ErrorPlain:
		h.outcome, h.returns = outError, "None"
	case len(res) == 1 && m.ErrorStyle == ir.ErrorNone && isString(res[0]):
		h.outcome, h.returns = outReject, "Reject | str | None"
	case len(res) == 2 && m.ErrorStyle == ir.ErrorNone && isString(res[1]) &&
		res[0].Type.Kind == ir.KindPointer && res[0].Type.Elem.Kind == ir.KindMessage:
		h.outcome = outReplace
		h.returns = res[0].Type.Elem.Message.Name + " | Reject"
		if m.Result.Dismiss {
			h.returns += " | Dismiss"
		}
		h.returns += " | None"
	case len(res) == 1 && m.ErrorStyle == ir.ErrorNone:
		h.outcome, h.returns = outValue, g.pyResult(res[0].Type)
		if nilable(res[0].Type) && !strings.HasSuffix(h.returns, " | None") {
			h.returns += " | None"
		}
	case len(res) == 1 && m.ErrorStyle == ir.ErrorPlain:
		h.outcome, h.returns = outValueError, g.pyResult(res[0].Type)
	case len(res) == 1 && m.ErrorStyle == ir.ErrorApp:
		h.outcome, h.returns = outValueAppError, g.pyResult(res[0].Type)
	default:
		return nil, fmt.Errorf("hook %s: no Python idiom for its results; add one to internal/gen/pygen/hooks.go", m.Name)
	}
	return h, nil
}

// pyResult is the annotation of a value a hook handler returns (None where Go may return nil).
func (g *generator) pyResult(r *ir.TypeRef) string {
	return g.fieldType(r)
}

func nilable(r *ir.TypeRef) bool {
	switch r.Kind {
	case ir.KindPointer, ir.KindList, ir.KindMap, ir.KindBytes:
		return true
	}
	return false
}

// resultsText is what the server gets for each outcome of a hook's handler (mmplugin._dispatch.
// HookResults), derived from the hook's Go results and its gen.HookResults row.
type resultsText struct{ none, value, reject, raised, down string }

// resultsDoc renders the hook-result table row of h for the docs (docs/sdk/hooks.md).
func (g *generator) resultsDoc(h *hookInfo) resultsText {
	m := h.m
	r := m.Result
	const na = "—"
	// def is what the host answers when the call fails: Mattermost's own hooks client default.
	def := "the zero value"
	switch {
	case r.DefaultFromParam != "":
		def = "`" + r.DefaultFromParam + "` unchanged"
	case h.outcome == outReject:
		def = "`\"\"` (allowed)"
	case h.outcome == outNone:
		def = "nothing (the failure is logged)"
	case h.outcome == outError:
		def = "`nil` error (the failure is logged)"
	case len(m.Results) > 0 && nilable(m.Results[0].Type):
		def = "`nil`"
	case len(m.Results) > 0:
		def = "`" + zeroText(m.Results[0].Type) + "`"
	}
	if h.outcome == outValueError {
		def += ", no error"
	}
	if r.FailWith != "" {
		def = "the \"/<trigger> command crashed the <plugin> plugin\" *AppError (500)"
	}
	if r.TransportError {
		def = "the call's error"
	}
	wrong := "`HookResultError`, logged; the server gets " + def
	out := resultsText{none: na, value: na, reject: na, raised: "logged with its traceback; the server gets " + def, down: def}
	switch h.outcome {
	case outNone:
		out.none, out.value = "nothing to answer", wrong
	case outError:
		out.none, out.value = "`nil` error", wrong
		out.raised = "the exception's text as the Go error (logged with its traceback unless AppError or PluginAPIError)"
	case outReject:
		out.none, out.value = "`\"\"` (allowed)", "a `str`: that reason (`\"\"` allows); another type: "+wrong
		out.reject = "`Reject(\"why\")`: `\"why\"`"
	case outReplace, outUpload:
		t := m.Results[0].Type.Elem.Message.Name
		out.none = "`nil, \"\"` (kept)"
		if r.NoneKeeps != "" {
			out.none = "`" + r.NoneKeeps + ", \"\"` (kept; a Go plugin's `nil` would reject)"
		}
		if h.outcome == outUpload {
			out.none = "`nil, \"\"`: info kept; the file is replaced only if the handler wrote to output"
		}
		out.value = "a " + t + ": `it, \"\"` (replaced); another type: " + wrong
		out.reject = "`Reject(\"why\")`: `nil, \"why\"`"
		if r.Dismiss {
			out.reject += "; `DISMISS`: `nil, plugin.DismissPostError`"
		}
	case outValue, outValueError, outValueAppError:
		out.value = "the value; another type: " + wrong
		if len(m.Results) > 0 && nilable(m.Results[0].Type) {
			out.none = "`nil`"
			if h.outcome != outValue {
				out.none += ", no error"
			}
		} else {
			out.none = wrong
		}
		switch h.outcome {
		case outValueError:
			out.raised = "`nil` and the exception as the Go error (an AppError as *model.AppError)"
		case outValueAppError:
			out.raised = "`AppError`: that *model.AppError; another exception: logged with its traceback; the server gets " + def
		}
	case outHTTP:
		out.none = "the response as written (200 with no body if nothing was written)"
		out.value = out.none
		out.raised = "logged with its traceback; if no response had started, a 500 with a generic body " +
			"(never the traceback), else the response ends there"
		out.down = "a 500 with a generic body"
	case outImplemented:
		out.none, out.value, out.raised = "answered by the SDK", "answered by the SDK", "answered by the SDK"
	}
	return out
}

// zeroText is Go's zero value of a non-nilable result, as the docs show it.
func zeroText(r *ir.TypeRef) string {
	switch {
	case r.Kind == ir.KindScalar && r.Scalar == "bool":
		return "false"
	case r.Kind == ir.KindScalar && r.Scalar == "string":
		return "\"\""
	case r.Kind == ir.KindScalar:
		return "0"
	}
	return "{}"
}

// outcomeDoc explains, in the hook's docstring, how the Python handler expresses each outcome.
func (g *generator) outcomeDoc(h *hookInfo) string {
	m := h.m
	switch h.outcome {
	case outNone:
		return "Python: return None."
	case outError:
		return "Python: return None on success; raise an exception to fail (its message is the Go error)."
	case outReject:
		return "Python: return None to allow, or Reject(\"reason\") (a non-empty str works too) to reject."
	case outReplace:
		t := m.Results[0].Type.Elem.Message.Name
		s := "Python: return None to allow it unchanged, a " + t + " to replace it, or Reject(\"reason\") to reject it"
		if m.Result.Dismiss {
			s += ", or DISMISS to drop it silently (Go: nil, plugin.DismissPostError)"
		}
		return s + "."
	case outValue:
		return "Python: return the " + h.returns + "."
	case outValueError:
		return "Python: return the " + h.returns + "; raise an exception to fail (its message is the Go error)."
	case outValueAppError:
		return "Python: return the " + h.returns + "; raise AppError (status code and message for the user) to fail."
	case outHTTP:
		return "Python: serve the request r through the response writer w (start, write, flush). An\n" +
			"`async def` handler gets mmplugin._streams.HTTPRequest / ResponseWriter, a plain `def` the\n" +
			"blocking SyncHTTPRequest / SyncResponseWriter. Hijacking (websocket upgrade) is not supported."
	case outUpload:
		return "Python: read the upload from file; write a replacement to output (nothing written keeps\n" +
			"the upload). Return None to keep the file info, a FileInfo to replace it, or\n" +
			"Reject(\"reason\") to reject the upload. `async def` handlers get async file/output objects,\n" +
			"plain `def` handlers blocking ones (mmplugin._streams)."
	case outImplemented:
		return "Answered by the SDK: the hooks the plugin class defines."
	}
	return ""
}

func (g *generator) hooks() (string, error) {
	var infos []*hookInfo
	for _, m := range g.s.Hooks {
		h, err := g.hookInfo(m)
		if err != nil {
			return "", err
		}
		infos = append(infos, h)
	}
	var body writer
	body.line(0, "# The hook table: one HookSpec per plugin.Hooks method.")
	imports := importSet{"Any": true, "AsyncIterator": true, "aio": true}
	// The table.
	for i, h := range infos {
		if i > 0 {
			body.blank(2)
		}
		g.writeSpec(&body, h)
	}
	body.blank(2)
	body.line(0, "HOOKS: tuple[_d.HookSpec, ...] = (")
	for _, h := range infos {
		body.line(1, "%s,", h.konst)
	}
	body.line(0, ")")
	body.docstring(0, "Every plugin.Hooks method in Go source order.")
	body.blank(2)
	body.line(0, "DISMISS_POST_ERROR = %s", pyString(plugin.DismissPostError))
	body.docstring(0, "plugin.DismissPostError: the rejection reason that drops a post silently.")

	// Result converters.
	for _, h := range infos {
		if err := g.writeHookResult(&body, h, imports); err != nil {
			return "", err
		}
	}
	// The unary hooks: request → handler arguments, and the table both transports dispatch on.
	var unary []*hookInfo
	for _, h := range infos {
		switch h.outcome {
		case outHTTP, outUpload, outImplemented:
			continue
		}
		unary = append(unary, h)
		g.writeHookArgs(&body, h)
	}
	for _, h := range unary {
		body.blank(2)
		fail := "None"
		if h.m.ErrorStyle != ir.ErrorNone {
			fail = "_" + h.py + "_error"
		}
		body.call(0, h.unaryConst()+" = _d.UnaryHook(", []string{h.konst, "_hooks." + h.m.RequestName() + ".FromString",
			"_" + h.py + "_args", "_" + h.py + "_result", fail}, ")")
	}
	body.blank(2)
	body.line(0, "UNARY_HOOKS: dict[str, _d.UnaryHook[Any, Any]] = {")
	for _, h := range unary {
		body.line(1, "%s: %s,", pyString(h.m.Name), h.unaryConst())
	}
	body.line(0, "}")
	body.docstring(0, "The unary hooks by Go name: how each request becomes the handler's arguments and its\n"+
		"result the response (the framed hooks connection and HooksServicer both dispatch on it).")

	// The servicer.
	body.blank(2)
	body.line(0, "class HooksServicer(_hooks_grpc.PluginHooksServiceServicer, _d.HookDispatcher):")
	body.docstring(1, "PluginHooksService for grpc.aio: converts each request, calls the plugin's handler (an\n"+
		"`async def` on the event loop, a plain `def` in the dispatcher's thread pool, so hooks run\n"+
		"concurrently as in Go), converts the result and answers.\n\n"+
		"handlers maps Go hook names to callables (see mmplugin._dispatch.discover_handlers).")
	body.blank(1)
	body.line(1, "specs = HOOKS")
	for _, h := range infos {
		body.blank(1)
		g.writeServicerMethod(&body, h)
	}

	var w writer
	g.header(&w, "The hook table (every plugin.Hooks method with its Python name, parameters and result\n"+
		"idiom) and HooksServicer, the grpc.aio PluginHooksService that dispatches to the plugin.")
	src := body.String()
	g.writeImports(&w, src, imports)
	w.blank(1)
	w.WriteRaw(src)
	return w.String(), nil
}

func (g *generator) writeSpec(w *writer, h *hookInfo) {
	m := h.m
	var params []string
	for _, p := range h.params {
		goName := ""
		if p.field != nil {
			goName = p.field.GoName
		} else if p.name == "file" || p.name == "output" || p.name == "w" || p.name == "r" {
			for _, gp := range m.Params {
				if gp.Type.Kind == ir.KindStream && (p.name == ir.Snake(gp.GoName) || p.name == gp.GoName) {
					goName = gp.GoName
				}
			}
			if goName == "" {
				goName = p.name
			}
		}
		if p.name == "ctx" {
			goName = m.Params[0].GoName
		}
		params = append(params, fmt.Sprintf("_d.HookParam(%s, %s, %s)", pyString(p.name), pyString(goName), pyString(p.annotation)))
	}
	w.line(0, "%s = _d.HookSpec(", h.konst)
	w.line(1, "go_name=%s,", pyString(m.Name))
	w.line(1, "py_name=%s,", pyString(h.py))
	switch len(params) {
	case 0:
		w.line(1, "params=(),")
	case 1:
		if fits(1, "params=("+params[0]+",),") {
			w.line(1, "params=(%s,),", params[0])
			break
		}
		fallthrough
	default:
		w.line(1, "params=(")
		for _, p := range params {
			w.line(2, "%s,", p)
		}
		w.line(1, "),")
	}
	w.line(1, "context=%s,", map[bool]string{true: "True", false: "False"}[len(h.params) > 0 && h.params[0].name == "ctx"])
	w.line(1, "returns=%s,", pyString(h.returns))
	w.line(1, "outcome=_d.Outcome.%s,", h.outcome)
	w.line(1, "min_version=%s,", pyString(m.MinVersion))
	r := g.resultsDoc(h)
	w.line(1, "results=_d.HookResults(")
	for _, kv := range [][2]string{{"none", r.none}, {"value", r.value}, {"reject", r.reject},
		{"raised", r.raised}, {"down", r.down}, {"server", m.Result.Server}} {
		stringArg(w, 2, kv[0], kv[1])
	}
	w.line(1, "),")
	doc := methodDoc(m, g.outcomeDoc(h))
	w.line(1, "doc=(")
	raw := strings.Split(strings.ReplaceAll(cleanDoc(doc), `\"\"\"`, `"""`), "\n")
	for i, l := range raw {
		nl := `\n`
		if i == len(raw)-1 {
			nl = ""
		}
		// cleanDoc escaped backslashes for a docstring; a plain string needs its quotes escaped
		// too. Long lines are cut at spaces into adjacent literals (implicit concatenation).
		lit := l
		for !fits(2, quoteLit(lit+nl)) {
			cut := strings.LastIndex(lit[:maxLine-8-4], " ")
			if cut <= 0 {
				break
			}
			w.line(2, "%s", quoteLit(lit[:cut+1]))
			lit = lit[cut+1:]
		}
		w.line(2, "%s", quoteLit(lit+nl))
	}
	w.line(1, "),")
	w.line(0, ")")
}

// stringArg writes the keyword argument name=text, cutting a long text at spaces into
// adjacent literals in parentheses, as ruff format leaves them.
func stringArg(w *writer, indent int, name, text string) {
	lit := func(t string) string {
		return quoteLit(strings.ReplaceAll(pyString(t)[1:len(pyString(t))-1], `\"`, `"`))
	}
	if one := name + "=" + lit(text) + ","; fits(indent, one) {
		w.line(indent, "%s", one)
		return
	}
	w.line(indent, "%s=(", name)
	for rest := text; rest != ""; {
		part := rest
		for !fits(indent+1, lit(part)) {
			cut := strings.LastIndex(part[:len(part)-1], " ")
			if cut <= 0 {
				break
			}
			part = part[:cut+1]
		}
		w.line(indent+1, "%s", lit(part))
		rest = rest[len(part):]
	}
	w.line(indent, "),")
}

// quoteLit quotes already backslash-escaped text the way ruff format does: double quotes,
// unless that needs more escapes than single quotes.
func quoteLit(s string) string {
	if strings.Count(s, `"`) > strings.Count(s, "'") {
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// writeHookResult writes _<hook>_result(value, request) → Response and, for hooks with an
// error result, _<hook>_error(exc) → Response.
func (g *generator) writeHookResult(w *writer, h *hookInfo, imports importSet) error {
	m := h.m
	switch h.outcome {
	case outHTTP, outImplemented:
		return nil
	}
	resp := "_hooks." + m.ResponseMessage
	fields := m.ResponseFields
	w.blank(2)
	if h.outcome == outUpload {
		w.line(0, "def _%s_result(value: object) -> %s:", h.py, resp)
	} else {
		w.call(0, "def _"+h.py+"_result(", []string{"value: object", "request: _hooks." + m.RequestMessage}, ") -> "+resp+":")
	}
	switch h.outcome {
	case outNone, outError:
		w.line(1, "_hr.expect_none(%s, value)", h.konst)
		w.line(1, "return %s()", resp)
	case outReject:
		w.expr(1, "return ", fmt.Sprintf("%s(%s=_hr.rejection(%s, value))", resp, fields[0].ProtoName, h.konst), "")
	case outReplace, outUpload:
		t := m.Results[0].Type.Elem.Message.Name
		imports[t] = true
		dismiss := "None"
		if m.Result.Dismiss {
			dismiss = "DISMISS_POST_ERROR"
		}
		w.expr(1, "new, reason = ", fmt.Sprintf("_hr.replace_or_reject(%s, value, %s, %s)", h.konst, t, dismiss), "")
		expr, _ := g.toPBe(fields[0].Type, "new", fields[0].Number, "_empty")
		w.call(1, "return "+resp+"(", []string{fields[0].ProtoName + "=" + expr, fields[1].ProtoName + "=reason"}, ")")
	case outValue, outValueError, outValueAppError:
		f := fields[0]
		types, allowNone := g.runtimeTypes(f.Type)
		modelNames(types, imports, g.modelSet())
		w.expr(1, "checked = ", fmt.Sprintf("_hr.expect_value(%s, value, %s, allow_none=%s)", h.konst, types,
			map[bool]string{true: "True", false: "False"}[allowNone]), "")
		expr, usesE := g.toPBe(f.Type, "checked", f.Number, "_empty")
		items := []string{f.ProtoName + "=" + expr}
		if usesE {
			w.line(1, "_empty: list[int] = []")
			items = append(items, "empty=_empty")
		}
		w.call(1, "return "+resp+"(", items, ")")
	}
	if h.outcome == outUpload {
		w.blank(2)
		w.call(0, "def _"+h.py+"_args(", []string{"head: _hooks." + m.RequestMessage}, ") -> tuple[Any, ...]:")
		args := g.hookArgs(h, "head")
		if one := "return (" + strings.Join(args, ", ") + ")"; fits(1, one) {
			w.line(1, "%s", one)
		} else {
			w.call(1, "return (", args, ")")
		}
	}
	switch m.ErrorStyle {
	case ir.ErrorPlain:
		w.blank(2)
		w.call(0, "def _"+h.py+"_error(", []string{"exc: Exception"}, ") -> "+resp+":")
		w.line(1, "return %s(error=_e.error_to_pb(exc))", resp)
	case ir.ErrorApp:
		imports["AppError"] = true
		w.blank(2)
		w.call(0, "def _"+h.py+"_error(", []string{"exc: Exception"}, ") -> "+resp+" | None:")
		w.line(1, "if isinstance(exc, AppError):")
		w.line(2, "return %s(app_error=_e.app_error_to_pb(exc))", resp)
		w.line(1, "return None")
	}
	return nil
}

// runtimeTypes is the isinstance() check for a hook result ("(Post,)") and whether None is
// accepted (Go may return nil).
func (g *generator) runtimeTypes(r *ir.TypeRef) (string, bool) {
	allowNone := nilable(r)
	if r.Kind == ir.KindPointer {
		r = r.Elem
	}
	switch r.Kind {
	case ir.KindScalar:
		return "(" + scalarType(r.Scalar) + ",)", allowNone
	case ir.KindBytes:
		return "(bytes,)", allowNone
	case ir.KindMessage:
		return "(" + r.Message.Name + ",)", allowNone
	case ir.KindList:
		return "(list,)", allowNone
	case ir.KindMap:
		return "(dict,)", allowNone
	case ir.KindTimestamp:
		return "(datetime,)", allowNone
	}
	return "(object,)", true
}

func (g *generator) writeServicerMethod(w *writer, h *hookInfo) {
	m := h.m
	switch h.outcome {
	case outHTTP, outUpload:
		w.call(1, "async def "+m.Name+"(", []string{"self", "request_iterator: AsyncIterator[_hooks." + m.RequestName() + "]",
			"context: aio.ServicerContext[Any, Any]"}, ") -> AsyncIterator[_hooks."+m.ResponseName()+"]:")
		w.docstring(2, m.Name+" (stream): see "+h.konst+".doc.")
		if h.outcome == outHTTP {
			w.call(2, "async for msg in self._serve_http(", []string{"context", h.konst, "request_iterator",
				"_hooks." + m.ResponseName()}, "):")
		} else {
			w.call(2, "async for msg in self._file_will_be_uploaded(", []string{"context", h.konst, "request_iterator",
				"_hooks." + m.ResponseName(), "_" + h.py + "_args", "_" + h.py + "_result"}, "):")
		}
		w.line(3, "yield msg")
		return
	}
	w.call(1, "async def "+m.Name+"(", []string{"self", "request: _hooks." + m.RequestName(),
		"context: aio.ServicerContext[Any, Any]"}, ") -> _hooks."+m.ResponseName()+":")
	if h.outcome == outImplemented {
		w.line(2, "return _hooks.%s(result=self.implemented())", m.ResponseName())
		return
	}
	w.line(2, "return await self._unary(context, request, %s)", h.unaryConst())
}

// unaryConst names the module constant holding the hook's UnaryHook.
func (h *hookInfo) unaryConst() string { return "_" + h.konst + "_UNARY" }

// writeHookArgs writes _<hook>_args(request): the handler's arguments from the hook request.
func (g *generator) writeHookArgs(w *writer, h *hookInfo) {
	m := h.m
	w.blank(2)
	w.call(0, "def _"+h.py+"_args(", []string{"request: _hooks." + m.RequestName()}, ") -> tuple[Any, ...]:")
	args := g.hookArgs(h, "request")
	for i, a := range args {
		if !strings.Contains(a, " if ") || fits(2, a+",") {
			continue
		}
		expr, cond, _ := strings.Cut(a, " if ")
		cond, otherwise, _ := strings.Cut(cond, " else ")
		local := fmt.Sprintf("a%d", i)
		w.line(1, "%s: Any = %s", local, otherwise)
		w.line(1, "if %s:", cond)
		w.expr(2, local+" = ", expr, "")
		args[i] = local
	}
	switch {
	case len(args) == 0:
		w.line(1, "return ()")
	case len(args) == 1 && fits(1, "return ("+args[0]+",)"):
		w.line(1, "return (%s,)", args[0])
	case len(args) == 1: // exploded by hand: call() would drop the comma that makes it a tuple
		w.line(1, "return (")
		w.expr(2, "", args[0], ",")
		w.line(1, ")")
	default:
		w.call(1, "return (", args, ")")
	}
}

// hookArgs are the expressions converting a hook request into the handler's arguments.
func (g *generator) hookArgs(h *hookInfo, mv string) []string {
	var args []string
	for _, p := range h.params {
		if p.field == nil {
			continue
		}
		expr, cond, otherwise := g.fromPBm(p.field.Type, mv, p.field.ProtoName, p.field.Number, mv+".empty")
		if p.field.IsContext {
			// Always a Context (empty when the host sent none), never None.
			expr, cond = g.cq+"plugin_context_from_pb("+mv+"."+p.field.ProtoName+")", ""
		}
		if cond != "" {
			expr += " if " + cond + " else " + otherwise
		}
		args = append(args, expr)
	}
	return args
}
