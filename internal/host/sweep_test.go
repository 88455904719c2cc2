package host_test

// The sweeps run one real Python plugin (testdata/sweep) through the real mmplugin-host inside
// Mattermost's plugin.Environment and cross every plugin.API method and every plugin.Hooks
// method once: the API sweep calls each method of the SDK's generated API client from Python
// (arguments built from the type hints), the hook sweep calls each hook of a plugin that
// defines all of them. Together with the harness's counters (Exercised) they are what makes
// `mmplugin-parity` report the whole surface as exercised.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"

	"github.com/mmplugin/mmplugin/internal/harness"
)

func sweepPlugin(t *testing.T, h *harness.Harness, id, file string) {
	t.Helper()
	code, err := os.ReadFile("testdata/sweep/" + file)
	if err != nil {
		t.Fatal(err)
	}
	activatePython(t, h, id, string(code), map[string]any{"sweep": "yes"})
}

// getJSON sends GET path to the plugin's ServeHTTP and decodes its JSON answer into out.
func getJSON(t *testing.T, h *harness.Harness, id, path string, out any) {
	t.Helper()
	resp := h.ServeHTTP(id, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func TestSweepEveryAPIMethodFromPython(t *testing.T) {
	h := harness.New(t)
	const id = "com.example.apisweep"
	sweepPlugin(t, h, id, "api_sweep.py")
	w := newWorld(t, h)
	team, appErr := h.API().GetTeam(w.channel.TeamId)
	if appErr != nil {
		t.Fatal(appErr)
	}

	// Spot checks: methods the in-memory server implements answer real values.
	var spot struct {
		KV                []byte         `json:"kv"`
		Username          string         `json:"username"`
		UserByName        string         `json:"user_by_name"`
		PostMessage       string         `json:"post_message"`
		PostChannel       string         `json:"post_channel"`
		ChannelID         string         `json:"channel_id"`
		TeamID            string         `json:"team_id"`
		PluginConfig      map[string]any `json:"plugin_config"`
		ServerVersion     string         `json:"server_version"`
		MissingUserStatus int            `json:"missing_user_status"`
	}
	q := url.Values{"user_id": {w.user.Id}, "channel_id": {w.channel.Id}, "team_name": {team.Name}}
	getJSON(t, h, id, "/spot?"+q.Encode(), &spot)
	checks := []struct{ what, got, want string }{
		{"kv_get after kv_set", string(spot.KV), "\x00spot\xff"},
		{"get_user(...).username", spot.Username, w.user.Username},
		{"get_user_by_username(...).id", spot.UserByName, w.user.Id},
		{"get_post(create_post(...).id).message", spot.PostMessage, "spot"},
		{"get_post(...).channel_id", spot.PostChannel, w.channel.Id},
		{"get_channel(...).id", spot.ChannelID, w.channel.Id},
		{"get_team_by_name(...).id", spot.TeamID, team.Id},
		{"get_plugin_config()['sweep']", stringOf(spot.PluginConfig["sweep"]), "yes"},
		{"get_server_version()", spot.ServerVersion, model.CurrentVersion},
		{"get_user(unknown) status", stringOf(spot.MissingUserStatus), "404"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if stored, _ := h.Server().NewPluginAPI(&model.Manifest{Id: id}).KVGet("spot"); string(stored) != "\x00spot\xff" {
		t.Errorf("the server holds KV spot = %q", stored)
	}

	before, _ := h.Exercised()
	var results map[string]struct{ Outcome, Detail string }
	getJSON(t, h, id, "/sweep", &results)
	after, _ := h.Exercised()

	apiType := reflect.TypeFor[plugin.API]()
	outcomes := map[string]int{}
	for name, r := range results {
		outcomes[r.Outcome]++
		if testing.Verbose() {
			t.Logf("%s: %s %s", name, r.Outcome, r.Detail)
		}
	}
	t.Logf("API sweep outcomes: %v", outcomes)
	var notCrossed []string
	for m := range apiType.Methods() {
		r, ok := results[m.Name]
		switch {
		case !ok:
			t.Errorf("%s: the Python sweep did not report it (missing from surface.json?)", m.Name)
		case r.Outcome != "value" && r.Outcome != "app_error" && r.Outcome != "api_error":
			t.Errorf("%s: %s: %s", m.Name, r.Outcome, r.Detail)
		}
		if after[m.Name] <= before[m.Name] {
			notCrossed = append(notCrossed, m.Name)
		}
	}
	if len(notCrossed) > 0 {
		t.Errorf("%d API methods never reached the server: %s", len(notCrossed), strings.Join(notCrossed, ", "))
	}
	if len(results) != apiType.NumMethod() {
		t.Errorf("the sweep reported %d methods, plugin.API has %d", len(results), apiType.NumMethod())
	}
	// Each outcome is a real answer: unsupported methods say so, supported ones do not.
	for _, name := range []string{"GetPluginConfig", "GetServerVersion", "KVSet", "GetBundlePath"} {
		if r := results[name]; r.Outcome != "value" {
			t.Errorf("%s: %s %s, want a value (the in-memory server implements it)", name, r.Outcome, r.Detail)
		}
	}
	for _, name := range []string{"GetUser", "GetChannel", "GetPost"} {
		if r := results[name]; r.Outcome != "app_error" || !strings.HasPrefix(r.Detail, "404") {
			t.Errorf("%s of an unknown id: %s %s, want a 404 AppError", name, r.Outcome, r.Detail)
		}
	}
	if r := results["GetGroup"]; r.Outcome != "app_error" || !strings.HasPrefix(r.Detail, "501") {
		t.Errorf("GetGroup: %s %s, want the in-memory server's 501", r.Outcome, r.Detail)
	}
}

func stringOf(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

var (
	contextType  = reflect.TypeFor[*plugin.Context]()
	readerType   = reflect.TypeFor[io.Reader]()
	writerType   = reflect.TypeFor[io.Writer]()
	respType     = reflect.TypeFor[http.ResponseWriter]()
	requestType  = reflect.TypeFor[*http.Request]()
	hookSweepNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()
)

// hookArg is a valid argument of type t for a hook: model values with ids, one-element slices.
func hookArg(t reflect.Type, name string) reflect.Value {
	switch t {
	case contextType:
		return reflect.ValueOf(&plugin.Context{RequestId: model.NewId(), UserAgent: "sweep"})
	case readerType:
		return reflect.ValueOf(strings.NewReader("sweep upload"))
	case writerType:
		return reflect.ValueOf(new(bytes.Buffer))
	case respType:
		return reflect.ValueOf(httptest.NewRecorder())
	case requestType:
		return reflect.ValueOf(httptest.NewRequest(http.MethodPost, "/sweep/"+name, strings.NewReader("body of "+name)))
	}
	switch t.Kind() {
	case reflect.Pointer:
		v := reflect.New(t.Elem())
		if t.Elem().Kind() == reflect.Struct {
			fillIDs(v.Elem())
		}
		return v
	case reflect.Struct:
		v := reflect.New(t).Elem()
		fillIDs(v)
		return v
	case reflect.Slice:
		s := reflect.MakeSlice(t, 1, 1)
		s.Index(0).Set(hookArg(t.Elem(), name))
		return s
	case reflect.String:
		return reflect.ValueOf(model.NewId()).Convert(t)
	case reflect.Int64:
		return reflect.ValueOf(hookSweepNow).Convert(t)
	}
	return reflect.Zero(t)
}

// fillIDs sets the Id-like string fields of a struct so that the value is a plausible model.
func fillIDs(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.IsExported() && f.Type.Kind() == reflect.String && (f.Name == "Id" || strings.HasSuffix(f.Name, "Id")) {
			v.Field(i).SetString(model.NewId())
		}
	}
}

func TestSweepEveryHookIntoPython(t *testing.T) {
	h := harness.New(t)
	const id = "com.example.hooksweep"
	sweepPlugin(t, h, id, "hook_sweep.py")
	hooks := h.Hooks(id)
	hooksType := reflect.TypeFor[plugin.Hooks]()
	_, hooksBefore := h.Exercised()

	implemented, err := hooks.Implemented()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for m := range hooksType.Methods() {
		if m.Name != "Implemented" {
			want = append(want, m.Name)
		}
	}
	got := slices.Sorted(slices.Values(implemented))
	if !slices.Equal(got, want) {
		t.Fatalf("Implemented() = %v (%d), want every hook (%d)", got, len(got), len(want))
	}

	records := func(hook string) int {
		return len(h.Log().Find(harness.LogQuery{Message: "sweep hook", Fields: map[string]string{"hook": hook}}))
	}
	v := reflect.ValueOf(hooks)
	for m := range hooksType.Methods() {
		if m.Name == "Implemented" || m.Name == "OnDeactivate" {
			continue // Implemented was called above; OnDeactivate last, below
		}
		n := records(m.Name)
		args := make([]reflect.Value, m.Type.NumIn())
		for i := range args {
			args[i] = hookArg(m.Type.In(i), m.Name)
		}
		out := v.MethodByName(m.Name).Call(args)
		checkHookResult(t, m.Name, args, out)
		if records(m.Name) <= n {
			t.Errorf("%s: the Python handler left no record", m.Name)
		}
	}
	n := records("OnDeactivate")
	if err := hooks.OnDeactivate(); err != nil {
		t.Errorf("OnDeactivate: %v", err)
	}
	if records("OnDeactivate") <= n {
		t.Error("OnDeactivate: the Python handler left no record")
	}

	_, hooksAfter := h.Exercised()
	for m := range hooksType.Methods() {
		if hooksAfter[m.Name] <= hooksBefore[m.Name] {
			t.Errorf("%s: the harness did not count the invocation", m.Name)
		}
	}
}

// checkHookResult asserts the "no change" answers of the sweep plugin and what the HTTP and
// upload handlers wrote.
func checkHookResult(t *testing.T, name string, args, out []reflect.Value) {
	t.Helper()
	for i, o := range out {
		if o.Type().Implements(reflect.TypeFor[error]()) && !o.IsNil() {
			t.Errorf("%s: result %d is the error %v", name, i, o.Interface())
			continue
		}
		switch o.Kind() {
		case reflect.String:
			if o.String() != "" {
				t.Errorf("%s: rejected with %q, want no change", name, o.String())
			}
		case reflect.Int64:
			if o.Int() != 0 {
				t.Errorf("%s: answered %d, want 0", name, o.Int())
			}
		case reflect.Bool:
			if !o.Bool() {
				t.Errorf("%s: answered false, want true", name)
			}
		}
	}
	switch name {
	case "ServeHTTP", "ServeMetrics":
		rec := args[1].Interface().(*httptest.ResponseRecorder)
		want := name + " POST /sweep/" + name + " body of " + name
		if rec.Code != http.StatusOK || rec.Header().Get("X-Sweep-Hook") != name || rec.Body.String() != want {
			t.Errorf("%s answered %d %v %q, want 200 with %q", name, rec.Code, rec.Header(), rec.Body.String(), want)
		}
	case "FileWillBeUploaded":
		if got := args[3].Interface().(*bytes.Buffer).String(); got != "SWEEP UPLOAD" {
			t.Errorf("FileWillBeUploaded wrote %q, want the upload upper-cased", got)
		}
	}
}
