package hooksclient_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/apiserver/gluetest"
	"github.com/mmplugin/mmplugin/internal/convert"
	"github.com/mmplugin/mmplugin/internal/hooksclient"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

const chunk = 64 << 10

// streamPlugin is a plugin process implementing the streaming hooks with test functions.
type streamPlugin struct {
	pb.UnimplementedPluginHooksServiceServer
	serveHTTP    func(grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error
	serveMetrics func(grpc.BidiStreamingServer[pb.ServeMetricsRequest, pb.ServeMetricsResponse]) error
	upload       func(grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error
}

func (p *streamPlugin) ServeHTTP(s grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error {
	if p.serveHTTP == nil {
		return p.UnimplementedPluginHooksServiceServer.ServeHTTP(s)
	}
	return p.serveHTTP(s)
}

func (p *streamPlugin) ServeMetrics(s grpc.BidiStreamingServer[pb.ServeMetricsRequest, pb.ServeMetricsResponse]) error {
	return p.serveMetrics(s)
}

func (p *streamPlugin) FileWillBeUploaded(s grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error {
	return p.upload(s)
}

func newStreamPlugin(t testing.TB, p *streamPlugin) *hooksclient.Client {
	gs := grpc.NewServer()
	pb.RegisterPluginHooksServiceServer(gs, p)
	return hooksclient.New(gluetest.Serve(t, gs), nil, "com.example.test")
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s (is something buffered instead of streamed?)", what)
	}
}

var pluginCtx = &plugin.Context{SessionId: "sess1", RequestId: "req1", IPAddress: "10.1.2.3", UserAgent: "ua", ConnectionId: "conn1", AcceptLanguage: "de"}

// TestServeHTTPStreamsBothWays sends a large request body through ServeHTTP and checks the
// plugin sees its first chunk while the client still holds the rest; then the plugin answers
// with a flushed first chunk which the client must read before the plugin sends the rest.
func TestServeHTTPStreamsBothWays(t *testing.T) {
	reqFirst := bytes.Repeat([]byte("a"), chunk)
	reqRest := bytes.Repeat([]byte("b"), 5*chunk+3)
	respFirst := []byte("first")
	respRest := bytes.Repeat([]byte("c"), 4*chunk+9)
	gotReqFirst := make(chan struct{})
	gotRespFirst := make(chan struct{})
	var head *pb.HTTPRequestHead
	var reqBody []byte
	maxChunk := 0

	client := newStreamPlugin(t, &streamPlugin{serveHTTP: func(s grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		head = m.GetHead()
		for {
			m, err := s.Recv()
			if err != nil {
				return err
			}
			if b := m.GetBody(); b != nil {
				maxChunk = max(maxChunk, len(b.Data))
				if len(reqBody) < len(reqFirst) && len(reqBody)+len(b.Data) >= len(reqFirst) {
					reqBody = append(reqBody, b.Data...)
					close(gotReqFirst)
					continue
				}
				reqBody = append(reqBody, b.Data...)
				continue
			}
			if e := m.GetEnd(); e != nil {
				if e.Error != nil {
					return errors.New("request body failed: " + e.Error.Message)
				}
				break
			}
		}
		send := func(m *pb.ServeHTTPResponse) error { return s.Send(m) }
		if err := send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Head{Head: &pb.HTTPResponseHead{
			StatusCode: http.StatusCreated, Headers: []*pb.HTTPHeader{{Name: "X-Reply", Values: []string{"r1", "r2"}}}}}}); err != nil {
			return err
		}
		if err := send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Body{Body: &pb.StreamChunk{Data: respFirst}}}); err != nil {
			return err
		}
		if err := send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Flush{Flush: &pb.HTTPFlush{}}}); err != nil {
			return err
		}
		select {
		case <-gotRespFirst:
		case <-time.After(10 * time.Second):
			return errors.New("the client never saw the flushed chunk")
		}
		for i := 0; i < len(respRest); i += chunk {
			if err := send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Body{Body: &pb.StreamChunk{Data: respRest[i:min(i+chunk, len(respRest))]}}}); err != nil {
				return err
			}
		}
		return send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_End{End: &pb.StreamEnd{}}})
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client.ServeHTTP(pluginCtx, w, r)
	}))
	defer srv.Close()

	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(reqFirst)
		select {
		case <-gotReqFirst:
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the plugin never saw the first request chunk"))
			return
		}
		_, _ = pw.Write(reqRest)
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/plugins/x/upload?y=2", pr)
	req.Header.Set("Mattermost-User-Id", "user42")
	hc := &http.Client{Timeout: 20 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || strings.Join(resp.Header.Values("X-Reply"), ",") != "r1,r2" {
		t.Fatalf("response %d %v", resp.StatusCode, resp.Header)
	}
	first := make([]byte, len(respFirst))
	if _, err := io.ReadFull(resp.Body, first); err != nil || !bytes.Equal(first, respFirst) {
		t.Fatalf("first response chunk %q, %v", first, err)
	}
	close(gotRespFirst)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(rest, respRest) {
		t.Fatalf("rest of the response: %d bytes, %v", len(rest), err)
	}

	if want := append(append([]byte(nil), reqFirst...), reqRest...); !bytes.Equal(reqBody, want) {
		t.Errorf("plugin received %d body bytes, want %d", len(reqBody), len(want))
	}
	if maxChunk > chunk {
		t.Errorf("a request chunk had %d bytes, more than 64 KiB", maxChunk)
	}
	ctx, err := convert.PluginContextFromProto(head.GetContext())
	if err != nil || *ctx != *pluginCtx {
		t.Errorf("plugin context arrived as %+v (%v)", ctx, err)
	}
	if head.Method != "POST" || head.Url != "/plugins/x/upload?y=2" || head.ContentLength != -1 {
		t.Errorf("request head: %v", head)
	}
	found := false
	for _, h := range head.Headers {
		found = found || (h.Name == "Mattermost-User-Id" && len(h.Values) == 1 && h.Values[0] == "user42")
	}
	if !found {
		t.Errorf("Mattermost-User-Id missing from %v", head.Headers)
	}
}

