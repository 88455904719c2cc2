package hookstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// fakePlugin serves MessageWillBePosted both as a unary RPC and, when stream is set, on the
// hook stream (answering each call in its own goroutine, so replies come back out of order).
type fakePlugin struct {
	pb.UnimplementedPluginHooksServiceServer
	pb.UnimplementedHookStreamServiceServer

	unary, streamed, streams atomic.Int64
	block                    chan struct{} // when set, streamed calls wait for it to close
}

func (f *fakePlugin) answer(req *pb.MessageWillBePostedRequest) (*pb.MessageWillBePostedResponse, error) {
	switch req.GetPost().GetMessage() {
	case "reject":
		return nil, status.Error(codes.Unknown, "hook message_will_be_posted: raised ValueError: no")
	}
	return &pb.MessageWillBePostedResponse{Result_1: &pb.Post{Message: strings.ToUpper(req.GetPost().GetMessage())}}, nil
}

func (f *fakePlugin) MessageWillBePosted(_ context.Context, req *pb.MessageWillBePostedRequest) (*pb.MessageWillBePostedResponse, error) {
	f.unary.Add(1)
	return f.answer(req)
}

func (f *fakePlugin) HookCalls(s grpc.BidiStreamingServer[pb.HookCallsRequest, pb.HookCallsResponse]) error {
	f.streams.Add(1)
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		call, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		f.streamed.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.block != nil {
				<-f.block
			}
			reply := &pb.HookCallsResponse{Id: call.GetId()}
			var req pb.MessageWillBePostedRequest
			if call.GetMethod() != "MessageWillBePosted" || proto.Unmarshal(call.GetRequest(), &req) != nil {
				reply.Code, reply.Message = uint32(codes.Unimplemented), "unknown "+call.GetMethod()
			} else if resp, err := f.answer(&req); err != nil {
				st, _ := status.FromError(err)
				reply.Code, reply.Message = uint32(st.Code()), st.Message()
			} else {
				reply.Response, _ = proto.Marshal(resp)
			}
			sendMu.Lock()
			defer sendMu.Unlock()
			_ = s.Send(reply)
		}()
	}
}

// serve starts a gRPC server for f on a unix socket; withStream registers HookStreamService.
func serve(t *testing.T, f *fakePlugin, withStream bool) (*grpc.ClientConn, *grpc.Server) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "plugin.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterPluginHooksServiceServer(srv, f)
	if withStream {
		pb.RegisterHookStreamServiceServer(srv, f)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("unix:"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, srv
}

func post(c pb.PluginHooksServiceClient, msg string) (*pb.MessageWillBePostedResponse, error) {
	return c.MessageWillBePosted(context.Background(), &pb.MessageWillBePostedRequest{Post: &pb.Post{Message: msg}})
}

func TestConcurrentHookCallsShareOneStream(t *testing.T) {
	f := &fakePlugin{}
	cc, _ := serve(t, f, true)
	conn := New(cc, nil)
	client := pb.NewPluginHooksServiceClient(conn)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("post %d", i)
			resp, err := post(client, msg)
			if err != nil || resp.GetResult_1().GetMessage() != strings.ToUpper(msg) {
				errs <- fmt.Errorf("call %d: %v, %v", i, resp, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if f.streams.Load() != 1 || f.streamed.Load() != 100 || f.unary.Load() != 0 {
		t.Fatalf("streams %d, calls on the stream %d, unary calls %d; want 1, 100, 0",
			f.streams.Load(), f.streamed.Load(), f.unary.Load())
	}
}

func TestAFailedHookIsTheUnaryCallsStatus(t *testing.T) {
	cc, _ := serve(t, &fakePlugin{}, true)
	_, err := post(pb.NewPluginHooksServiceClient(New(cc, nil)), "reject")
	if st, _ := status.FromError(err); st.Code() != codes.Unknown || st.Message() != "hook message_will_be_posted: raised ValueError: no" {
		t.Fatalf("error = %v, want the plugin's status (Unknown, its message)", err)
	}
}

func TestAPluginWithoutTheStreamIsCalledUnary(t *testing.T) {
	f := &fakePlugin{}
	cc, _ := serve(t, f, false)
	client := pb.NewPluginHooksServiceClient(New(cc, nil))
	for i := range 3 {
		resp, err := post(client, "hello")
		if err != nil || resp.GetResult_1().GetMessage() != "HELLO" {
			t.Fatalf("call %d: %v, %v", i, resp, err)
		}
	}
	if f.unary.Load() != 3 {
		t.Fatalf("unary calls = %d, want all 3 (the first one retried after UNIMPLEMENTED)", f.unary.Load())
	}
}

func TestCallsInFlightFailPromptlyWhenTheStreamBreaks(t *testing.T) {
	f := &fakePlugin{block: make(chan struct{})}
	defer close(f.block)
	cc, srv := serve(t, f, true)
	client := pb.NewPluginHooksServiceClient(New(cc, nil))
	errs := make(chan error, 5)
	for range 5 {
		go func() { _, err := post(client, "stuck"); errs <- err }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.streamed.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Stop() // the plugin process goes away with calls in flight
	for range 5 {
		select {
		case err := <-errs:
			if status.Code(err) != codes.Unavailable {
				t.Errorf("call in flight ended with %v, want Unavailable", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a call in flight did not fail within 5s of the stream breaking")
		}
	}
}

func TestANewStreamAfterTheOldOneEnded(t *testing.T) {
	f := &fakePlugin{}
	cc, _ := serve(t, f, true)
	conn := New(cc, nil)
	client := pb.NewPluginHooksServiceClient(conn)
	if _, err := post(client, "one"); err != nil {
		t.Fatal(err)
	}
	// End the stream from the plugin's side as a restart would, then call again.
	conn.mu.Lock()
	old := conn.cur
	conn.mu.Unlock()
	old.cancel()
	<-old.done
	if resp, err := post(client, "two"); err != nil || resp.GetResult_1().GetMessage() != "TWO" {
		t.Fatalf("call after the stream ended: %v, %v", resp, err)
	}
	if f.streams.Load() != 2 {
		t.Fatalf("streams opened = %d, want 2", f.streams.Load())
	}
}

func TestCloseEndsTheStreamAndLaterCallsAreUnary(t *testing.T) {
	f := &fakePlugin{}
	cc, _ := serve(t, f, true)
	conn := New(cc, nil)
	client := pb.NewPluginHooksServiceClient(conn)
	if _, err := post(client, "before"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	conn.Close()
	if d := time.Since(start); d >= closeWait {
		t.Fatalf("Close took %s: the plugin side did not see the half-close", d)
	}
	if _, err := post(client, "after"); err != nil {
		t.Fatal(err)
	}
	if f.streamed.Load() != 1 || f.unary.Load() != 1 {
		t.Fatalf("streamed %d, unary %d; want 1 and 1", f.streamed.Load(), f.unary.Load())
	}
}

func TestOtherMethodsPassThrough(t *testing.T) {
	f := &fakePlugin{}
	cc, _ := serve(t, f, true)
	_, err := pb.NewPluginHooksServiceClient(New(cc, nil)).OnActivate(context.Background(), &pb.OnActivateRequest{})
	// OnActivate goes on the stream too; the fake answers only MessageWillBePosted there.
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("OnActivate: %v, want the stream's Unimplemented reply", err)
	}
	_, err = New(cc, nil).NewStream(context.Background(), &pb.PluginHooksService_ServiceDesc.Streams[0], "/mmplugin.v1.PluginHooksService/ServeHTTP")
	if err != nil {
		t.Fatalf("a streaming hook must open on the underlying connection: %v", err)
	}
}
