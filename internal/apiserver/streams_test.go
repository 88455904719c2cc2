package apiserver_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/stretchr/testify/mock"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mmplugin/mmplugin/internal/apiserver"
	"github.com/mmplugin/mmplugin/internal/apiserver/gluetest"
	"github.com/mmplugin/mmplugin/internal/convert"
	"github.com/mmplugin/mmplugin/internal/gen"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

const chunk = 64 << 10

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s (is the body buffered instead of streamed?)", what)
	}
}

// TestReaderUploads streams a body into each io.Reader method (InstallPlugin, UploadData,
// ReceiveSharedChannelAttachmentSyncMsg) and checks that the implementation reads the first
// chunk before the plugin has sent the second, that every byte and argument arrives, and that
// results and errors come back.
func TestReaderUploads(t *testing.T) {
	s := gluetest.Surface(t)
	fill := gluetest.NewFiller(2)
	n := 0
	for _, m := range s.API {
		if m.Special.Kind != gen.KindReaderUpload {
			continue
		}
		n++
		t.Run(m.Name, func(t *testing.T) { checkReaderUpload(t, newFixture(t), m, fill) })
	}
	if n != 3 {
		t.Fatalf("%d reader uploads in the surface, the test expects 3", n)
	}
}

func checkReaderUpload(t *testing.T, f *fixture, m *ir.Method, fill *gluetest.Filler) {
	args := make([]reflect.Value, len(m.Params))
	readerAt := -1
	for i, p := range m.Params {
		if p.Type.Kind == ir.KindStream {
			readerAt = i
			continue
		}
		args[i] = fill.Value(p.Type.Go)
	}
	head, err := gluetest.NewMessage(m.RequestMessage)
	if err != nil {
		t.Fatal(err)
	}
	for _, rf := range m.RequestFields {
		if err := gluetest.Set(head, rf.ProtoName, args[paramIndex(m, rf.GoName)]); err != nil {
			t.Fatal(err)
		}
	}
	first := bytes.Repeat([]byte("A"), chunk)
	second := bytes.Repeat([]byte("B"), 3*chunk+17)
	result := fill.Value(m.Results[0].Type.Go)
	var wantErr error
	errRet := any(nil)
	if m.ErrorStyle == ir.ErrorApp {
		e := fill.AppError(m.Name)
		wantErr, errRet = e, e
	} else {
		wantErr = fill.PlainError()
		errRet = wantErr
	}

	gotFirst := make(chan struct{})
	var received []byte
	var gotArgs []any
	matchers := make([]any, len(m.Params))
	for i := range matchers {
		matchers[i] = mock.Anything
	}
	f.api.On(m.Name, matchers...).Run(func(a mock.Arguments) {
		gotArgs = append([]any(nil), a...)
		r := a.Get(readerAt).(io.Reader)
		buf := make([]byte, chunk)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Errorf("reading the first chunk: %v", err)
		}
		received = append(received, buf...)
		close(gotFirst)
		rest, err := io.ReadAll(r)
		if err != nil {
			t.Errorf("reading the rest: %v", err)
		}
		received = append(received, rest...)
	}).Return(result.Interface(), errRet).Once()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a buffering server would hang
	defer cancel()
	stream, err := f.conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true},
		"/mmplugin.v1.PluginAPIService/"+m.Name)
	if err != nil {
		t.Fatal(err)
	}
	send := func(field string, v protoreflect.Message) {
		t.Helper()
		msg, err := gluetest.NewMessage(m.RequestName())
		if err != nil {
			t.Fatal(err)
		}
		msg.Set(msg.Descriptor().Fields().ByName(protoreflect.Name(field)), protoreflect.ValueOfMessage(v))
		if err := stream.SendMsg(msg.Interface()); err != nil {
			t.Fatal(err)
		}
	}
	send("head", head)
	send("chunk", (&pb.StreamChunk{Data: first}).ProtoReflect())
	waitFor(t, gotFirst, "the implementation to read the first chunk")
	for i := 0; i < len(second); i += chunk {
		send("chunk", (&pb.StreamChunk{Data: second[i:min(i+chunk, len(second))]}).ProtoReflect())
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	resp, err := gluetest.NewMessage(m.ResponseName())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.RecvMsg(resp.Interface()); err != nil {
		t.Fatalf("RPC failed: %v", err)
	}

	if want := append(append([]byte(nil), first...), second...); !bytes.Equal(received, want) {
		t.Errorf("the implementation read %d bytes, want %d (content differs: %v)", len(received), len(want), len(received) == len(want))
	}
	for i, a := range args {
		if i == readerAt {
			continue
		}
		if !reflect.DeepEqual(gotArgs[i], a.Interface()) {
			t.Errorf("argument %s differs\n got: %#v\nwant: %#v", m.Params[i].GoName, gotArgs[i], a.Interface())
		}
	}
	gv, err := gluetest.Get(resp, "result", m.Results[0].Type.Go)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gv.Interface(), result.Interface()) {
		t.Errorf("result differs\n got: %#v\nwant: %#v", gv.Interface(), result.Interface())
	}
	ev, err := gluetest.Get(resp, m.ErrorField(), errType(m))
	if err != nil {
		t.Fatal(err)
	}
	if m.ErrorStyle == ir.ErrorApp {
		if !reflect.DeepEqual(ev.Interface(), wantErr) {
			t.Errorf("AppError differs: got %#v, want %#v", ev.Interface(), wantErr)
		}
	} else if e, _ := ev.Interface().(error); !gluetest.SameError(wantErr, e) {
		t.Errorf("error differs: got %v, want %v", e, wantErr)
	}
}