// TestServeHTTPClientDisconnectCancels checks that an HTTP client going away cancels the
// plugin's handler.
func TestServeHTTPClientDisconnectCancels(t *testing.T) {
	cancelled := make(chan struct{})
	client := newStreamPlugin(t, &streamPlugin{serveHTTP: func(s grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error {
		_ = s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Head{Head: &pb.HTTPResponseHead{StatusCode: 200}}})
		_ = s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Flush{Flush: &pb.HTTPFlush{}}})
		<-s.Context().Done() // a long poll that only the client's departure ends
		close(cancelled)
		return s.Context().Err()
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client.ServeHTTP(pluginCtx, w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/poll", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, cancelled, "the plugin's stream to be cancelled")
}

// TestServeHTTPFailures checks Mattermost's answers: 404 when the plugin lacks the hook, 500
// when the call fails before a response started.
func TestServeHTTPFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error
		want int
	}{
		{"unimplemented", nil, http.StatusNotFound},
		{"raised", func(grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error {
			return status.Error(codes.Internal, "traceback")
		}, http.StatusInternalServerError},
		{"invalid status", func(s grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error {
			_ = s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Head{Head: &pb.HTTPResponseHead{StatusCode: 0}}})
			return s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_End{End: &pb.StreamEnd{}}})
		}, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := newStreamPlugin(t, &streamPlugin{serveHTTP: tc.fn})
			w := httptest.NewRecorder()
			client.ServeHTTP(pluginCtx, w, httptest.NewRequest("GET", "/x", nil))
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
		})
	}
}

