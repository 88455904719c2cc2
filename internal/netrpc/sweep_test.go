package netrpc_test

// The sweep calls every plugin.API and plugin.Driver method from inside a hook, through the
// real wire, against Mattermost's own generated mocks (plugintest.API / plugintest.Driver) on
// the server side. It proves that each generated or hand-written client method reaches the
// server method of the same name, that the server can decode its arguments (in the right
// order: every string, integer and bool parameter carries a value derived from its position)
// and that the results decode on the way back.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/mock"

	"github.com/mmplugin/mmplugin/internal/netrpc"
)

var (
	readerType  = reflect.TypeFor[io.Reader]()
	writerType  = reflect.TypeFor[io.Writer]()
	rwType      = reflect.TypeFor[http.ResponseWriter]()
	requestType = reflect.TypeFor[*http.Request]()
	anyType     = reflect.TypeFor[any]()
)

// sweepValue is the argument the sweep passes at position i: position-derived for scalars,
// usable values for streams, zero otherwise.
func sweepValue(i int, t reflect.Type) reflect.Value {
	switch {
	case t == readerType:
		return reflect.ValueOf(strings.NewReader("sweep data"))
	case t == writerType:
		return reflect.ValueOf(new(bytes.Buffer))
	case t == rwType:
		return reflect.ValueOf(httptest.NewRecorder())
	case t == requestType:
		req, _ := http.NewRequest(http.MethodGet, "/sweep", nil)
		return reflect.ValueOf(req)
	case t == anyType: // LoadPluginConfiguration's dest
		return reflect.ValueOf(&map[string]any{})
	}
	switch t.Kind() {
	case reflect.String:
		return reflect.ValueOf(fmt.Sprintf("arg%d", i)).Convert(t)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return reflect.ValueOf(i + 1).Convert(t)
	case reflect.Bool:
		return reflect.ValueOf(true)
	}
	return reflect.Zero(t)
}

// sweep calls every method of iface on impl and returns the failures by method name. The
// server answers zero values and nil errors, so any error is a transport failure.
func sweep(impl any, iface reflect.Type) map[string]string {
	failures := map[string]string{}
	v := reflect.ValueOf(impl)
	for m := range iface.Methods() {
		ft := m.Type
		var args []reflect.Value
		for i := range ft.NumIn() {
			if ft.IsVariadic() && i == ft.NumIn()-1 {
				args = append(args, reflect.Zero(ft.In(i))) // no key/values
				continue
			}
			args = append(args, sweepValue(i, ft.In(i)))
		}
		var out []reflect.Value
		if ft.IsVariadic() {
			out = v.MethodByName(m.Name).CallSlice(args)
		} else {
			out = v.MethodByName(m.Name).Call(args)
		}
		if len(out) == 0 {
			continue
		}
		last := out[len(out)-1]
		if last.Kind() == reflect.Interface || last.Kind() == reflect.Pointer {
			if err, ok := last.Interface().(error); ok && !last.IsNil() {
				failures[m.Name] = err.Error()
			}
		}
	}
	return failures
}

// expectAll sets every method of iface on the mock to answer zero values.
func expectAll(m *mock.Mock, iface reflect.Type) {
	for meth := range iface.Methods() {
		ft := meth.Type
		n := ft.NumIn()
		if ft.IsVariadic() {
			n-- // the sweep passes no variadic values; mockery flattens them
		}
		rets := make([]any, ft.NumOut())
		for i := range rets {
			rets[i] = reflect.Zero(ft.Out(i)).Interface()
		}
		extra := 0
		if ft.IsVariadic() {
			extra = 4 // the test plugin's own hooks log with up to two key/value pairs
		}
		for k := n; k <= n+extra; k++ {
			matchers := make([]any, k)
			for i := range matchers {
				matchers[i] = mock.Anything
			}
			m.On(meth.Name, matchers...).Return(rets...).Maybe()
		}
	}
}

