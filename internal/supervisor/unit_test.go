package supervisor

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestSpecifier(t *testing.T) {
	v := func(s string) pyVersion {
		pv, err := parsePyVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return pv
	}
	tests := []struct {
		spec    string
		version string
		ok      bool
		tooOld  bool
	}{
		{">=3.10", "3.11.7", true, false},
		{">=3.10", "3.9.18", false, true},
		{">=3.10", "3.10.0", true, false},
		{">3.10", "3.10.0", false, true},
		{">=3.10,<3.13", "3.13.1", false, false},
		{">=3.10, <3.13", "3.12.9", true, false},
		{"==3.11.*", "3.11.2", true, false},
		{"==3.11.*", "3.12.0", false, false},
		{"==3.11.*", "3.10.0", false, true},
		{"!=3.12.*", "3.12.4", false, false},
		{"!=3.12.*", "3.11.4", true, false},
		{"~=3.10", "3.13.0", true, false},
		{"~=3.10", "4.0.0", false, false},
		{"~=3.10.2", "3.10.1", false, true},
		{"~=3.10.2", "3.11.0", false, false},
		{"<=3.12", "3.12.0", true, false},
		{"<=3.12", "3.12.1", false, false},
		{"==3.11", "3.11.0", true, false},
	}
	for _, tc := range tests {
		spec, err := parseSpecifier(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		c, failing := spec.firstFailing(v(tc.version))
		if failing == tc.ok {
			t.Errorf("%s with %s: ok=%v, want %v", tc.spec, tc.version, !failing, tc.ok)
		}
		if failing && c.tooOld(v(tc.version)) != tc.tooOld {
			t.Errorf("%s with %s: tooOld=%v, want %v", tc.spec, tc.version, !tc.tooOld, tc.tooOld)
		}
	}
	for _, bad := range []string{"3.10", ">=", ">=3.x", ">=3.10.*", "~=3", ">=3.10,,<4", ">=3.10rc1"} {
		if _, err := parseSpecifier(bad); err == nil {
			t.Errorf("parseSpecifier(%q) accepted", bad)
		}
	}
}

func TestChildEnv(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin", "HOME=/home/mm", "LANG=en_US.UTF-8", "LC_ALL=C", "TMPDIR=/tmp/x",
		"MM_SQLSETTINGS_DATASOURCE=postgres://u:p@h/db", "MM_CONFIG=/etc/mm.json", "PYTHONPATH=/evil",
		"MMPLUGIN_LOG=1", "NO_PROXY=localhost", "SSL_CERT_FILE=/ca.pem", "MMPLUGIN_PASS_ENV=NO_PROXY, SSL_CERT_FILE",
		"HOME=/home/override", "malformed",
	}
	got := strings.Join(childEnv(parent, []string{"MMPLUGIN_EXTRA=1", "PATH=/opt/bin"}), " ")
	want := "PATH=/opt/bin HOME=/home/override LANG=en_US.UTF-8 LC_ALL=C TMPDIR=/tmp/x MMPLUGIN_LOG=1 NO_PROXY=localhost SSL_CERT_FILE=/ca.pem MMPLUGIN_PASS_ENV=NO_PROXY, SSL_CERT_FILE MMPLUGIN_EXTRA=1"
	if got != want {
		t.Errorf("childEnv:\n got %s\nwant %s", got, want)
	}
}

func TestParseHandshake(t *testing.T) {
	if addr, err := parseHandshake("1|1|unix|/tmp/d/plugin.sock|grpc\n"); err != nil || addr != "/tmp/d/plugin.sock" {
		t.Errorf("good line: %q %v", addr, err)
	}
	for line, want := range map[string]string{
		"hello":                       "not a handshake line",
		"2|1|unix|/s|grpc":            "core version",
		"1|2|unix|/s|grpc":            "do not match",
		"1|1|tcp|127.0.0.1:1234|grpc": "not unix",
		"1|1|unix|/s|netrpc":          "not grpc",
	} {
		if _, err := parseHandshake(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", line, err, want)
		}
	}
}

func TestReadLinesCutsLongLinesAndKeepsReading(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+100)
	var lines []string
	var cuts []bool
	readLines(strings.NewReader("a\r\n"+long+"\nb\nlast"), func(l string, cut bool) {
		lines = append(lines, l)
		cuts = append(cuts, cut)
	})
	if len(lines) != 4 || lines[0] != "a" || len(lines[1]) != maxLineBytes || !cuts[1] || lines[2] != "b" || cuts[2] || lines[3] != "last" {
		t.Errorf("lines %d: %q.. cuts %v", len(lines), lines[0], cuts)
	}
}

