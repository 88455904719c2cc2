package hooksclient_test

import (
	"path"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mmplugin/mmplugin/internal/apiserver/gluetest"
	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
	"github.com/mmplugin/mmplugin/internal/hooksclient"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// fakePlugin is a plugin process for unary hooks: a gRPC server answering every
// PluginHooksService method generically (grpc.UnknownServiceHandler), with the request and
// response types taken from the compiled descriptors.
type fakePlugin struct {
	s       *ir.Surface
	mu      sync.Mutex
	last    map[string]protoreflect.Message
	respond func(m *ir.Method, req protoreflect.Message) (protoreflect.Message, error)
}

func (f *fakePlugin) handle(_ any, stream grpc.ServerStream) error {
	full, _ := grpc.MethodFromServerStream(stream)
	var m *ir.Method
	for _, h := range f.s.Hooks {
		if h.Name == path.Base(full) {
			m = h
		}
	}
	if m == nil || m.Streaming() {
		return status.Errorf(codes.Unimplemented, "fake plugin: %s not handled", full)
	}
	req, err := gluetest.NewMessage(m.RequestName())
	if err != nil {
		return err
	}
	if err := stream.RecvMsg(req.Interface()); err != nil {
		return err
	}
	f.mu.Lock()
	f.last[m.Name] = req
	respond := f.respond
	f.mu.Unlock()
	resp, err := respond(m, req)
	if err != nil {
		return err
	}
	return stream.SendMsg(resp.Interface())
}

func newFakePlugin(t testing.TB) (*fakePlugin, *hooksclient.Client, *grpc.Server) {
	f := &fakePlugin{s: gluetest.Surface(t), last: map[string]protoreflect.Message{}}
	gs := grpc.NewServer(grpc.UnknownServiceHandler(f.handle))
	conn := gluetest.Serve(t, gs)
	return f, hooksclient.New(conn, nil, "com.example.test"), gs
}

func plainHooks(s *ir.Surface) []*ir.Method {
	var out []*ir.Method
	for _, m := range s.Hooks {
		if m.Special.Kind == gen.KindPlain {
			out = append(out, m)
		}
	}
	return out
}

func call(c *hooksclient.Client, m *ir.Method, args []reflect.Value) []reflect.Value {
	return reflect.ValueOf(c).MethodByName(m.Name).Call(args)
}

// TestEveryUnaryHook calls every unary hook with random arguments and checks that the plugin
// received exactly them and that the plugin's results and errors come back exactly.
func TestEveryUnaryHook(t *testing.T) {
	f, client, _ := newFakePlugin(t)
	fill := gluetest.NewFiller(3)
	hooks := plainHooks(f.s)
	if len(hooks) < 45 {
		t.Fatalf("only %d unary hooks", len(hooks))
	}
	for _, m := range hooks {
		t.Run(m.Name, func(t *testing.T) {
			args := make([]reflect.Value, len(m.Params))
			for i, p := range m.Params {
				args[i] = fill.Value(p.Type.Go)
			}
			results := make([]reflect.Value, len(m.Results))
			for i, r := range m.Results {
				results[i] = fill.Value(r.Type.Go)
			}
			var wantErr error
			switch m.ErrorStyle {
			case ir.ErrorApp:
				wantErr = fill.AppError(m.Name)
			case ir.ErrorPlain:
				wantErr = fill.PlainError()
			}
			f.respond = func(m *ir.Method, _ protoreflect.Message) (protoreflect.Message, error) {
				resp, err := gluetest.NewMessage(m.ResponseName())
				if err != nil {
					return nil, err
				}
				for i, rf := range m.ResponseFields {
					if err := gluetest.Set(resp, rf.ProtoName, results[i]); err != nil {
						return nil, err
					}
				}
				if wantErr != nil {
					if err := gluetest.Set(resp, m.ErrorField(), reflect.ValueOf(wantErr)); err != nil {
						return nil, err
					}
				}
				return resp, nil
			}
			out := call(client, m, args)

			req := f.last[m.Name]
			if req == nil {
				t.Fatal("the plugin was not called")
			}
			for i, rf := range m.RequestFields {
				gv, err := gluetest.Get(req, rf.ProtoName, rf.Type.Go)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(gv.Interface(), args[i].Interface()) {
					t.Errorf("argument %s differs\n got: %#v\nwant: %#v", rf.ProtoName, gv.Interface(), args[i].Interface())
				}
			}
			for i := range results {
				if !reflect.DeepEqual(out[i].Interface(), results[i].Interface()) {
					t.Errorf("result %d differs\n got: %#v\nwant: %#v", i, out[i].Interface(), results[i].Interface())
				}
			}
			if m.ErrorStyle == ir.ErrorApp {
				if got := out[len(out)-1].Interface(); !reflect.DeepEqual(got, wantErr) {
					t.Errorf("AppError differs\n got: %#v\nwant: %#v", got, wantErr)
				}
			} else if m.ErrorStyle == ir.ErrorPlain {
				if got, _ := out[len(out)-1].Interface().(error); !gluetest.SameError(wantErr, got) {
					t.Errorf("error differs: got %v, want %v", got, wantErr)
				}
			}
		})
	}
}

// TestDefaultsOnFailure makes every unary hook fail in the plugin (a gRPC status instead of a
// response) and checks the results are Mattermost's defaults: the unchanged input for the
// hooks whose gen.HookResults row names DefaultFromParam, zero values otherwise, an error for
// Implemented and the server's "command crashed" error for ExecuteCommand.
func TestDefaultsOnFailure(t *testing.T) {
	f, client, _ := newFakePlugin(t)
	f.respond = func(*ir.Method, protoreflect.Message) (protoreflect.Message, error) {
		return nil, status.Error(codes.Internal, "the plugin raised an exception")
	}
	fill := gluetest.NewFiller(4)
	keepsInput := 0
	for _, m := range plainHooks(f.s) {
		t.Run(m.Name, func(t *testing.T) {
			args := make([]reflect.Value, len(m.Params))
			for i, p := range m.Params {
				args[i] = fill.Value(p.Type.Go)
			}
			out := call(client, m, args)
			for i, o := range out {
				want := reflect.Zero(m.Func.Out(i))
				if i == 0 && m.Result.DefaultFromParam != "" {
					for j, p := range m.Params {
						if p.GoName == m.Result.DefaultFromParam {
							want = args[j]
						}
					}
					keepsInput++
					if o.Pointer() != want.Pointer() {
						t.Errorf("result is not the input %s itself", m.Result.DefaultFromParam)
					}
				}
				if (m.Result.TransportError || m.Result.FailWith != "") && i == len(out)-1 {
					if o.IsNil() {
						t.Errorf("%s hid the failure: want an error", m.Name)
					}
					continue
				}
				if !reflect.DeepEqual(o.Interface(), want.Interface()) {
					t.Errorf("result %d: got %#v, want Mattermost's default %#v", i, o.Interface(), want.Interface())
				}
			}
		})
	}
	if keepsInput != 4 { // MessageWillBePosted, MessageWillBeUpdated, ChannelMemberWillBeAdded, TeamMemberWillBeAdded
		t.Errorf("%d unary hooks keep their input on failure, want 4", keepsInput)
	}
}

// TestDeadPluginFailsPromptly stops the plugin process's server while a hook is in flight and
// then calls another: both return Mattermost's defaults at once instead of hanging.
func TestDeadPluginFailsPromptly(t *testing.T) {
	f, client, gs := newFakePlugin(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	f.respond = func(*ir.Method, protoreflect.Message) (protoreflect.Message, error) {
		close(entered)
		<-release
		return nil, status.Error(codes.Internal, "unreachable")
	}
	defer close(release)
	post := &model.Post{Id: "p1", Message: "hello"}
	done := make(chan *model.Post)
	go func() {
		got, _ := client.MessageWillBePosted(&plugin.Context{}, post)
		done <- got
	}()
	<-entered
	start := time.Now()
	go gs.Stop() // the process dies: connections close under the in-flight call
	select {
	case got := <-done:
		if got != post {
			t.Errorf("in-flight call returned %v, want the input post", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight hook did not fail when the connection died")
	}
	got, reason := client.MessageWillBePosted(&plugin.Context{}, post)
	if got != post || reason != "" {
		t.Errorf("call after death returned %v, %q", got, reason)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failing took %v", d)
	}
}

// TestUnsupportedHookKeepsDefaults checks that a hook listed in Unsupported returns
// Mattermost's defaults without calling the plugin.
func TestUnsupportedHookKeepsDefaults(t *testing.T) {
	hooksclient.Unsupported["MessageWillBePosted"] = "for this test"
	defer delete(hooksclient.Unsupported, "MessageWillBePosted")
	f, client, _ := newFakePlugin(t)
	f.respond = func(*ir.Method, protoreflect.Message) (protoreflect.Message, error) {
		t.Error("the plugin was called")
		return nil, status.Error(codes.Internal, "unexpected")
	}
	post := &model.Post{Id: "p"}
	if got, reason := client.MessageWillBePosted(&plugin.Context{}, post); got != post || reason != "" {
		t.Fatalf("got %v %q", got, reason)
	}
}

// TestExecuteCommandFailure: a command whose handler raised (or whose process is down) answers
// with the error the server shows for a Go plugin that crashed in the command, naming the
// command and the plugin, not with Mattermost's zero value (which the server turns into
// "Command with a trigger of … not found").
func TestExecuteCommandFailure(t *testing.T) {
	f, client, _ := newFakePlugin(t)
	f.respond = func(*ir.Method, protoreflect.Message) (protoreflect.Message, error) {
		return nil, status.Error(codes.Unknown, "hook execute_command: raised KeyError: 'x'")
	}
	resp, appErr := client.ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: "/Weather  tomorrow please"})
	if resp != nil || appErr == nil {
		t.Fatalf("got (%v, %v), want (nil, an *AppError)", resp, appErr)
	}
	want := "/weather command crashed the com.example.test plugin. Please contact your system administrator"
	if appErr.Id != "model.plugin_command_crash.error.app_error" || appErr.Message != want ||
		appErr.StatusCode != 500 || !appErr.SkipTranslation {
		t.Errorf("got %+v, want id model.plugin_command_crash.error.app_error, message %q, 500, untranslated", appErr, want)
	}
	if !strings.Contains(appErr.DetailedError, "KeyError") {
		t.Errorf("detailed error %q lacks the cause", appErr.DetailedError)
	}
}

// TestMessageWillBeUpdatedNoneKeeps: a response with neither a post nor a reason (Python's
// None) answers the server with the edited post, since the server rejects an edit on a nil
// post; a reason without a post still rejects.
func TestMessageWillBeUpdatedNoneKeeps(t *testing.T) {
	f, client, _ := newFakePlugin(t)
	reason := ""
	f.respond = func(m *ir.Method, _ protoreflect.Message) (protoreflect.Message, error) {
		return (&pb.MessageWillBeUpdatedResponse{Result_2: reason}).ProtoReflect(), nil
	}
	newPost, oldPost := &model.Post{Id: "p", Message: "edited"}, &model.Post{Id: "p", Message: "old"}
	got, why := client.MessageWillBeUpdated(&plugin.Context{}, newPost, oldPost)
	if got != newPost || why != "" {
		t.Errorf("None: got (%v, %q), want the edited post itself and no reason", got, why)
	}
	reason = "no edits on Fridays"
	got, why = client.MessageWillBeUpdated(&plugin.Context{}, newPost, oldPost)
	if got != nil || why != reason {
		t.Errorf("Reject: got (%v, %q), want (nil, %q)", got, why, reason)
	}
}

// TestFailClosed: hooks named in SetFailClosed reject (or hide the posts) when the call fails,
// with a reason naming the plugin; other hooks keep Mattermost's default.
func TestFailClosed(t *testing.T) {
	f, client, _ := newFakePlugin(t)
	f.respond = func(*ir.Method, protoreflect.Message) (protoreflect.Message, error) {
		return nil, status.Error(codes.Unavailable, "the Python process is restarting")
	}
	if err := client.SetFailClosed([]string{"ExecuteCommand"}); err == nil || !strings.Contains(err.Error(), "MessageWillBePosted") {
		t.Errorf("SetFailClosed(ExecuteCommand) = %v, want an error listing the valid hooks", err)
	}
	if err := client.SetFailClosed([]string{"MessageWillBePosted", "MessagesWillBeConsumed", "UserWillLogIn"}); err != nil {
		t.Fatal(err)
	}
	post := &model.Post{Id: "p", Message: "secret"}
	got, why := client.MessageWillBePosted(&plugin.Context{}, post)
	if got != nil || !strings.Contains(why, "com.example.test plugin could not check this") {
		t.Errorf("MessageWillBePosted failed closed = (%v, %q)", got, why)
	}
	if why := client.UserWillLogIn(&plugin.Context{}, &model.User{}); why == "" {
		t.Error("UserWillLogIn did not fail closed")
	}
	hidden := client.MessagesWillBeConsumed([]*model.Post{post})
	if len(hidden) != 1 || hidden[0].Id != "p" || strings.Contains(hidden[0].Message, "secret") || post.Message != "secret" {
		t.Errorf("MessagesWillBeConsumed failed closed = %+v (input now %q)", hidden, post.Message)
	}
	// Not named: Mattermost's default (the edit is kept).
	newPost := &model.Post{Id: "p", Message: "edit"}
	if got, why := client.MessageWillBeUpdated(&plugin.Context{}, newPost, post); got != newPost || why != "" {
		t.Errorf("MessageWillBeUpdated (not fail-closed) = (%v, %q)", got, why)
	}
}
