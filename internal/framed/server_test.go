package framed

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

const (
	kvGet    = "/mmplugin.v1.PluginAPIService/KVGet"
	kvSet    = "/mmplugin.v1.PluginAPIService/KVSet"
	kvDelete = "/mmplugin.v1.PluginAPIService/KVDelete"
)

// fakeAPI serves a few PluginAPIService methods; the rest answer Unimplemented.
type fakeAPI struct {
	pb.UnimplementedPluginAPIServiceServer
	store     map[string][]byte
	cancelled chan struct{} // KVDelete blocks until its context ends, then closes this
	release   chan struct{} // KVDeleteAll blocks until this is closed, ignoring its context
}

func (f *fakeAPI) KVDeleteAll(context.Context, *pb.KVDeleteAllRequest) (*pb.KVDeleteAllResponse, error) {
	<-f.release
	return &pb.KVDeleteAllResponse{}, nil
}

func (f *fakeAPI) KVGet(_ context.Context, req *pb.KVGetRequest) (*pb.KVGetResponse, error) {
	return &pb.KVGetResponse{Result: f.store[req.GetKey()]}, nil
}

func (f *fakeAPI) KVSet(_ context.Context, req *pb.KVSetRequest) (*pb.KVSetResponse, error) {
	if req.GetKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "the key must not be empty")
	}
	if req.GetKey() == "panic" {
		panic("boom")
	}
	f.store[req.GetKey()] = req.GetValue()
	return &pb.KVSetResponse{}, nil
}

func (f *fakeAPI) KVDelete(ctx context.Context, _ *pb.KVDeleteRequest) (*pb.KVDeleteResponse, error) {
	<-ctx.Done()
	close(f.cancelled)
	return nil, ctx.Err()
}

func apiServer(t *testing.T) (string, *fakeAPI) {
	f := &fakeAPI{store: map[string][]byte{"k": []byte("v")}, cancelled: make(chan struct{})}
	s := newTestServer(Config{UnknownMethod: func(m string) error {
		return status.Errorf(codes.Unimplemented, "mmplugin-host test does not serve %s: upgrade mmplugin-host", m)
	}})
	pb.RegisterPluginAPIServiceServer(s, f)
	return startServer(t, s), f
}

func TestAPICallsRoundTripInOrder(t *testing.T) {
	path, f := apiServer(t)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_API)

	r := p.call(7, kvGet, &pb.KVGetRequest{Key: "k"})
	got := new(pb.KVGetResponse)
	if err := decode(r, got); err != nil || r.GetId() != 7 || string(got.GetResult()) != "v" {
		t.Fatalf("KVGet: id %d, %v, %v", r.GetId(), got, err)
	}
	// Calls on one connection are answered in order, each with its own id.
	for i := uint64(1); i <= 50; i++ {
		r := p.call(100+i, kvSet, &pb.KVSetRequest{Key: "n", Value: []byte{byte(i)}})
		if r.GetId() != 100+i || r.GetCode() != 0 {
			t.Fatalf("call %d: reply %v", i, r)
		}
	}
	if v := f.store["n"]; len(v) != 1 || v[0] != 50 {
		t.Errorf("store after 50 sets: %v", v)
	}
	// A second connection works independently of the first.
	p2 := hello(t, path, testSecret, pb.CallHello_ROLE_API)
	if r := p2.call(1, kvGet, &pb.KVGetRequest{Key: "n"}); decode(r, got) != nil || got.GetResult()[0] != 50 {
		t.Errorf("second connection: %v", r)
	}
}

func TestAPIErrorsTravelAsStatus(t *testing.T) {
	path, _ := apiServer(t)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_API)
	cases := []struct {
		method string
		req    *pb.KVSetRequest
		code   codes.Code
		msg    string
	}{
		{kvSet, &pb.KVSetRequest{}, codes.InvalidArgument, "the key must not be empty"},
		{kvSet, &pb.KVSetRequest{Key: "panic"}, codes.Internal, "the host panicked: boom"},
		// Registered service, method not implemented by it: the embedded Unimplemented answer.
		{"/mmplugin.v1.PluginAPIService/KVList", nil, codes.Unimplemented, "method KVList not implemented"},
		{"/mmplugin.v1.PluginAPIService/FutureMethod", nil, codes.Unimplemented,
			"mmplugin-host test does not serve /mmplugin.v1.PluginAPIService/FutureMethod: upgrade mmplugin-host"},
		{"/mmplugin.v1.PluginAPIService/PluginHTTP", nil, codes.Unimplemented,
			"/mmplugin.v1.PluginAPIService/PluginHTTP is a streaming method: call it over gRPC on the API socket"},
	}
	for i, c := range cases {
		req := c.req
		if req == nil {
			req = &pb.KVSetRequest{}
		}
		r := p.call(uint64(i+1), c.method, req)
		if r.GetId() != uint64(i+1) || codes.Code(r.GetCode()) != c.code || !strings.Contains(r.GetMessage(), c.msg) || len(r.GetResponse()) != 0 {
			t.Errorf("%s: reply %v, want %s %q", c.method, r, c.code, c.msg)
		}
	}
	// A malformed request body is the caller's error, and the connection stays usable.
	p.send(&pb.CallFrame{Id: 99, Method: kvGet, Request: []byte{0xff, 0xff}})
	r := new(pb.ReplyFrame)
	p.recv(r)
	if codes.Code(r.GetCode()) != codes.InvalidArgument || !strings.Contains(r.GetMessage(), "cannot decode the request") {
		t.Errorf("malformed request: %v", r)
	}
	if r := p.call(100, kvGet, &pb.KVGetRequest{Key: "k"}); r.GetCode() != 0 {
		t.Errorf("call after a malformed one: %v", r)
	}
}