// TestUploadWithoutHead checks that a stream not starting with its head is refused clearly.
func TestUploadWithoutHead(t *testing.T) {
	f := newFixture(t)
	stream, err := pb.NewPluginAPIServiceClient(f.conn).InstallPlugin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.InstallPluginRequest{Part: &pb.InstallPluginRequest_Chunk{Chunk: &pb.StreamChunk{Data: []byte("x")}}}); err != nil {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "head") {
		t.Fatalf("got %v, want InvalidArgument naming the head", err)
	}
}

// TestPluginHTTPStreams sends a request through PluginHTTP and checks both bodies are
// streamed: the server sees the first request chunk while the plugin still holds the rest,
// and the plugin receives the first response chunk while the server still holds the rest.
func TestPluginHTTPStreams(t *testing.T) {
	f := newFixture(t)
	reqFirst := bytes.Repeat([]byte("q"), chunk)
	reqRest := bytes.Repeat([]byte("r"), 2*chunk+5)
	respFirst := []byte("first part of the answer")
	respRest := bytes.Repeat([]byte("s"), 3*chunk+1)

	gotReqFirst := make(chan struct{})
	gotRespFirst := make(chan struct{})
	bodyR, bodyW := io.Pipe()
	var seen *http.Request
	var reqBody []byte
	f.api.On("PluginHTTP", mock.Anything).Return(func(r *http.Request) *http.Response {
		seen = r
		buf := make([]byte, len(reqFirst))
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			t.Errorf("reading the first request chunk: %v", err)
		}
		close(gotReqFirst)
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request body: %v", err)
		}
		reqBody = append(buf, rest...)
		go func() {
			_, _ = bodyW.Write(respFirst)
			<-gotRespFirst
			_, _ = bodyW.Write(respRest)
			bodyW.Close()
		}()
		return &http.Response{StatusCode: http.StatusAccepted, Header: http.Header{"X-Answer": {"1", "2"}}, Body: bodyR}
	}).Once()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a buffering server would hang
	defer cancel()
	stream, err := pb.NewPluginAPIServiceClient(f.conn).PluginHTTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head := &pb.HTTPRequestHead{Method: "POST", Url: "/other.plugin/hook?x=1", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Headers:       []*pb.HTTPHeader{{Name: "Mattermost-User-Id", Values: []string{"user1"}}, {Name: "X-Many", Values: []string{"a", "b"}}},
		ContentLength: int64(len(reqFirst) + len(reqRest))}
	sendReq := func(m *pb.PluginHTTPRequest) {
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	sendReq(&pb.PluginHTTPRequest{Part: &pb.PluginHTTPRequest_Head{Head: head}})
	sendReq(&pb.PluginHTTPRequest{Part: &pb.PluginHTTPRequest_Body{Body: &pb.StreamChunk{Data: reqFirst}}})
	waitFor(t, gotReqFirst, "the server to read the first request chunk")
	sendReq(&pb.PluginHTTPRequest{Part: &pb.PluginHTTPRequest_Body{Body: &pb.StreamChunk{Data: reqRest}}})
	sendReq(&pb.PluginHTTPRequest{Part: &pb.PluginHTTPRequest_End{End: &pb.StreamEnd{}}})
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}

	m, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	rh := m.GetHead()
	if rh == nil || rh.StatusCode != http.StatusAccepted || len(rh.Headers) != 1 || rh.Headers[0].Name != "X-Answer" ||
		!reflect.DeepEqual(rh.Headers[0].Values, []string{"1", "2"}) {
		t.Fatalf("response head: %v", m)
	}
	var body []byte
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("response stream: %v", err)
		}
		if c := m.GetBody(); c != nil {
			if len(c.Data) > chunk {
				t.Errorf("a response chunk of %d bytes exceeds 64 KiB", len(c.Data))
			}
			if len(body) == 0 && bytes.Equal(c.Data, respFirst) {
				close(gotRespFirst) // the rest is only written now: it was not buffered
			}
			body = append(body, c.Data...)
			continue
		}
		if e := m.GetEnd(); e != nil {
			if e.Error != nil {
				t.Fatalf("stream ended with %v", e.Error)
			}
			break
		}
		t.Fatalf("unexpected message %v", m)
	}
	if want := append(append([]byte(nil), respFirst...), respRest...); !bytes.Equal(body, want) {
		t.Errorf("response body: %d bytes, want %d", len(body), len(want))
	}
	if want := append(append([]byte(nil), reqFirst...), reqRest...); !bytes.Equal(reqBody, want) {
		t.Errorf("request body: %d bytes, want %d", len(reqBody), len(want))
	}
	if seen.Method != "POST" || seen.URL.String() != "/other.plugin/hook?x=1" || seen.Header.Get("Mattermost-User-Id") != "user1" ||
		!reflect.DeepEqual(seen.Header["X-Many"], []string{"a", "b"}) || seen.ContentLength != head.ContentLength {
		t.Errorf("request arrived as %s %s %v (length %d)", seen.Method, seen.URL, seen.Header, seen.ContentLength)
	}
}