func TestLogForwarderRecordsAndRedaction(t *testing.T) {
	logger, buf := newLogger()
	f := newLogForwarder(logger, "SECRETSECRET")
	f.forwardStderr(strings.NewReader(strings.Join([]string{
		`{"level":"warn","msg":"careful","logger":"p","kv":[["n",12345678901234567],["bad"],[1,"x"]]}`,
		`{"level":"error","msg":"cannot start","logger":"mmplugin.runtime","fatal":true,"traceback":"Traceback\nValueError: x"}`,
		`{"not":"a record"}`,
		`oops SECRETSECRET leaked`,
		`{"level":"nonsense","msg":"odd level"}`,
		"",
	}, "\n")))
	if e := buf.find("careful"); e == nil || e["@level"] != "warn" || e["n"] != float64(12345678901234567) || e["logger"] != "p" {
		t.Errorf("careful = %v", e)
	}
	if e := buf.find(`{"not":"a record"}`); e == nil || e["@level"] != "error" {
		t.Errorf("non-record JSON = %v", e)
	}
	if e := buf.find("oops [REDACTED] leaked"); e == nil {
		t.Errorf("redaction failed:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "SECRETSECRET") {
		t.Error("secret reached the log")
	}
	if e := buf.find("odd level"); e == nil || e["@level"] != "error" {
		t.Errorf("unknown level = %v", e)
	}
	if f.fatalReason() != "cannot start" {
		t.Errorf("fatal = %q", f.fatalReason())
	}
	tail := strings.Join(f.lastLines(10), " | ")
	if !strings.Contains(tail, "cannot start (ValueError: x)") || !strings.Contains(tail, "oops [REDACTED] leaked") {
		t.Errorf("tail = %s", tail)
	}
}

func TestSecretGuard(t *testing.T) {
	var g secretGuard
	ctxWith := func(v ...string) context.Context {
		md := metadata.MD{}
		for _, s := range v {
			md.Append(SecretMetadataKey, s)
		}
		return metadata.NewIncomingContext(context.Background(), md)
	}
	if status.Code(g.check(ctxWith("x"))) != codes.Unauthenticated {
		t.Error("accepted before any secret was set")
	}
	g.set("right")
	for name, ctx := range map[string]context.Context{
		"none": context.Background(), "wrong": ctxWith("wrong"), "prefix": ctxWith("righ"), "two": ctxWith("right", "right"),
	} {
		if status.Code(g.check(ctx)) != codes.Unauthenticated {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := g.check(ctxWith("right")); err != nil {
		t.Errorf("right secret refused: %v", err)
	}
	g.set("next-launch")
	if g.check(ctxWith("right")) == nil {
		t.Error("the previous launch's secret still works")
	}
}

func TestPythonSettingsFromManifest(t *testing.T) {
	ok := &model.Manifest{Id: "p", Props: map[string]any{"python": map[string]any{
		"entry_point": "greeter.plugin:Greeter", "requires_python": ">=3.11", "interpreter": "/usr/bin/python3.12",
	}}}
	s, err := PythonSettingsFromManifest(ok)
	if err != nil || s.EntryPoint != "greeter.plugin:Greeter" || s.RequiresPython != ">=3.11" ||
		strings.Join(s.Path, ",") != "." || s.Interpreter != "/usr/bin/python3.12" {
		t.Errorf("settings %+v, %v", s, err)
	}
	if got := s.sysPath("/plugins/p"); len(got) != 1 || got[0] != "/plugins/p" {
		t.Errorf("sysPath = %v", got)
	}
	bad := map[string]struct {
		props map[string]any
		want  string
	}{
		"no props":        {nil, "has no props.python"},
		"not an object":   {map[string]any{"python": "x:Y"}, "is not an object"},
		"no entry point":  {map[string]any{"python": map[string]any{}}, "entry_point is missing"},
		"bad entry point": {map[string]any{"python": map[string]any{"entry_point": "greeter.Greeter"}}, `not of the form "package.module:ClassName"`},
		"bad spec":        {map[string]any{"python": map[string]any{"entry_point": "a:B", "requires_python": "3.10"}}, "requires_python"},
		"escaping path":   {map[string]any{"python": map[string]any{"entry_point": "a:B", "path": []any{"../lib"}}}, "leaves the plugin directory"},
		"absolute path":   {map[string]any{"python": map[string]any{"entry_point": "a:B", "path": []any{"/usr/lib"}}}, "relative to the plugin directory"},
	}
	for name, tc := range bad {
		_, err := PythonSettingsFromManifest(&model.Manifest{Id: "p", Props: tc.props})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard})
	s, err := New(Config{PluginID: "p", PluginDir: "/plugins/p", Logger: logger,
		Python: PythonSettings{EntryPoint: "a:B"}})
	if err != nil {
		t.Fatal(err)
	}
	c := s.cfg
	if c.LogLevel != "warn" || c.HandshakeTimeout != 30*time.Second || c.StopGrace != time.Second ||
		c.TermGrace != 500*time.Millisecond || c.Restart.InitialBackoff != 500*time.Millisecond ||
		c.Restart.MaxBackoff != 30*time.Second || c.Restart.MaxFailures != 5 || c.Restart.Window != 10*time.Minute ||
		strings.Join(c.Python.Path, ",") != "." || c.Environ == nil {
		t.Errorf("defaults: %+v", c)
	}
	for name, cfg := range map[string]Config{
		"no id":           {PluginDir: "/p", Logger: logger, Python: PythonSettings{EntryPoint: "a:B"}},
		"relative dir":    {PluginID: "p", PluginDir: "p", Logger: logger, Python: PythonSettings{EntryPoint: "a:B"}},
		"no logger":       {PluginID: "p", PluginDir: "/p", Python: PythonSettings{EntryPoint: "a:B"}},
		"no entry point":  {PluginID: "p", PluginDir: "/p", Logger: logger},
		"bad entry point": {PluginID: "p", PluginDir: "/p", Logger: logger, Python: PythonSettings{EntryPoint: "a.B"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Stop before Start is harmless and Start afterwards refuses.
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "state stopped") {
		t.Errorf("Start after Stop: %v", err)
	}
}
