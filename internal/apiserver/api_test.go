package apiserver_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin/plugintest"
	"github.com/stretchr/testify/mock"
	"google.golang.org/grpc"

	"github.com/mmplugin/mmplugin/internal/apiserver"
	"github.com/mmplugin/mmplugin/internal/apiserver/gluetest"
	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// fixture is an apiserver in front of plugintest mocks (which record every call and return
// what the test tells them), reached over gRPC on a unix socket.
type fixture struct {
	api    *plugintest.API
	driver *plugintest.Driver
	conn   *grpc.ClientConn
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{api: &plugintest.API{}, driver: &plugintest.Driver{}}
	gs := grpc.NewServer()
	apiserver.New(f.api, f.driver, nil).Register(gs)
	f.conn = gluetest.Serve(t, gs)
	return f
}

// TestEveryUnaryMethod calls every unary plugin.API and plugin.Driver method through gRPC with
// random arguments and checks that the wrapped implementation received exactly those
// arguments and that its results and error came back exactly.
func TestEveryUnaryMethod(t *testing.T) {
	s := gluetest.Surface(t)
	f := newFixture(t)
	fill := gluetest.NewFiller(1)
	count := 0
	for _, svc := range []ir.Service{ir.ServiceAPI, ir.ServiceDriver} {
		for _, m := range s.Methods(svc) {
			if m.Special.Kind != gen.KindPlain && m.Special.Kind != gen.KindOutParam {
				continue // streams and JSON: their own tests below
			}
			mk := &f.api.Mock
			if svc == ir.ServiceDriver {
				mk = &f.driver.Mock
			}
			t.Run(m.Name, func(t *testing.T) {
				checkUnary(t, f.conn, mk, m, fill)
			})
			count++
		}
	}
	if count < 250 {
		t.Fatalf("only %d unary methods exercised; the surface has more", count)
	}
}

func checkUnary(t *testing.T, conn *grpc.ClientConn, mk *mock.Mock, m *ir.Method, fill *gluetest.Filler) {
	// Arguments and the request carrying them.
	args := make([]reflect.Value, len(m.Params))
	for i, p := range m.Params {
		args[i] = fill.Value(p.Type.Go)
	}
	req, err := gluetest.NewMessage(m.RequestName())
	if err != nil {
		t.Fatal(err)
	}
	for _, rf := range m.RequestFields {
		if err := gluetest.Set(req, rf.ProtoName, args[paramIndex(m, rf.GoName)]); err != nil {
			t.Fatalf("building the request: %v", err)
		}
	}
	// Results the implementation returns, error included.
	var rets []any
	var results []reflect.Value
	for _, r := range m.Results {
		v := fill.Value(r.Type.Go)
		results = append(results, v)
		rets = append(rets, v.Interface())
	}
	var wantErr error
	switch m.ErrorStyle {
	case ir.ErrorApp:
		appErr := fill.AppError(m.Name)
		wantErr = appErr
		rets = append(rets, appErr)
	case ir.ErrorPlain:
		wantErr = fill.PlainError()
		rets = append(rets, wantErr)
	}
	flat := gluetest.FlatArgs(m, args)
	matchers := make([]any, len(flat))
	for i := range matchers {
		matchers[i] = mock.Anything
	}
	call := mk.On(m.Name, matchers...).Once()
	var outParam reflect.Value
	if m.Special.Kind == gen.KindOutParam {
		// The callee fills dest (Driver.RowsNext): what it writes must come back.
		call.Run(func(a mock.Arguments) {
			dest := a.Get(paramIndex(m, m.Special.OutParam)).([]driver.Value)
			for i := range dest {
				dest[i] = fmt.Sprintf("row value %d", i)
			}
		})
		outParam = reflect.ValueOf([]driver.Value{"row value 0", "row value 1"})
	}
	if len(rets) > 0 {
		call.Return(rets...)
	}
	before := len(mk.Calls)

	resp, err := gluetest.NewMessage(m.ResponseName())
	if err != nil {
		t.Fatal(err)
	}
	method := "/mmplugin.v1." + m.Service.ProtoService() + "/" + m.Name
	if err := conn.Invoke(context.Background(), method, req.Interface(), resp.Interface()); err != nil {
		t.Fatalf("RPC failed: %v", err)
	}

	if len(mk.Calls) != before+1 {
		t.Fatalf("the implementation was called %d times, want 1", len(mk.Calls)-before)
	}
	got := mk.Calls[before]
	if got.Method != m.Name {
		t.Fatalf("called %s, want %s", got.Method, m.Name)
	}
	if m.Special.Kind == gen.KindOutParam {
		// Compare the argument as sent, not as the callee overwrote it.
		if n := len(got.Arguments.Get(paramIndex(m, m.Special.OutParam)).([]driver.Value)); n != args[paramIndex(m, m.Special.OutParam)].Len() {
			t.Errorf("out parameter arrived with %d elements, want %d", n, args[paramIndex(m, m.Special.OutParam)].Len())
		}
	} else if !reflect.DeepEqual([]any(got.Arguments), flat) {
		t.Errorf("arguments differ\n got: %#v\nwant: %#v", []any(got.Arguments), flat)
	}

	ri := 0
	for _, rf := range m.ResponseFields {
		want := outParam
		if !(m.Special.Kind == gen.KindOutParam && rf.GoName == m.Special.OutParam) {
			want = results[ri]
			ri++
		}
		gv, err := gluetest.Get(resp, rf.ProtoName, rf.Type.Go)
		if err != nil {
			t.Fatalf("reading %s: %v", rf.ProtoName, err)
		}
		if !reflect.DeepEqual(gv.Interface(), want.Interface()) {
			t.Errorf("result %s differs\n got: %#v\nwant: %#v", rf.ProtoName, gv.Interface(), want.Interface())
		}
	}
	if m.ErrorStyle != ir.ErrorNone {
		ev, err := gluetest.Get(resp, m.ErrorField(), errType(m))
		if err != nil {
			t.Fatal(err)
		}
		if m.ErrorStyle == ir.ErrorApp {
			if !reflect.DeepEqual(ev.Interface(), wantErr) {
				t.Errorf("AppError differs\n got: %#v\nwant: %#v", ev.Interface(), wantErr)
			}
		} else if e, _ := ev.Interface().(error); !gluetest.SameError(wantErr, e) {
			t.Errorf("error differs: got %v, want %v", e, wantErr)
		}
	}
}

func errType(m *ir.Method) reflect.Type {
	if m.ErrorStyle == ir.ErrorApp {
		return reflect.TypeFor[*model.AppError]()
	}
	return reflect.TypeFor[error]()
}

func paramIndex(m *ir.Method, goName string) int {
	for i, p := range m.Params {
		if p.GoName == goName {
			return i
		}
	}
	panic("no parameter " + goName + " in " + m.Name)
}