// checkCalls asserts that every method was called once with the position-derived scalars.
func checkCalls(t *testing.T, calls []mock.Call, iface reflect.Type, skip map[string]bool) {
	t.Helper()
	byName := map[string]mock.Arguments{}
	for _, c := range calls {
		byName[c.Method] = c.Arguments
	}
	for m := range iface.Methods() {
		if skip[m.Name] {
			continue
		}
		args, ok := byName[m.Name]
		if !ok {
			t.Errorf("%s.%s never arrived", iface.Name(), m.Name)
			continue
		}
		for i, got := range args {
			want := sweepValue(i, m.Type.In(i))
			switch want.Kind() {
			case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				if !reflect.DeepEqual(got, want.Interface()) {
					t.Errorf("%s.%s argument %d arrived as %#v, want %#v", iface.Name(), m.Name, i, got, want.Interface())
				}
			}
		}
	}
}

// mockDriver is the server's AppDriver: Mattermost's Driver mock plus the two server-only
// methods.
type mockDriver struct {
	*plugintest.Driver
}

func (mockDriver) ConnWithPluginID(isMaster bool, _ string) (string, error) { return "", nil }
func (mockDriver) ShutdownConns(string)                                     {}

func TestSweepEveryAPIAndDriverMethod(t *testing.T) {
	api := &plugintest.API{}
	expectAll(&api.Mock, reflect.TypeFor[plugin.API]())
	db := mockDriver{&plugintest.Driver{}}
	expectAll(&db.Mock, reflect.TypeFor[plugin.Driver]())
	s := installIn(t, (&testServer{}).start(t, api, db), allHooks)
	if _, _, err := s.env.Activate(s.id); err != nil {
		t.Fatal(err)
	}
	hooks, err := s.env.HooksForPlugin(s.id)
	if err != nil {
		t.Fatal(err)
	}

	var failures map[string]map[string]string
	if err := json.Unmarshal([]byte(command(t, hooks, "/sweep")), &failures); err != nil {
		t.Fatal(err)
	}
	for iface, fs := range failures {
		for name, msg := range fs {
			t.Errorf("%s.%s failed: %s", iface, name, msg)
		}
	}
	// The test plugin's own hooks logged through the API too; only the sweep's calls matter,
	// and Conn arrives as ConnWithPluginID (the server substitutes the plugin's ID).
	checkCalls(t, api.Calls, reflect.TypeFor[plugin.API](), nil)
	checkCalls(t, db.Calls, reflect.TypeFor[plugin.Driver](), map[string]bool{"Conn": true})
	// Guard against a sweep that silently did nothing.
	if len(api.Calls) < reflect.TypeFor[plugin.API]().NumMethod() || len(db.Calls) < reflect.TypeFor[plugin.Driver]().NumMethod()-1 {
		t.Errorf("the server saw %d API and %d driver calls", len(api.Calls), len(db.Calls))
	}
}

// TestSweepEveryHook declares every hook and calls each through the server's own hooks client;
// Mattermost's Hooks mock, served in this process, records what arrives.
func TestSweepEveryHook(t *testing.T) {
	hooksIface := reflect.TypeFor[plugin.Hooks]()
	impl := &plugintest.Hooks{}
	expectAll(&impl.Mock, hooksIface)
	var names []string
	for m := range hooksIface.Methods() {
		if m.Name != "Implemented" {
			names = append(names, m.Name)
		}
	}
	s := reattach(t, netrpc.Config{Hooks: impl, Implemented: func(context.Context) ([]string, error) { return names, nil }})
	hooks, err := s.env.HooksForPlugin(s.id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := hooks.Implemented()
	if err != nil || len(got) != len(names) {
		t.Fatalf("Implemented() = %d names, %v; want all %d hooks", len(got), err, len(names))
	}
	// OnActivate already ran during Reattach; Implemented is answered by netrpc itself.
	failures := sweep(hooks, hooksIface)
	for name, msg := range failures {
		t.Errorf("Hooks.%s failed: %s", name, msg)
	}
	checkCalls(t, impl.Calls, hooksIface, map[string]bool{"Implemented": true})
}