// TestServeMetrics checks the second HTTP hook uses its own RPC with the same shape.
func TestServeMetrics(t *testing.T) {
	client := newStreamPlugin(t, &streamPlugin{serveMetrics: func(s grpc.BidiStreamingServer[pb.ServeMetricsRequest, pb.ServeMetricsResponse]) error {
		m, err := s.Recv()
		if err != nil || m.GetHead().GetUrl() != "/metrics" {
			return errors.New("bad head")
		}
		_ = s.Send(&pb.ServeMetricsResponse{Part: &pb.ServeMetricsResponse_Head{Head: &pb.HTTPResponseHead{StatusCode: 200,
			Headers: []*pb.HTTPHeader{{Name: "Content-Type", Values: []string{"text/plain"}}}}}})
		_ = s.Send(&pb.ServeMetricsResponse{Part: &pb.ServeMetricsResponse_Body{Body: &pb.StreamChunk{Data: []byte("up 1\n")}}})
		return s.Send(&pb.ServeMetricsResponse{Part: &pb.ServeMetricsResponse_End{End: &pb.StreamEnd{}}})
	}})
	w := httptest.NewRecorder()
	client.ServeMetrics(pluginCtx, w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 || w.Body.String() != "up 1\n" || w.Header().Get("Content-Type") != "text/plain" {
		t.Fatalf("got %d %q %v", w.Code, w.Body.String(), w.Header())
	}
}

// uploadPlugin reads the whole upload (signalling after the first chunk), then replies.
func uploadPlugin(firstSeen chan<- struct{}, got *bytes.Buffer, head **pb.FileWillBeUploadedRequestHead,
	reply func(grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error) *streamPlugin {
	return &streamPlugin{upload: func(s grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		*head = m.GetHead()
		signalled := false
		for {
			m, err := s.Recv()
			if err != nil {
				return err
			}
			if c := m.GetChunk(); c != nil {
				got.Write(c.Data)
				if !signalled && firstSeen != nil {
					close(firstSeen)
					signalled = true
				}
				continue
			}
			if m.GetEnd() != nil {
				break
			}
		}
		return reply(s)
	}}
}

func TestFileWillBeUploaded(t *testing.T) {
	info := &model.FileInfo{Id: "f1", Name: "report.pdf", Size: 5 * chunk, MimeType: "application/pdf"}
	upload := bytes.Repeat([]byte("u"), 5*chunk)
	replacement := bytes.Repeat([]byte("R"), 2*chunk+7)

	t.Run("pass-through", func(t *testing.T) {
		var got bytes.Buffer
		var head *pb.FileWillBeUploadedRequestHead
		firstSeen := make(chan struct{})
		client := newStreamPlugin(t, uploadPlugin(firstSeen, &got, &head, func(s grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error {
			return s.Send(&pb.FileWillBeUploadedResponse{Part: &pb.FileWillBeUploadedResponse_Result{Result: &pb.FileWillBeUploadedResult{}}})
		}))
		// The upload arrives through a pipe: its second half is only written once the plugin
		// has seen the first chunk, so a buffering client would hang here.
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(upload[:chunk])
			select {
			case <-firstSeen:
			case <-time.After(10 * time.Second):
				pw.CloseWithError(errors.New("the plugin never saw the first chunk"))
				return
			}
			_, _ = pw.Write(upload[chunk:])
			pw.Close()
		}()
		var out bytes.Buffer
		newInfo, reason := client.FileWillBeUploaded(pluginCtx, info, pr, &out)
		if newInfo != nil || reason != "" || out.Len() != 0 {
			t.Fatalf("got %v %q and %d replacement bytes; want the upload untouched", newInfo, reason, out.Len())
		}
		if !bytes.Equal(got.Bytes(), upload) {
			t.Errorf("the plugin received %d bytes, want %d", got.Len(), len(upload))
		}
		if fi, _ := convert.FileInfoFromProto(head.GetInfo()); fi == nil || fi.Name != "report.pdf" || fi.Size != info.Size {
			t.Errorf("file info arrived as %+v", fi)
		}
	})

	t.Run("replace", func(t *testing.T) {
		var got bytes.Buffer
		var head *pb.FileWillBeUploadedRequestHead
		client := newStreamPlugin(t, uploadPlugin(nil, &got, &head, func(s grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error {
			for i := 0; i < len(replacement); i += chunk {
				part := replacement[i:min(i+chunk, len(replacement))]
				if err := s.Send(&pb.FileWillBeUploadedResponse{Part: &pb.FileWillBeUploadedResponse_Replacement{Replacement: &pb.StreamChunk{Data: part}}}); err != nil {
					return err
				}
			}
			ni, _ := convert.FileInfoToProto(&model.FileInfo{Id: "f1", Name: "report-redacted.pdf"})
			return s.Send(&pb.FileWillBeUploadedResponse{Part: &pb.FileWillBeUploadedResponse_Result{Result: &pb.FileWillBeUploadedResult{Result_1: ni}}})
		}))
		var out bytes.Buffer
		newInfo, reason := client.FileWillBeUploaded(pluginCtx, info, bytes.NewReader(upload), &out)
		if newInfo == nil || newInfo.Name != "report-redacted.pdf" || reason != "" {
			t.Fatalf("got %+v %q", newInfo, reason)
		}
		if !bytes.Equal(out.Bytes(), replacement) {
			t.Fatalf("replacement: %d bytes, want %d", out.Len(), len(replacement))
		}
	})

	t.Run("reject", func(t *testing.T) {
		var got bytes.Buffer
		var head *pb.FileWillBeUploadedRequestHead
		client := newStreamPlugin(t, uploadPlugin(nil, &got, &head, func(s grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error {
			return s.Send(&pb.FileWillBeUploadedResponse{Part: &pb.FileWillBeUploadedResponse_Result{Result: &pb.FileWillBeUploadedResult{Result_2: "contains a virus"}}})
		}))
		var out bytes.Buffer
		newInfo, reason := client.FileWillBeUploaded(pluginCtx, info, bytes.NewReader(upload), &out)
		if newInfo != nil || reason != "contains a virus" || out.Len() != 0 {
			t.Fatalf("got %v %q %d", newInfo, reason, out.Len())
		}
	})

	t.Run("failure keeps the upload", func(t *testing.T) {
		var got bytes.Buffer
		var head *pb.FileWillBeUploadedRequestHead
		client := newStreamPlugin(t, uploadPlugin(nil, &got, &head, func(s grpc.BidiStreamingServer[pb.FileWillBeUploadedRequest, pb.FileWillBeUploadedResponse]) error {
			_ = s.Send(&pb.FileWillBeUploadedResponse{Part: &pb.FileWillBeUploadedResponse_Replacement{Replacement: &pb.StreamChunk{Data: []byte("partial")}}})
			return status.Error(codes.Internal, "the plugin crashed half-way")
		}))
		var out bytes.Buffer
		newInfo, reason := client.FileWillBeUploaded(pluginCtx, info, bytes.NewReader(upload), &out)
		if newInfo != info || reason != "" || out.Len() != 0 {
			t.Fatalf("got %v %q and %d replacement bytes; want the original info and no replacement", newInfo, reason, out.Len())
		}
	})
}
