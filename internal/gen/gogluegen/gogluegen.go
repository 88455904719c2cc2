// Package gogluegen writes the Go glue between the gRPC protocol and Mattermost's Go
// interfaces:
//
//   - internal/apiserver/api_gen.go and driver_gen.go: one gRPC server method per plugin.API
//     and plugin.Driver method: request → Go arguments, call, results → response, with
//     *model.AppError and plain errors in the response fields (never as gRPC statuses);
//   - internal/hooksclient/hooks_gen.go: one plugin.Hooks method per hook, calling the plugin
//     process and, when the call fails, logging and returning the results Mattermost's own
//     hooks client returns (zero values, or the input named by the hook's gen.HookResults row);
//   - helpers_gen.go in both packages: the generic container conversions.
//
// Streams and the JSON plugin configuration are hand-written in those packages (special.go,
// streams.go); this generator emits only their mechanical parts (head and result conversions,
// defaults), so a new parameter of a streaming method still flows through the IR.
package gogluegen

import (
	"fmt"
	"go/format"
	"reflect"
	"strings"

	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// Generated file paths, relative to the repository root.
const (
	APIPath          = "internal/apiserver/api_gen.go"
	DriverPath       = "internal/apiserver/driver_gen.go"
	APIHelpersPath   = "internal/apiserver/helpers_gen.go"
	HooksPath        = "internal/hooksclient/hooks_gen.go"
	HooksHelpersPath = "internal/hooksclient/helpers_gen.go"
)

// Generate returns the glue files.
func Generate(s *ir.Surface) (map[string][]byte, error) {
	out := map[string][]byte{}
	api, err := serverFile(s, ir.ServiceAPI, "apiService", "s.api")
	if err != nil {
		return nil, err
	}
	out[APIPath] = api
	drv, err := serverFile(s, ir.ServiceDriver, "driverService", "s.driver")
	if err != nil {
		return nil, err
	}
	out[DriverPath] = drv
	hooks, err := hooksFile(s)
	if err != nil {
		return nil, err
	}
	out[HooksPath] = hooks
	for path, pkg := range map[string]string{APIHelpersPath: "apiserver", HooksHelpersPath: "hooksclient"} {
		f := newFile(s, pkg)
		for _, p := range []string{"fmt", "net/http", "reflect", "slices", "unicode/utf8", "github.com/mmplugin/mmplugin/internal/convert",
			"github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"} {
			f.use(p)
		}
		f.b.WriteString(helpersSource)
		b, err := f.source()
		if err != nil {
			return nil, err
		}
		out[path] = b
	}
	return out, nil
}

func formatSource(src string) ([]byte, error) {
	b, err := format.Source([]byte(src))
	if err != nil {
		return []byte(src), fmt.Errorf("gogluegen: generated code does not parse: %w", err)
	}
	return b, nil
}

// ifaceName is the Go interface a service implements.
func ifaceName(svc ir.Service) string { return [...]string{"API", "Hooks", "Driver"}[svc] }

// body accumulates a generated function body and notes whether it used `err`.
type body struct {
	strings.Builder
	usesErr bool
}

func (b *body) line(format string, args ...any) {
	fmt.Fprintf(b, format, args...)
	b.WriteByte('\n')
}

// assignFrom declares Go variable dst of p's type from the proto field src of message msg.
func (f *file) assignFrom(b *body, p *ir.Param, dst, msg, src string, emptyNum int32, onErr string) error {
	emptyField := "nil"
	if emptyNum != 0 {
		emptyField = msg + ".Empty"
	}
	e, err := f.fromPB(p.Type, src, emptyField, p.Number)
	if err != nil {
		return err
	}
	if !e.fallible {
		b.line("%s := %s", dst, e.code)
		return nil
	}
	b.usesErr = true
	b.line("var %s %s", dst, f.goType(p.Type.Go))
	b.line("if %s, err = %s; err != nil {", dst, e.code)
	b.line(onErr, p.ProtoName)
	b.line("}")
	return nil
}

// assignTo sets the proto field dst of message msg from the Go value src.
func (f *file) assignTo(b *body, p *ir.Param, src, msg, dst string, emptyNum int32, onErr string) error {
	e, err := f.toPB(p.Type, src)
	if err != nil {
		return err
	}
	if e.fallible {
		b.usesErr = true
		b.line("if %s.%s, err = %s; err != nil {", msg, dst, e.code)
		b.line(onErr, p.ProtoName)
		b.line("}")
	} else {
		b.line("%s.%s = %s", msg, dst, e.code)
	}
	if emptyNum != 0 && needsEmpty(p.Type) {
		b.line("if %s != nil && len(%s) == 0 {", src, src)
		b.line("%s.Empty = append(%s.Empty, %d)", msg, msg, p.Number)
		b.line("}")
	}
	return nil
}

// serverFile writes the gRPC server methods of the API or Driver service.
func serverFile(s *ir.Surface, svc ir.Service, recv, impl string) ([]byte, error) {
	f := newFile(s, "apiserver")
	f.printf("// The %s methods: each converts the request, calls plugin.%s and converts the\n", svc.ProtoService(), ifaceName(svc))
	f.printf("// results. Streaming and JSON special cases are hand-written in special.go and streams.go.\n\n")
	for _, m := range s.Methods(svc) {
		var err error
		switch m.Special.Kind {
		case gen.KindPlain, gen.KindOutParam:
			err = f.unaryServer(m, recv, impl)
		case gen.KindReaderUpload:
			err = f.readerUploadServer(m, recv, impl)
		case gen.KindPluginConfigJSON, gen.KindPluginHTTP:
			continue // hand-written
		default:
			err = fmt.Errorf("no server glue for special kind %d", m.Special.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", ifaceName(svc), m.Name, err)
		}
	}
	return f.source()
}

// callServer converts the request (already in variable req, of message m.RequestMessage),
// calls the Go method and fills resp; it returns the statements.
func (f *file) callServer(m *ir.Method, impl, ret string) (*body, error) {
	b := &body{}
	reqNames := fieldNames(m.RequestFields, "", 0)
	args := make([]string, len(m.Params))
	argOf := map[string]string{}
	onReqErr := fmt.Sprintf("%srequestErr(%q, %%q, err)", ret, m.Name)
	fi := 0
	for i, p := range m.Params {
		args[i] = fmt.Sprintf("arg%d", i)
		argOf[p.GoName] = args[i]
		if p.Type.Kind == ir.KindStream {
			continue // set by the caller
		}
		rf := m.RequestFields[fi]
		fi++
		if err := f.assignFrom(b, rf, args[i], "req", "req."+reqNames[rf.ProtoName], m.RequestEmpty, onReqErr); err != nil {
			return nil, err
		}
	}
	if m.Variadic {
		args[len(args)-1] += "..."
	}
	var results []string
	for i := range m.Results {
		results = append(results, fmt.Sprintf("res%d", i))
	}
	switch m.ErrorStyle {
	case ir.ErrorApp:
		results = append(results, "appErr")
	case ir.ErrorPlain:
		results = append(results, "callErr")
	}
	call := fmt.Sprintf("%s.%s(%s)", impl, m.Name, strings.Join(args, ", "))
	if len(results) == 0 {
		b.line("%s", call)
	} else {
		b.line("%s := %s", strings.Join(results, ", "), call)
	}
	b.line("resp := &%s.%s{}", f.pb(), m.ResponseMessage)
	respNames := fieldNames(m.ResponseFields, m.ErrorField(), m.ErrorNumber)
	onRespErr := fmt.Sprintf("%sresultErr(%q, %%q, err)", ret, m.Name)
	ri := 0
	for _, p := range m.ResponseFields {
		src := ""
		switch {
		case m.Special.Kind == gen.KindOutParam && p.GoName == m.Special.OutParam:
			src = argOf[p.GoName]
		default:
			src = fmt.Sprintf("res%d", ri)
			ri++
		}
		if err := f.assignTo(b, p, src, "resp", respNames[p.ProtoName], m.ResponseEmpty, onRespErr); err != nil {
			return nil, err
		}
	}
	switch m.ErrorStyle {
	case ir.ErrorApp:
		b.line("resp.%s = %s.AppErrorToProto(appErr)", respNames["app_error"], f.conv())
	case ir.ErrorPlain:
		b.line("resp.%s = %s.ErrorToProto(callErr)", respNames["error"], f.conv())
	}
	return b, nil
}

func (f *file) methodDoc(m *ir.Method) {
	f.printf("// %s serves plugin.%s.%s.\n", m.Name, ifaceName(m.Service), m.Name)
}

func (f *file) unaryServer(m *ir.Method, recv, impl string) error {
	b, err := f.callServer(m, impl, "return nil, ")
	if err != nil {
		return err
	}
	f.methodDoc(m)
	f.printf("func (s *%s) %s(_ %s.Context, req *%s.%s) (_ *%s.%s, rerr error) {\n", recv, m.Name,
		f.use("context"), f.pb(), m.RequestName(), f.pb(), m.ResponseName())
	f.printf("defer s.catch(%q, &rerr)\n", m.Name)
	f.printf("if _, no := Unsupported[%q]; no {\nreturn nil, notSupported(%q)\n}\n", m.Name, m.Name)
	if b.usesErr {
		f.printf("var err error\n")
	}
	f.printf("%sreturn resp, nil\n}\n\n", b.String())
	return nil
}

// readerUploadServer writes a client-streaming method: the head carries the parameters, the
// chunks become the io.Reader parameter, read as the Go method consumes it.
func (f *file) readerUploadServer(m *ir.Method, recv, impl string) error {
	b, err := f.callServer(m, impl, "return ")
	if err != nil {
		return err
	}
	f.methodDoc(m)
	f.printf("func (s *%s) %s(stream %s.ClientStreamingServer[%s.%s, %s.%s]) (rerr error) {\n", recv, m.Name,
		f.use("google.golang.org/grpc"), f.pb(), m.RequestName(), f.pb(), m.ResponseName())
	f.printf("defer s.catch(%q, &rerr)\n", m.Name)
	f.printf("if _, no := Unsupported[%q]; no {\nreturn notSupported(%q)\n}\n", m.Name, m.Name)
	f.printf("req, err := recvHead[%s.%s](%q, stream.Recv)\nif err != nil {\nreturn err\n}\n", f.pb(), m.RequestMessage, m.Name)
	for i, p := range m.Params {
		if p.Type.Kind == ir.KindStream {
			f.printf("arg%d := chunkReader(stream.Recv)\n", i)
		}
	}
	f.printf("%sreturn stream.SendAndClose(resp)\n}\n\n", b.String())
	return nil
}

// hooksFile writes the plugin.Hooks implementation.
func hooksFile(s *ir.Surface) ([]byte, error) {
	f := newFile(s, "hooksclient")
	f.printf("// The plugin.Hooks methods: each converts its arguments, calls the plugin process and converts\n")
	f.printf("// the results. When the call fails, the hook logs and returns the results Mattermost's own\n")
	f.printf("// hooks client returns (see internal/gen/special.go). Streams are in streams.go.\n\n")
	for _, m := range s.Hooks {
		var err error
		switch m.Special.Kind {
		case gen.KindPlain:
			err = f.unaryHook(m)
		case gen.KindUploadHook:
			err = f.uploadHookParts(m)
		case gen.KindHTTPHook:
			continue // hand-written
		default:
			err = fmt.Errorf("no hooks glue for special kind %d", m.Special.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("Hooks.%s: %w", m.Name, err)
		}
	}
	f.printf("// FailClosable are the hooks a plugin may ask to fail closed (props.python.fail_closed_hooks).\n")
	f.printf("var FailClosable = map[string]bool{\n")
	for _, m := range s.Hooks {
		if m.Result.FailClosedWith != "" || (canReject(m) && m.Special.Kind != gen.KindHTTPHook) {
			f.printf("%q: true,\n", m.Name)
		}
	}
	f.printf("}\n")
	return f.source()
}

// hookSignature returns the parameter list and result list of a hook.
func (f *file) hookSignature(m *ir.Method) (params, results string, resultTypes []string) {
	var ps []string
	for i, p := range m.Params {
		ps = append(ps, fmt.Sprintf("arg%d %s", i, f.goType(p.Type.Go)))
	}
	for i := range m.Func.NumOut() {
		resultTypes = append(resultTypes, f.goType(m.Func.Out(i)))
	}
	results = strings.Join(resultTypes, ", ")
	if len(resultTypes) > 1 {
		results = "(" + results + ")"
	}
	return strings.Join(ps, ", "), results, resultTypes
}

// defaults returns the results Mattermost's hooks client returns when the call fails.
func (f *file) defaults(m *ir.Method) ([]string, error) {
	var out []string
	for i := range m.Func.NumOut() {
		out = append(out, f.zero(m.Func.Out(i)))
	}
	if p := m.Result.DefaultFromParam; p != "" {
		out[0] = argName(m, p)
	}
	return out, nil
}

// failClosed is what a hook the plugin asked to fail closed returns when the call fails: a
// rejection naming the plugin for hooks whose last result is a rejection reason, the
// hand-written gen.HookResult.FailClosedWith otherwise; "" when the hook cannot fail closed.
func (f *file) failClosed(m *ir.Method, resultTypes []string) string {
	if m.Result.FailClosedWith != "" {
		var args []string
		for i := range m.Params {
			args = append(args, fmt.Sprintf("arg%d", i))
		}
		return fmt.Sprintf("h.%s(%s)", m.Result.FailClosedWith, strings.Join(args, ", "))
	}
	if !canReject(m) {
		return ""
	}
	out := make([]string, len(resultTypes))
	for i := range m.Func.NumOut() {
		out[i] = f.zero(m.Func.Out(i))
	}
	out[len(out)-1] = "h.unavailable()"
	return strings.Join(out, ", ")
}

// canReject: the hook's last result is a rejection reason (a string, and no error).
func canReject(m *ir.Method) bool {
	n := m.Func.NumOut()
	return m.ErrorStyle == ir.ErrorNone && n > 0 && m.Func.Out(n-1).Kind() == reflect.String
}

// argName is the hook method's variable for Go parameter p (ir checked that it exists).
func argName(m *ir.Method, p string) string {
	for i, prm := range m.Params {
		if prm.GoName == p {
			return fmt.Sprintf("arg%d", i)
		}
	}
	panic("no parameter " + p)
}

// requestToPB converts the non-stream hook parameters into message variable req.
func (f *file) requestToPB(b *body, m *ir.Method, onErr string) error {
	names := fieldNames(m.RequestFields, "", 0)
	fi := 0
	for i, p := range m.Params {
		if p.Type.Kind == ir.KindStream {
			continue
		}
		rf := m.RequestFields[fi]
		fi++
		if err := f.assignTo(b, rf, fmt.Sprintf("arg%d", i), "req", names[rf.ProtoName], m.RequestEmpty, onErr); err != nil {
			return err
		}
	}
	return nil
}

// resultsFromPB converts message variable resp into res0… and returns the result expressions.
func (f *file) resultsFromPB(b *body, m *ir.Method, onErr string) ([]string, error) {
	names := fieldNames(m.ResponseFields, m.ErrorField(), m.ErrorNumber)
	var rets []string
	for i, p := range m.ResponseFields {
		v := fmt.Sprintf("res%d", i)
		if err := f.assignFrom(b, p, v, "resp", "resp."+names[p.ProtoName], m.ResponseEmpty, onErr); err != nil {
			return nil, err
		}
		rets = append(rets, v)
	}
	switch m.ErrorStyle {
	case ir.ErrorApp:
		rets = append(rets, fmt.Sprintf("%s.AppErrorFromProto(resp.%s)", f.conv(), names["app_error"]))
	case ir.ErrorPlain:
		rets = append(rets, fmt.Sprintf("%s.ErrorFromProto(resp.%s)", f.conv(), names["error"]))
	}
	return rets, nil
}

func (f *file) unaryHook(m *ir.Method) error {
	params, results, resultTypes := f.hookSignature(m)
	defs, err := f.defaults(m)
	if err != nil {
		return err
	}
	failWith := func(e string) string { return "return fail(" + e + ")" }
	if len(resultTypes) == 0 {
		failWith = func(e string) string { return "fail(" + e + ")\nreturn" }
	}
	f.use("fmt")
	b := &body{}
	b.line("req := &%s.%s{}", f.pb(), m.RequestMessage)
	if err := f.requestToPB(b, m, failWith(`fmt.Errorf("argument %s: %%w", err)`)); err != nil {
		return err
	}
	declErr := b.usesErr
	respVar := "resp"
	if len(m.ResponseFields) == 0 && m.ErrorStyle == ir.ErrorNone {
		respVar = "_"
	}
	if declErr && respVar == "_" {
		b.line("_, err = h.hooks.%s(h.callContext(), req)", m.Name)
	} else {
		b.line("%s, err := h.hooks.%s(h.callContext(), req)", respVar, m.Name)
	}
	b.line("if err != nil {\n%s\n}", failWith("err"))
	rb := &body{}
	rets, err := f.resultsFromPB(rb, m, failWith(`fmt.Errorf("result %s: %%w", err)`))
	if err != nil {
		return err
	}
	b.WriteString(rb.String())
	if p := m.Result.NoneKeeps; p != "" {
		// The handler returned None: neither a result nor a reason.
		b.line("if res0 == nil && res1 == \"\" {\nreturn %s, \"\"\n}", argName(m, p))
	}
	if len(rets) > 0 {
		b.line("return %s", strings.Join(rets, ", "))
	}

	f.printf("// %s implements plugin.Hooks.%s by calling the plugin process.\n", m.Name, m.Name)
	if p := m.Result.DefaultFromParam; p != "" {
		f.printf("// If the call fails it keeps %s, as Mattermost's hooks client does.\n", p)
	}
	if p := m.Result.NoneKeeps; p != "" {
		f.printf("// A response with neither a result nor a reason (Python's None) keeps %s too.\n", p)
	}
	f.printf("func (h *Client) %s(%s) %s {\n", m.Name, params, results)
	switch {
	case m.Result.TransportError || m.Result.FailWith != "":
		if len(defs) == 0 || m.ErrorStyle == ir.ErrorNone {
			return fmt.Errorf("hook %s: TransportError and FailWith need an error result", m.Name)
		}
		if m.Result.TransportError {
			defs[len(defs)-1] = fmt.Sprintf("h.failedErr(%q, err)", m.Name)
		} else {
			var args []string
			for i := range m.Params {
				args = append(args, fmt.Sprintf("arg%d", i))
			}
			defs[len(defs)-1] = fmt.Sprintf("h.%s(err, %s)", m.Result.FailWith, strings.Join(args, ", "))
		}
		f.printf("fail := func(err error) %s {\n", results)
		if m.Result.FailWith != "" {
			f.printf("h.failed(%q, err)\n", m.Name)
		}
	default:
		f.printf("fail := func(err error) %s {\nh.failed(%q, err)\n", results, m.Name)
		if closed := f.failClosed(m, resultTypes); closed != "" {
			f.printf("if h.failClosed[%q] {\nreturn %s\n}\n", m.Name, closed)
		}
	}
	if len(defs) > 0 {
		f.printf("return %s\n", strings.Join(defs, ", "))
	}
	f.printf("}\n")
	f.printf("if _, no := Unsupported[%q]; no {\n%s\n}\n", m.Name, failWith(fmt.Sprintf("errNotSupported(%q)", m.Name)))
	if declErr {
		f.printf("var err error\n")
	}
	f.printf("%s}\n\n", b.String())
	return nil
}

// uploadHookParts writes the mechanical parts of FileWillBeUploaded for streams.go: the head
// conversion, the result conversion and the defaults.
func (f *file) uploadHookParts(m *ir.Method) error {
	params, results, _ := f.hookSignature(m)
	lower := strings.ToLower(m.Name[:1]) + m.Name[1:]
	defs, err := f.defaults(m)
	if err != nil {
		return err
	}
	f.printf("// %sDefaults returns what Mattermost's hooks client returns when %s fails (a\n", lower, m.Name)
	f.printf("// rejection when the plugin asked the hook to fail closed).\n")
	f.printf("func (h *Client) %sDefaults(%s) %s {\n", lower, params, results)
	_, _, resultTypes := f.hookSignature(m)
	if closed := f.failClosed(m, resultTypes); closed != "" {
		f.printf("if h.failClosed[%q] {\nreturn %s\n}\n", m.Name, closed)
	}
	f.printf("return %s\n}\n\n", strings.Join(defs, ", "))

	b := &body{}
	b.line("req := &%s.%s{}", f.pb(), m.RequestMessage)
	if err := f.requestToPB(b, m, "return nil, fmt.Errorf(\"argument %s: %%w\", err)"); err != nil {
		return err
	}
	f.use("fmt")
	f.printf("// %sHead converts the non-stream parameters of %s into the stream's head.\n", lower, m.Name)
	f.printf("func %sHead(%s) (*%s.%s, error) {\n", lower, params, f.pb(), m.RequestMessage)
	if b.usesErr {
		f.printf("var err error\n")
	}
	f.printf("%sreturn req, nil\n}\n\n", b.String())

	rb := &body{}
	zeros := make([]string, len(resultTypes))
	for i := range m.Func.NumOut() {
		zeros[i] = f.zero(m.Func.Out(i))
	}
	onErr := "return " + strings.Join(zeros, ", ") + ", fmt.Errorf(\"result %s: %%w\", err)"
	rets, err := f.resultsFromPB(rb, m, onErr)
	if err != nil {
		return err
	}
	f.printf("// %sResult converts the stream's final result message.\n", lower)
	f.printf("func %sResult(resp *%s.%s) (%s, error) {\n", lower, f.pb(), m.ResponseMessage, strings.Join(resultTypes, ", "))
	if rb.usesErr {
		f.printf("var err error\n")
	}
	f.printf("%sreturn %s, nil\n}\n\n", rb.String(), strings.Join(rets, ", "))
	return nil
}
