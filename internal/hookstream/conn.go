// Package hookstream carries the host's unary hook calls to the plugin process over one
// long-lived gRPC stream (HookStreamService.HookCalls in runtime.proto) instead of one unary RPC
// each.
//
// Why: on the Python side a unary gRPC call costs about twice the work of a message on an open
// stream (request setup, per-call HTTP/2 stream, headers, the server's call object), and that
// work is most of a hook's round trip and what bounds hooks per second (docs/benchmarks.md).
//
// Conn is a grpc.ClientConnInterface, so the generated hooks client (internal/hooksclient) is
// unchanged: Invoke of a PluginHooksService method becomes a HookCallsRequest on the stream and
// waits for the HookCallsResponse with the same id; the reply's status code and message become
// the same gRPC status error the unary call would have returned, so the hooks client's failure
// semantics (Mattermost's defaults) stay as they are. Everything else (the streaming hooks, other
// services) passes through to the underlying connection.
//
// Failures: when the stream breaks (the process died, or is restarting), every call in flight on
// it fails at once with the stream's error, and the next call opens a new stream to whatever
// process is live then (or fails with the underlying connection's Unavailable). A plugin process
// that does not serve HookStreamService (UNIMPLEMENTED) is called with unary RPCs from then on.
package hookstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// hooksPrefix is the full-method prefix of the calls Conn carries on the stream.
var hooksPrefix = "/" + pb.PluginHooksService_ServiceDesc.ServiceName + "/"

// streamMethod is HookStreamService.HookCalls.
var streamMethod = "/" + pb.HookStreamService_ServiceDesc.ServiceName + "/" + pb.HookStreamService_ServiceDesc.Streams[0].StreamName

// closeWait bounds how long Close waits for the plugin process to answer the calls in flight.
const closeWait = time.Second

// Conn sends unary PluginHooksService calls over a HookCalls stream on base.
type Conn struct {
	base grpc.ClientConnInterface
	log  hclog.Logger

	mu          sync.Mutex
	cur         *stream // nil: open one on the next call
	unsupported bool    // the plugin process answered UNIMPLEMENTED: unary calls from now on
	closed      bool
}

var _ grpc.ClientConnInterface = (*Conn)(nil)

// New returns a Conn over base. A nil logger discards its logs.
func New(base grpc.ClientConnInterface, logger hclog.Logger) *Conn {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Conn{base: base, log: logger}
}

// Invoke implements grpc.ClientConnInterface.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	name, ok := strings.CutPrefix(method, hooksPrefix)
	if !ok {
		return c.base.Invoke(ctx, method, args, reply, opts...)
	}
	in, okIn := args.(proto.Message)
	out, okOut := reply.(proto.Message)
	if !okIn || !okOut {
		return c.base.Invoke(ctx, method, args, reply, opts...)
	}
	s, err := c.stream(ctx)
	if err != nil {
		return err
	}
	if s == nil {
		return c.base.Invoke(ctx, method, args, reply, opts...)
	}
	res, err := s.call(ctx, name, in)
	switch {
	case errors.Is(err, errFallback):
		return c.base.Invoke(ctx, method, args, reply, opts...)
	case err != nil:
		return err
	case res.GetCode() != uint32(codes.OK):
		return status.Error(codes.Code(res.GetCode()), res.GetMessage())
	}
	if err := proto.Unmarshal(res.GetResponse(), out); err != nil {
		return status.Errorf(codes.Internal, "hook %s: cannot decode the plugin's answer: %v", name, err)
	}
	return nil
}

// NewStream implements grpc.ClientConnInterface: streams go to the underlying connection.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.base.NewStream(ctx, desc, method, opts...)
}

// Close half-closes the stream and waits (up to a second) for the plugin process to answer the
// calls in flight and end it; calls after Close are unary. Call it before stopping the plugin
// process, so that its graceful stop does not wait out its grace period on an open stream.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closed = true
	s := c.cur
	c.cur = nil
	c.mu.Unlock()
	if s != nil {
		s.close(closeWait)
	}
}

// stream returns the open stream, opening one if needed; nil means "use unary calls".
func (c *Conn) stream(ctx context.Context) (*stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unsupported || c.closed {
		return nil, nil
	}
	if c.cur != nil && !c.cur.broken() {
		return c.cur, nil
	}
	sctx, cancel := context.WithCancel(context.Background())
	cs, err := c.base.NewStream(sctx, &pb.HookStreamService_ServiceDesc.Streams[0], streamMethod)
	if err != nil {
		cancel()
		if status.Code(err) == codes.Unimplemented {
			c.unsupported = true
			return nil, nil
		}
		return nil, err
	}
	s := &stream{cs: cs, cancel: cancel, pending: map[uint64]chan result{}, done: make(chan struct{})}
	c.cur = s
	go c.receive(s)
	c.log.Debug("hook stream opened")
	return s, nil
}

// receive delivers the replies of s until it ends, then fails the calls still waiting.
func (c *Conn) receive(s *stream) {
	defer close(s.done)
	for {
		res := new(pb.HookCallsResponse)
		if err := s.cs.RecvMsg(res); err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "the plugin process ended the hook stream")
			}
			if status.Code(err) == codes.Unimplemented {
				c.mu.Lock()
				c.unsupported = true
				c.mu.Unlock()
				c.log.Info("the plugin process does not serve the hook stream; using unary hook calls", "error", err.Error())
				err = errFallback
			}
			c.mu.Lock()
			if c.cur == s {
				c.cur = nil
			}
			c.mu.Unlock()
			s.fail(err)
			return
		}
		s.deliver(res)
	}
}

// errFallback tells a waiting call to repeat itself as a unary call.
var errFallback = errors.New("hookstream: the plugin process does not serve the hook stream")

type result struct {
	res *pb.HookCallsResponse
	err error
}

// stream is one HookCalls stream and the calls waiting on it.
type stream struct {
	cs     grpc.ClientStream
	cancel context.CancelFunc
	done   chan struct{} // closed when receive has returned

	sendMu sync.Mutex // grpc allows one SendMsg at a time

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan result
	err     error // set once the stream has ended
}

func (s *stream) broken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// call sends one hook call and waits for its reply, the end of the stream, or ctx.
func (s *stream) call(ctx context.Context, method string, in proto.Message) (*pb.HookCallsResponse, error) {
	data, err := proto.Marshal(in)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "hook %s: cannot encode the request: %v", method, err)
	}
	ch := make(chan result, 1)
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.nextID++
	id := s.nextID
	s.pending[id] = ch
	s.mu.Unlock()

	// A failed send means the stream has ended: receive then gets the stream's own status from
	// RecvMsg (gRPC's contract) and fails every waiting call with it, this one included.
	s.sendMu.Lock()
	_ = s.cs.SendMsg(&pb.HookCallsRequest{Id: id, Method: method, Request: data})
	s.sendMu.Unlock()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (s *stream) deliver(res *pb.HookCallsResponse) {
	s.mu.Lock()
	ch := s.pending[res.GetId()]
	delete(s.pending, res.GetId())
	s.mu.Unlock()
	if ch != nil { // nil: the caller gave up (its context ended)
		ch <- result{res: res}
	}
}

// fail ends the stream: every waiting call, and every later one, gets err.
func (s *stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	pending := s.pending
	s.pending = map[uint64]chan result{}
	s.mu.Unlock()
	for _, ch := range pending {
		ch <- result{err: err}
	}
	s.cancel()
}

// close half-closes the stream and waits up to d for the plugin process to end it.
func (s *stream) close(d time.Duration) {
	s.sendMu.Lock()
	_ = s.cs.CloseSend()
	s.sendMu.Unlock()
	select {
	case <-s.done:
	case <-time.After(d):
		s.fail(status.Error(codes.Unavailable, fmt.Sprintf("the plugin process did not end the hook stream within %s of its close", d)))
	}
	s.cancel()
}
