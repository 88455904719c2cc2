package ir

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/gen"
)

func load(t *testing.T, numbers string) *Surface {
	t.Helper()
	s, err := Load(Options{FieldNumbersPath: numbers})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadCoversTheWholeSurface(t *testing.T) {
	s := load(t, filepath.Join(t.TempDir(), "fn.json"))
	for _, c := range []struct {
		svc  Service
		want int
	}{{ServiceAPI, reflect.TypeFor[plugin.API]().NumMethod()}, {ServiceHooks, reflect.TypeFor[plugin.Hooks]().NumMethod()}, {ServiceDriver, reflect.TypeFor[plugin.Driver]().NumMethod()}} {
		if got := len(s.Methods(c.svc)); got != c.want {
			t.Errorf("%s: %d methods, interface has %d", c.svc.ProtoService(), got, c.want)
		}
	}
	if s.Version == "" {
		t.Error("module version unknown")
	}
	t.Logf("%d API, %d hooks, %d driver methods, %d types, %d wrappers", len(s.API), len(s.Hooks), len(s.Driver), len(s.Types), len(s.Wrappers))
}

func method(t *testing.T, ms []*Method, name string) *Method {
	t.Helper()
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("method %s missing", name)
	return nil
}

func TestMethodDetails(t *testing.T) {
	s := load(t, filepath.Join(t.TempDir(), "fn.json"))

	m := method(t, s.API, "GetUser")
	if m.ErrorStyle != ErrorApp || m.MinVersion != "5.2" || len(m.Tags) != 1 || m.Tags[0] != "User" {
		t.Errorf("GetUser: style %v version %q tags %v", m.ErrorStyle, m.MinVersion, m.Tags)
	}
	if len(m.RequestFields) != 1 || m.RequestFields[0].ProtoName != "user_id" || m.RequestFields[0].GoName != "userID" {
		t.Errorf("GetUser request fields: %+v", m.RequestFields[0])
	}
	if len(m.ResponseFields) != 1 || m.ResponseFields[0].ProtoName != "result" || m.ResponseFields[0].Type.Elem.Message.Name != "User" {
		t.Errorf("GetUser response: %+v", m.ResponseFields)
	}

	m = method(t, s.API, "LogInfo")
	if !m.Variadic || m.RequestFields[1].ProtoName != "key_value_pairs" || s.Shape(m.RequestFields[1].Type).Type != "Value" {
		t.Errorf("LogInfo: variadic %v fields %+v", m.Variadic, m.RequestFields)
	}

	m = method(t, s.API, "LoadPluginConfiguration")
	if m.Special.Kind != gen.KindPluginConfigJSON || len(m.RequestFields) != 0 || m.ResponseFields[0].ProtoName != "config_json" || m.ErrorStyle != ErrorPlain {
		t.Errorf("LoadPluginConfiguration layout: %+v %+v", m.RequestFields, m.ResponseFields)
	}

	m = method(t, s.Hooks, "MessageWillBePosted")
	if !m.RequestFields[0].IsContext || m.RequestFields[0].ProtoName != "context" || m.Result.DefaultFromParam != "post" {
		t.Errorf("MessageWillBePosted: %+v %+v", m.RequestFields[0], m.Special)
	}

	m = method(t, s.Hooks, "FileWillBeUploaded")
	if !m.Streaming() || m.RequestMessage != "FileWillBeUploadedRequestHead" || len(m.RequestFields) != 2 || m.ResponseMessage != "FileWillBeUploadedResult" {
		t.Errorf("FileWillBeUploaded: %s %+v %s", m.RequestMessage, m.RequestFields, m.ResponseMessage)
	}

	m = method(t, s.Driver, "RowsNext")
	if m.Special.Kind != gen.KindOutParam || m.ResponseFields[0].ProtoName != "dest" || m.ErrorStyle != ErrorPlain {
		t.Errorf("RowsNext: %+v", m.ResponseFields)
	}
	m = method(t, s.Driver, "RowsColumnTypePrecisionScale")
	if len(m.ResponseFields) != 3 || m.ResponseFields[2].ProtoName != "result_3" {
		t.Errorf("RowsColumnTypePrecisionScale: %+v", m.ResponseFields)
	}
}

func TestTypes(t *testing.T) {
	s := load(t, filepath.Join(t.TempDir(), "fn.json"))
	post := s.TypeOf(reflect.TypeFor[*model.Post]())
	if post == nil || post.Name != "Post" || post.EmptyNumber == 0 {
		t.Fatalf("Post: %+v", post)
	}
	for _, name := range []string{"PluginContext", "Saml2AssertionInfo", "MlogLevel", "DriverNamedValue", "Config", "PluginResultContainer"} {
		found := false
		for _, ty := range s.Types {
			found = found || ty.Name == name
		}
		if !found {
			t.Errorf("type %s not reached", name)
		}
	}
	if s.TypeOf(reflect.TypeFor[model.AppError]()) != nil {
		t.Error("model.AppError must map to the hand-written AppError, not a reflected message")
	}
	if len(s.Dynamic) != len(gen.GobTypes) {
		t.Errorf("dynamic registry has %d entries, gob table %d", len(s.Dynamic), len(gen.GobTypes))
	}
}

func TestFieldNumbersAreStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fn.json")
	a := load(t, path)
	b, err := a.Numbers.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Pretend an old field existed: it must become reserved, and new numbers must not reuse it.
	a.Numbers.Messages["Post"].Fields["gone"] = 9999
	for _, mn := range a.Numbers.Messages {
		mn.touched = false
	}
	c, _ := a.Numbers.Marshal()
	if err := writeFile(path, c); err != nil {
		t.Fatal(err)
	}
	s := load(t, path)
	post := s.TypeOf(reflect.TypeFor[model.Post]())
	if len(post.Reserved) != 1 || post.Reserved[0].Number != 9999 {
		t.Errorf("reserved: %+v", post.Reserved)
	}
	if err := writeFile(path, b); err != nil {
		t.Fatal(err)
	}
	s2 := load(t, path)
	b2, _ := s2.Numbers.Marshal()
	if string(b) != string(b2) {
		t.Error("reloading the table changed it")
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"userID": "user_id", "IPAddress": "ip_address", "create_at": "create_at", "SessionId": "session_id",
		"HTTPRequest": "http_request", "x-forwarded": "x_forwarded", "OAuth2": "o_auth2", "teamId": "team_id",
		"ID": "id", "Saml2Key": "saml2_key", "userIDs": "user_ids", "AutoShareDMs": "auto_share_dms",
		"IDsOnly": "ids_only", "URLs": "urls", "HTTPServer": "http_server", "IsPinned": "is_pinned",
	} {
		if got := Snake(in); got != want {
			t.Errorf("Snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }
