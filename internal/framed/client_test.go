package framed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

const messageWillBePosted = "/mmplugin.v1.PluginHooksService/MessageWillBePosted"

// hooksPair connects a fake plugin process's hooks connection and returns it with the Client
// the host's OnHooks received.
func hooksPair(t *testing.T) (*peer, *Client) {
	t.Helper()
	got := make(chan *Client, 1)
	s := newTestServer(Config{OnHooks: func(c *Client) { got <- c }})
	path := startServer(t, s)
	p := hello(t, path, testSecret, pb.CallHello_ROLE_HOOKS)
	select {
	case c := <-got:
		t.Cleanup(c.Close)
		return p, c
	case <-time.After(5 * time.Second):
		t.Fatal("OnHooks was not called for an authenticated hooks connection")
		return nil, nil
	}
}

// readCall reads one CallFrame and its MessageWillBePostedRequest.
func (p *peer) readCall() (*pb.CallFrame, *pb.MessageWillBePostedRequest) {
	p.t.Helper()
	call := new(pb.CallFrame)
	p.recv(call)
	req := new(pb.MessageWillBePostedRequest)
	if err := proto.Unmarshal(call.GetRequest(), req); err != nil {
		p.t.Fatalf("request of %s: %v", call.GetMethod(), err)
	}
	return call, req
}

// answer replies to call with a post whose message is the request's, upper-cased.
func (p *peer) answer(call *pb.CallFrame, req *pb.MessageWillBePostedRequest) {
	p.t.Helper()
	resp := &pb.MessageWillBePostedResponse{Result_1: &pb.Post{Message: strings.ToUpper(req.GetPost().GetMessage())}}
	p.send(&pb.ReplyFrame{Id: call.GetId(), Response: mustMarshal(p.t, resp)})
}

func TestHooksConcurrentCallsAnsweredOutOfOrder(t *testing.T) {
	p, c := hooksPair(t)
	hooks := pb.NewPluginHooksServiceClient(c) // the generated client over the framed Client
	const n = 200

	// The fake plugin process collects all n calls before answering any, then answers them in a
	// random order: every reply must still reach its own caller.
	go func() {
		calls := make([]*pb.CallFrame, 0, n)
		reqs := make([]*pb.MessageWillBePostedRequest, 0, n)
		for range n {
			call, req := p.readCall()
			if call.GetMethod() != messageWillBePosted {
				t.Errorf("method %q", call.GetMethod())
			}
			calls, reqs = append(calls, call), append(reqs, req)
		}
		for _, i := range rand.Perm(n) {
			p.answer(calls[i], reqs[i])
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			msg := fmt.Sprintf("post %d", i)
			resp, err := hooks.MessageWillBePosted(context.Background(), &pb.MessageWillBePostedRequest{Post: &pb.Post{Message: msg}})
			if err != nil {
				errs <- err
			} else if got := resp.GetResult_1().GetMessage(); got != strings.ToUpper(msg) {
				errs <- fmt.Errorf("call %d got the reply %q", i, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHooksErrorReplyBecomesStatus(t *testing.T) {
	p, c := hooksPair(t)
	go func() {
		call, _ := p.readCall()
		p.send(&pb.ReplyFrame{Id: call.GetId(), Code: uint32(codes.Unknown), Message: "ValueError: bad post"})
	}()
	err := c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{}, &pb.MessageWillBePostedResponse{})
	if status.Code(err) != codes.Unknown || status.Convert(err).Message() != "ValueError: bad post" {
		t.Errorf("err = %v, want Unknown %q", err, "ValueError: bad post")
	}
}

func TestHooksPeerCloseFailsPendingAndLaterCalls(t *testing.T) {
	p, c := hooksPair(t)
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{}, &pb.MessageWillBePostedResponse{})
		}()
	}
	for range n { // all n are in flight once the fake has read them
		p.readCall()
	}
	_ = p.conn.Close()
	for range n {
		select {
		case err := <-errs:
			if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "the plugin process closed its hooks connection") {
				t.Errorf("pending call: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a pending call did not fail after the plugin process closed the connection")
		}
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Fatal("Done not closed")
	}
	err := c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{}, &pb.MessageWillBePostedResponse{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "closed its hooks connection") {
		t.Errorf("call after the close: %v", err)
	}
}

func TestHooksContextEndsTheCall(t *testing.T) {
	p, c := hooksPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- c.Invoke(ctx, messageWillBePosted, &pb.MessageWillBePostedRequest{Post: &pb.Post{Message: "late"}}, &pb.MessageWillBePostedResponse{})
	}()
	call, req := p.readCall()
	cancel()
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Errorf("cancelled call: %v, want Canceled", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if err := c.Invoke(dctx, messageWillBePosted, &pb.MessageWillBePostedRequest{}, &pb.MessageWillBePostedResponse{}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("call past its deadline: %v, want DeadlineExceeded", err)
	}
	p.readCall() // the timed-out call was sent; never answered

	// The late answer to the abandoned call is dropped, and the connection keeps working.
	p.answer(call, req)
	go func() {
		call, req := p.readCall()
		p.answer(call, req)
	}()
	resp := new(pb.MessageWillBePostedResponse)
	if err := c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{Post: &pb.Post{Message: "next"}}, resp); err != nil || resp.GetResult_1().GetMessage() != "NEXT" {
		t.Errorf("call after the abandoned one: %v %v", resp, err)
	}
}

func TestHooksCloseSendLetsRepliesIn(t *testing.T) {
	p, c := hooksPair(t)
	errc := make(chan error, 1)
	resp := new(pb.MessageWillBePostedResponse)
	go func() {
		errc <- c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{Post: &pb.Post{Message: "in flight"}}, resp)
	}()
	call, req := p.readCall()
	c.CloseSend()
	// The plugin process sees EOF on its side ...
	if err := p.tryRecv(new(pb.CallFrame)); err == nil {
		t.Fatal("a frame after CloseSend")
	}
	// ... new calls are refused at once ...
	err := c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{}, &pb.MessageWillBePostedResponse{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "stopping") {
		t.Errorf("call after CloseSend: %v", err)
	}
	// ... and the call in flight still gets its answer.
	p.answer(call, req)
	if err := <-errc; err != nil || resp.GetResult_1().GetMessage() != "IN FLIGHT" {
		t.Errorf("call in flight at CloseSend: %v %v", resp, err)
	}
}

func TestHooksOversizeReplyEndsTheConnection(t *testing.T) {
	p, c := hooksPair(t)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Invoke(context.Background(), messageWillBePosted, &pb.MessageWillBePostedRequest{}, &pb.MessageWillBePostedResponse{})
	}()
	p.readCall()
	if _, err := p.conn.Write([]byte{0x7f, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("call answered by an oversize frame: %v", err)
	}
	p.expectClosed()
}

func TestServerStopClosesHooksConnections(t *testing.T) {
	got := make(chan *Client, 1)
	s := newTestServer(Config{OnHooks: func(c *Client) { got <- c }})
	path := startServer(t, s)
	hello(t, path, testSecret, pb.CallHello_ROLE_HOOKS)
	c := <-got
	s.Stop()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Stop left a hooks connection open")
	}
	if status.Code(c.Err()) != codes.Unavailable {
		t.Errorf("Err after Stop: %v", c.Err())
	}
}