func TestStopEndsCallsInFlight(t *testing.T) {
	f := &fakeAPI{cancelled: make(chan struct{})}
	s := newTestServer(Config{})
	pb.RegisterPluginAPIServiceServer(s, f)
	path := startServer(t, s)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_API)
	p.send(&pb.CallFrame{Id: 1, Method: kvDelete})
	time.Sleep(50 * time.Millisecond) // let the handler start
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-f.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context did not end at Stop")
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return after the handler did")
	}
	p.expectClosed()
	// Stop is idempotent (the test cleanup calls it again).
}

func TestStopDoesNotWaitForAStuckHandler(t *testing.T) {
	f := &fakeAPI{release: make(chan struct{})}
	defer close(f.release)
	s := newTestServer(Config{})
	pb.RegisterPluginAPIServiceServer(s, f)
	path := startServer(t, s)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_API)
	p.send(&pb.CallFrame{Id: 1, Method: "/mmplugin.v1.PluginAPIService/KVDeleteAll"})
	time.Sleep(50 * time.Millisecond) // let the handler start
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		t.Fatal("Stop waited for a handler that ignores its context")
	}
	p.expectClosed()
}

func TestRefusesWithoutTheSecret(t *testing.T) {
	path, f := apiServer(t)
	for name, h := range map[string]*pb.CallHello{
		"wrong secret":      {Secret: "not-it", Role: pb.CallHello_ROLE_API},
		"no secret":         {Role: pb.CallHello_ROLE_HOOKS},
		"unspecified role":  {Secret: testSecret},
		"secret, API, typo": {Secret: testSecret + "x", Role: pb.CallHello_ROLE_API},
	} {
		t.Run(name, func(t *testing.T) {
			p := dial(t, path)
			p.send(h)
			r := new(pb.ReplyFrame)
			p.recv(r)
			if r.GetId() != 0 || codes.Code(r.GetCode()) != codes.Unauthenticated || r.GetMessage() != UnauthenticatedMessage {
				t.Errorf("reply %v, want id 0 Unauthenticated", r)
			}
			p.expectClosed()
		})
	}
	// A call sent right behind a refused hello is never run.
	p := dial(t, path)
	p.send(&pb.CallHello{Secret: "not-it", Role: pb.CallHello_ROLE_API})
	// (The write may fail: the host may have closed the connection already.)
	_ = writeFrame(p.conn, &pb.CallFrame{Id: 1, Method: kvSet, Request: mustMarshal(t, &pb.KVSetRequest{Key: "intruder"})})
	p.recv(new(pb.ReplyFrame))
	p.expectClosed()
	if _, ok := f.store["intruder"]; ok {
		t.Error("a call behind a refused hello was run")
	}
}

func TestOversizeFrameClosesTheConnection(t *testing.T) {
	path, _ := apiServer(t)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_API)
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxFrameBytes+1)
	if _, err := p.conn.Write(hdr[:]); err != nil {
		t.Fatal(err)
	}
	p.expectClosed()

	// The same as the very first frame.
	p = dial(t, path)
	binary.BigEndian.PutUint32(hdr[:], 1<<31)
	if _, err := p.conn.Write(hdr[:]); err != nil {
		t.Fatal(err)
	}
	p.expectClosed()
}

func TestNotAFrameClosesTheConnection(t *testing.T) {
	path, _ := apiServer(t)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_API)
	if _, err := p.conn.Write([]byte{0, 0, 0, 2, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	p.expectClosed()
}

func decode(r *pb.ReplyFrame, out proto.Message) error {
	if r.GetCode() != 0 {
		return status.Error(codes.Code(r.GetCode()), r.GetMessage())
	}
	return proto.Unmarshal(r.GetResponse(), out)
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
