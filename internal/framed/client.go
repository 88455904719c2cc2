package framed

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// peerClosedMessage is the status message of calls that fail because the hooks connection ended
// from the plugin process's side (it exited, or is stopping).
const peerClosedMessage = "the plugin process closed its hooks connection"

// Client is the host's side of a hooks connection: it sends unary calls to the plugin process
// and matches the replies, which may come in any order, by id. Its Invoke has the signature of
// grpc.ClientConnInterface's, so a generated client can run over it.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	log  hclog.Logger

	wmu        sync.Mutex // one frame at a time on the connection
	sendClosed bool       // CloseSend was called: no new calls

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *pb.ReplyFrame
	err     error         // set once the connection has ended: every later call gets it
	done    chan struct{} // closed when err is set
}

// newClient takes over conn, whose CallHello has been read from r (which may hold more bytes),
// and starts its receive goroutine.
func newClient(conn net.Conn, r *bufio.Reader, log hclog.Logger) *Client {
	c := &Client{conn: conn, r: r, log: log, pending: map[uint64]chan *pb.ReplyFrame{}, done: make(chan struct{})}
	go c.receive()
	return c
}

// Invoke sends one call and waits for its reply. args and reply must be protobuf messages;
// CallOptions are ignored (there are no headers, trailers or per-call limits on this transport).
// A reply with a non-zero code is returned as that gRPC status; ctx ending returns the status
// of ctx's error; a connection that has ended returns codes.Unavailable.
func (c *Client) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	in, ok1 := args.(proto.Message)
	out, ok2 := reply.(proto.Message)
	if !ok1 || !ok2 {
		return status.Errorf(codes.Internal, "framed: %s: arguments %T and %T must be protobuf messages", method, args, reply)
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	req, err := proto.Marshal(in)
	if err != nil {
		return status.Errorf(codes.Internal, "%s: cannot encode the request: %v", method, err)
	}

	ch := make(chan *pb.ReplyFrame, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	if err := c.send(&pb.CallFrame{Id: id, Method: method, Request: req}); err != nil {
		c.forget(id)
		return err
	}
	select {
	case r := <-ch:
		if r == nil { // the connection ended while waiting
			return c.Err()
		}
		if r.GetCode() != uint32(codes.OK) {
			return status.Error(codes.Code(r.GetCode()), r.GetMessage())
		}
		if err := proto.Unmarshal(r.GetResponse(), out); err != nil {
			return status.Errorf(codes.Internal, "%s: cannot decode the plugin process's reply: %v", method, err)
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return status.FromContextError(ctx.Err()).Err()
	}
}

// NewStream implements grpc.ClientConnInterface for completeness: streams are not carried here.
func (c *Client) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "framed: streaming calls use gRPC, not the hooks connection")
}

var _ grpc.ClientConnInterface = (*Client)(nil)

// send writes one call frame. A write error ends the connection, failing every call waiting on
// it.
func (c *Client) send(call *pb.CallFrame) error {
	buf, err := appendFrame(nil, call)
	if err != nil {
		return status.Errorf(codes.ResourceExhausted, "%s: %v", call.GetMethod(), err)
	}
	c.wmu.Lock()
	if c.sendClosed {
		c.wmu.Unlock()
		return status.Error(codes.Unavailable, "the hooks connection is closed for new calls: the plugin process is stopping")
	}
	_, err = c.conn.Write(buf)
	c.wmu.Unlock()
	if err != nil {
		c.fail(status.Errorf(codes.Unavailable, "%s (write: %v)", peerClosedMessage, err))
		return c.Err()
	}
	return nil
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// receive delivers replies until the connection ends, then fails every waiting call.
func (c *Client) receive() {
	var buf []byte
	for {
		data, err := readFrame(c.r, &buf)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				c.fail(status.Error(codes.Unavailable, peerClosedMessage))
			default: // includes our own Close: fail keeps the first error
				c.fail(status.Errorf(codes.Unavailable, "%s (%v)", peerClosedMessage, err))
			}
			return
		}
		r := new(pb.ReplyFrame)
		if err := proto.Unmarshal(data, r); err != nil {
			c.log.Warn("hooks connection: not a ReplyFrame; closing it", "error", err.Error())
			c.fail(status.Errorf(codes.Unavailable, "the plugin process sent a malformed reply on its hooks connection: %v", err))
			return
		}
		c.mu.Lock()
		ch := c.pending[r.GetId()]
		delete(c.pending, r.GetId())
		c.mu.Unlock()
		if ch != nil { // nil: the caller gave up (its context ended)
			ch <- r
		}
	}
}

// fail ends the connection with err (the first error wins) and wakes every waiting call.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	close(c.done)
	c.mu.Unlock()
	_ = c.conn.Close()
	for _, ch := range pending {
		ch <- nil
	}
}

// Err is why the connection ended (a codes.Unavailable status), or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseSend half-closes the connection: no new calls, but the replies to calls in flight are
// still received. The host calls it before asking the plugin process to shut down; the plugin
// process answers what it has and then closes the connection.
func (c *Client) CloseSend() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sendClosed {
		return
	}
	c.sendClosed = true
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// Close ends the connection; calls in flight and later calls fail with codes.Unavailable.
func (c *Client) Close() {
	c.fail(status.Error(codes.Unavailable, "the hooks connection was closed by the host (the plugin process was replaced or is stopping)"))
}
