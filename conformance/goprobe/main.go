// Command goprobe is the Go side of mmplugin's conformance suite: an ordinary Go plugin that
// makes one plugin.API call per HTTP request, by method name, with arguments decoded from
// canonical JSON through the reflect types of the method's parameters, and answers the
// canonical JSON of what the call returned (docs/protocol.md, "Conformance probes").
package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// Probe answers POST /call.
type Probe struct {
	plugin.MattermostPlugin
}

type callRequest struct {
	Method string `json:"method"`
	Args   []any  `json:"args"`
}

var (
	apiType   = reflect.TypeOf((*plugin.API)(nil)).Elem()
	errorType = reflect.TypeOf((*error)(nil)).Elem()
)

// ServeHTTP answers POST /call {"method": "GetUser", "args": [...]} with the call's canonical
// outcome: {"result": [...]}, {"error": {...}}, or {"probe_error": "..."} when the probe could
// not make the call (unknown method, arguments that do not decode).
func (p *Probe) ServeHTTP(_ *plugin.Context, w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/hooks" || r.URL.Path == "/hooks/start" {
		hooks.serve(w, r)
		return
	}
	if r.URL.Path != "/call" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req callRequest
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	var answer any
	if err := dec.Decode(&req); err != nil {
		answer = map[string]any{"probe_error": "bad request body: " + err.Error()}
	} else {
		answer = p.call(req)
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(answer); err != nil {
		p.API.LogError("encoding the answer failed", "err", err.Error())
	}
}

func (p *Probe) call(req callRequest) (answer any) {
	defer func() {
		if v := recover(); v != nil {
			answer = map[string]any{"probe_error": fmt.Sprintf("panic: %v", v)}
		}
	}()
	method, ok := apiType.MethodByName(req.Method)
	if !ok {
		return map[string]any{"probe_error": "plugin.API has no method " + req.Method}
	}
	mt := method.Type
	if len(req.Args) != mt.NumIn() {
		return map[string]any{"probe_error": fmt.Sprintf("%s takes %d arguments, got %d", req.Method, mt.NumIn(), len(req.Args))}
	}
	in := make([]reflect.Value, mt.NumIn())
	for i := range in {
		t := mt.In(i)
		v, err := p.argument(req.Method, i, req.Args[i], t)
		if err != nil {
			return map[string]any{"probe_error": err.Error()}
		}
		in[i] = v
	}
	fn := reflect.ValueOf(p.API).MethodByName(req.Method)
	var out []reflect.Value
	if mt.IsVariadic() {
		out = fn.CallSlice(in)
	} else {
		out = fn.Call(in)
	}
	if req.Method == "LoadPluginConfiguration" {
		out = append([]reflect.Value{in[0]}, out...) // the configuration is read into dest
	}
	if n := len(out); n > 0 && mt.Out(mt.NumOut()-1).Implements(errorType) {
		if e := out[n-1]; !e.IsNil() {
			return map[string]any{"error": canonicalError(e.Interface().(error))}
		}
		out = out[:n-1]
	}
	results := make([]any, len(out))
	for i, v := range out {
		results[i] = encode(v)
	}
	return map[string]any{"result": results}
}

// argument decodes argument i; parameters JSON cannot describe get a fixed meaning.
func (p *Probe) argument(method string, i int, data any, t reflect.Type) (reflect.Value, error) {
	switch {
	case method == "LoadPluginConfiguration":
		return reflect.ValueOf(&map[string]any{}), nil
	case t == reflect.TypeOf((*io.Reader)(nil)).Elem():
		s, _ := data.(string)
		v, err := decode(s, bytesType, fmt.Sprintf("%s arg %d", method, i))
		if err != nil {
			return v, err
		}
		return reflect.ValueOf(io.Reader(bytes.NewReader(v.Bytes()))), nil
	}
	return decode(data, t, fmt.Sprintf("%s arg %d", method, i))
}

// canonicalError is the canonical form of an API error: an AppError's fields, or a plain
// error's text and the Go sentinel it is, if any.
func canonicalError(err error) map[string]any {
	var appErr *model.AppError
	if errors.As(err, &appErr) {
		return map[string]any{
			"kind":           "app_error",
			"id":             appErr.Id,
			"message":        appErr.Message,
			"detailed_error": appErr.DetailedError,
			"status_code":    appErr.StatusCode,
			"where":          appErr.Where,
		}
	}
	sentinel := ""
	switch {
	case errors.Is(err, io.EOF):
		sentinel = "EOF"
	case errors.Is(err, sql.ErrNoRows):
		sentinel = "SQL_NO_ROWS"
	}
	return map[string]any{"kind": "error", "message": err.Error(), "sentinel": sentinel}
}

func main() {
	plugin.ClientMain(&Probe{})
}
