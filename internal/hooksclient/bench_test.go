package hooksclient_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mmplugin/mmplugin/internal/apiserver/gluetest"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// BenchmarkMessageWillBePosted measures one unary hook round trip over the unix socket.
func BenchmarkMessageWillBePosted(b *testing.B) {
	f, client, _ := newFakePlugin(b)
	f.respond = func(m *ir.Method, _ protoreflect.Message) (protoreflect.Message, error) {
		return gluetest.NewMessage(m.ResponseName())
	}
	post := &model.Post{Id: "p", Message: "hello", ChannelId: "c", UserId: "u"}
	ctx := &plugin.Context{RequestId: "r"}
	for b.Loop() {
		client.MessageWillBePosted(ctx, post)
	}
}

// BenchmarkServeHTTPEcho streams 8 MiB up and the same 8 MiB back through ServeHTTP.
func BenchmarkServeHTTPEcho(b *testing.B) {
	client := newStreamPlugin(b, &streamPlugin{serveHTTP: func(s grpc.BidiStreamingServer[pb.ServeHTTPRequest, pb.ServeHTTPResponse]) error {
		if _, err := s.Recv(); err != nil {
			return err
		}
		if err := s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Head{Head: &pb.HTTPResponseHead{StatusCode: 200}}}); err != nil {
			return err
		}
		for {
			m, err := s.Recv()
			if err != nil {
				return err
			}
			if c := m.GetBody(); c != nil {
				if err := s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_Body{Body: c}}); err != nil {
					return err
				}
				continue
			}
			return s.Send(&pb.ServeHTTPResponse{Part: &pb.ServeHTTPResponse_End{End: &pb.StreamEnd{}}})
		}
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client.ServeHTTP(&plugin.Context{}, w, r)
	}))
	defer srv.Close()
	body := bytes.Repeat([]byte("x"), 8<<20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		resp, err := http.Post(srv.URL, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != int64(len(body)) {
			b.Fatalf("echoed %d bytes", n)
		}
	}
}