// TestPluginHTTPNilResponse checks the error when the server returns no response.
func TestPluginHTTPNilResponse(t *testing.T) {
	f := newFixture(t)
	f.api.On("PluginHTTP", mock.Anything).Return(nil).Once()
	stream, err := pb.NewPluginAPIServiceClient(f.conn).PluginHTTP(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&pb.PluginHTTPRequest{Part: &pb.PluginHTTPRequest_Head{Head: &pb.HTTPRequestHead{Method: "GET", Url: "/nowhere/x"}}})
	_ = stream.CloseSend()
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want Unavailable", err)
	}
}

// TestLoadPluginConfiguration checks the configuration crosses as the exact JSON bytes (a
// large integer keeps every digit) and that an error comes back as an error.
func TestLoadPluginConfiguration(t *testing.T) {
	f := newFixture(t)
	const cfg = `{"Big":12345678901234567890,"Name":"x"}`
	f.api.On("LoadPluginConfiguration", mock.Anything).Run(func(a mock.Arguments) {
		if err := json.Unmarshal([]byte(cfg), a.Get(0)); err != nil {
			t.Error(err)
		}
	}).Return(nil).Once()
	client := pb.NewPluginAPIServiceClient(f.conn)
	resp, err := client.LoadPluginConfiguration(context.Background(), &pb.LoadPluginConfigurationRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.ConfigJson) != cfg || resp.Error != nil {
		t.Fatalf("got %q, %v; want %q", resp.ConfigJson, resp.Error, cfg)
	}

	f.api.On("LoadPluginConfiguration", mock.Anything).Return(errors.New("config unreadable")).Once()
	resp, err = client.LoadPluginConfiguration(context.Background(), &pb.LoadPluginConfigurationRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if e := convert.ErrorFromProto(resp.Error); e == nil || e.Error() != "config unreadable" {
		t.Fatalf("got error %v", e)
	}
}

// TestPanicIsContained checks that a panicking implementation fails only its own call.
func TestPanicIsContained(t *testing.T) {
	f := newFixture(t)
	client := pb.NewPluginAPIServiceClient(f.conn)
	// No expectation set: the mock panics.
	_, err := client.GetUser(context.Background(), &pb.GetUserRequest{UserId: "u1"})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "GetUser") {
		t.Fatalf("got %v, want Internal naming GetUser", err)
	}
	f.api.On("GetServerVersion").Return("10.0.0").Once()
	resp, err := client.GetServerVersion(context.Background(), &pb.GetServerVersionRequest{})
	if err != nil || resp.Result != "10.0.0" {
		t.Fatalf("the server did not survive the panic: %v, %v", resp, err)
	}
}

// TestUnsupportedAnswersUnimplemented checks that a method listed in Unsupported answers
// Unimplemented with a message naming it, without calling the implementation.
func TestUnsupportedAnswersUnimplemented(t *testing.T) {
	apiserver.Unsupported["GetUser"] = "for this test"
	defer delete(apiserver.Unsupported, "GetUser")
	f := newFixture(t)
	_, err := pb.NewPluginAPIServiceClient(f.conn).GetUser(context.Background(), &pb.GetUserRequest{UserId: "u"})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "GetUser is not supported yet") {
		t.Fatalf("got %v", err)
	}
	if len(f.api.Calls) != 0 {
		t.Fatal("the implementation was called")
	}
}

// TestErrorsSurvive pins the two error styles with fixed values: an AppError keeps every
// field (params included) and a sentinel error is itself again on the far side.
func TestErrorsSurvive(t *testing.T) {
	f := newFixture(t)
	appErr := model.NewAppError("KVGet", "app.plugin.kv.get", map[string]any{"Key": "k", "N": 3}, "db down", http.StatusServiceUnavailable)
	appErr.RequestId = "rq1"
	f.api.On("KVGet", "k").Return(nil, appErr).Once()
	resp, err := pb.NewPluginAPIServiceClient(f.conn).KVGet(context.Background(), &pb.KVGetRequest{Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got := convert.AppErrorFromProto(resp.AppError); !reflect.DeepEqual(got, appErr) {
		t.Fatalf("AppError crossed as %#v, want %#v", got, appErr)
	}
	if resp.Result != nil {
		t.Fatalf("nil []byte result crossed as %v", resp.Result)
	}

	f.driver.On("ConnPing", "c1").Return(driver.ErrBadConn).Once()
	pr, err := pb.NewPluginDriverServiceClient(f.conn).ConnPing(context.Background(), &pb.ConnPingRequest{ConnId: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := convert.ErrorFromProto(pr.Error); !errors.Is(got, driver.ErrBadConn) {
		t.Fatalf("sentinel crossed as %v", got)
	}
}
