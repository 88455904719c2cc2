package protogen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

func TestGenerateIsDeterministicAndComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fn.json")
	s, err := ir.Load(ir.Options{FieldNumbersPath: path})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Numbers.Marshal()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := ir.Load(ir.Options{FieldNumbersPath: path})
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Generate(s2)
	for name, content := range a {
		if string(b2[name]) != string(content) {
			t.Errorf("%s differs between runs", name)
		}
		if !strings.Contains(string(content), "DO NOT EDIT.") {
			t.Errorf("%s lacks the generated-code marker", name)
		}
	}
	api := string(a[Dir+"/api.proto"])
	for _, want := range []string{
		"rpc GetUser(GetUserRequest) returns (GetUserResponse);",
		"rpc InstallPlugin(stream InstallPluginRequest) returns (InstallPluginResponse);",
		"rpc PluginHTTP(stream PluginHTTPRequest) returns (stream PluginHTTPResponse);",
		"repeated Value key_value_pairs = 2;",
		"// Minimum server version: 5.2",
	} {
		if !strings.Contains(api, want) {
			t.Errorf("api.proto lacks %q", want)
		}
	}
	hooks := string(a[Dir+"/hooks.proto"])
	for _, want := range []string{
		"rpc ServeHTTP(stream ServeHTTPRequest) returns (stream ServeHTTPResponse);",
		"rpc FileWillBeUploaded(stream FileWillBeUploadedRequest) returns (stream FileWillBeUploadedResponse);",
		"PluginContext context = 1;",
	} {
		if !strings.Contains(hooks, want) {
			t.Errorf("hooks.proto lacks %q", want)
		}
	}
	if n := strings.Count(api, "  rpc "); n != len(s.API) {
		t.Errorf("api.proto has %d RPCs, API %d methods", n, len(s.API))
	}
}
