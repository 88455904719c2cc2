package framed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// UnauthenticatedMessage is the message of the Unauthenticated reply to a wrong or missing
// secret, the same as on the gRPC sockets.
const UnauthenticatedMessage = "missing or wrong mmplugin launch secret: only the plugin's own Python process may call this socket"

// helloTimeout bounds how long a new connection may take to send its CallHello, so that a
// connection that never says who it is does not hold a goroutine for ever.
const helloTimeout = 10 * time.Second

// readBufferBytes is the read buffer of a connection: most frames (a hook, a KV call) fit in it,
// so a frame usually costs one read syscall.
const readBufferBytes = 64 << 10

// Config configures a Server.
type Config struct {
	// Authorize reports whether secret is the current launch's secret; it must compare in
	// constant time. Required: without it every connection is refused.
	Authorize func(secret string) bool
	// OnHooks receives each authenticated ROLE_HOOKS connection as a Client; the receiver owns
	// it (closes it when replaced or no longer needed). Without OnHooks such connections are
	// closed.
	OnHooks func(*Client)
	// UnknownMethod is the error for a call to a method no registered service has. Default: a
	// plain Unimplemented status naming the method.
	UnknownMethod func(method string) error
	// Logger gets connection-level diagnostics (never a secret). Default: discard.
	Logger hclog.Logger
}

// Server answers the calls of ROLE_API connections with the services registered on it and hands
// ROLE_HOOKS connections to Config.OnHooks.
type Server struct {
	cfg     Config
	methods map[string]method
	streams map[string]bool // full names of streaming methods: they must use gRPC

	ctx    context.Context // the parent of every connection's context; ends at Stop
	cancel context.CancelFunc

	stopped atomic.Bool // set first thing in Stop, so Serve knows the closed listener is no error

	mu    sync.Mutex
	lis   []net.Listener
	conns map[net.Conn]struct{}
}

// method is one registered unary method.
type method struct {
	handler grpc.MethodHandler
	impl    any
}

var _ grpc.ServiceRegistrar = (*Server)(nil)

// NewServer returns a Server; register services on it before Serve.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.UnknownMethod == nil {
		cfg.UnknownMethod = func(m string) error { return status.Errorf(codes.Unimplemented, "unknown method %s", m) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:     cfg,
		methods: map[string]method{},
		streams: map[string]bool{},
		ctx:     ctx,
		cancel:  cancel,
		conns:   map[net.Conn]struct{}{},
	}
}

// RegisterService implements grpc.ServiceRegistrar: it records the unary method handlers of desc
// by full method name ("/pkg.Service/Method"). Call it before Serve, as with grpc.Server.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	for _, m := range desc.Methods {
		name := "/" + desc.ServiceName + "/" + m.MethodName
		if _, dup := s.methods[name]; dup {
			panic(fmt.Sprintf("framed: %s registered twice", name))
		}
		s.methods[name] = method{handler: m.Handler, impl: impl}
	}
	for _, st := range desc.Streams {
		s.streams["/"+desc.ServiceName+"/"+st.StreamName] = true
	}
}

// Serve accepts connections on lis until Stop (then it returns nil) or until Accept fails.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	if s.stopped.Load() {
		s.mu.Unlock()
		_ = lis.Close()
		return nil
	}
	s.lis = append(s.lis, lis)
	s.mu.Unlock()
	for {
		conn, err := lis.Accept()
		if err != nil {
			if s.stopped.Load() {
				return nil
			}
			return fmt.Errorf("framed: accept: %w", err)
		}
		if !s.track(conn) {
			_ = conn.Close()
			return nil
		}
		go func() {
			defer s.untrack(conn)
			s.serveConn(conn)
		}()
	}
}

// Stop closes the listeners and every connection, ending the calls' contexts and the hooks
// Clients. Like grpc.Server.Stop it does not wait for handlers still running (one may be blocked
// on a server that is itself going away, and the host has a fixed time to stop); their replies
// are dropped.
func (s *Server) Stop() {
	s.stopped.Store(true)
	s.mu.Lock()
	for _, l := range s.lis {
		_ = l.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.cancel() // after closing: a handler that ends with its context has nowhere to reply
	s.mu.Unlock()
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

// serveConn authenticates a connection and runs it in its role.
func (s *Server) serveConn(conn net.Conn) {
	log := s.cfg.Logger
	r := bufio.NewReaderSize(conn, readBufferBytes)
	var buf []byte
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	data, err := readFrame(r, &buf)
	if err != nil {
		log.Debug("calls socket: no hello", "error", err.Error())
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	hello := new(pb.CallHello)
	if err := proto.Unmarshal(data, hello); err != nil ||
		hello.GetRole() == pb.CallHello_ROLE_UNSPECIFIED || s.cfg.Authorize == nil || !s.cfg.Authorize(hello.GetSecret()) {
		log.Warn("calls socket: refused a connection without the launch secret or a role", "role", hello.GetRole().String())
		_ = writeFrame(conn, &pb.ReplyFrame{Code: uint32(codes.Unauthenticated), Message: UnauthenticatedMessage})
		return
	}
	switch hello.GetRole() {
	case pb.CallHello_ROLE_API:
		s.serveAPI(conn, r, buf)
	case pb.CallHello_ROLE_HOOKS:
		if s.cfg.OnHooks == nil {
			log.Warn("calls socket: a hooks connection arrived but nothing takes hook connections")
			return
		}
		c := newClient(conn, r, log)
		s.cfg.OnHooks(c)
		select {
		case <-c.Done():
		case <-s.ctx.Done():
			c.Close()
		}
	default:
		log.Warn("calls socket: unknown role", "role", int32(hello.GetRole()))
		_ = writeFrame(conn, &pb.ReplyFrame{Code: uint32(codes.Unimplemented),
			Message: fmt.Sprintf("calls socket role %d is not known to this mmplugin-host: upgrade mmplugin-host", hello.GetRole())})
	}
}

// serveAPI answers the calls of one API connection in order, inline: the plugin process uses one
// connection per thread and waits for each reply, so a goroutine per call would only add a
// hand-off. The calls' context ends with the connection or at Stop; since nothing reads while a
// handler runs, a peer that goes away mid-call is noticed when the handler returns.
func (s *Server) serveAPI(conn net.Conn, r *bufio.Reader, buf []byte) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var out []byte
	for {
		data, err := readFrame(r, &buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.cfg.Logger.Debug("calls socket: API connection ended", "error", err.Error())
			}
			return
		}
		call := new(pb.CallFrame)
		if err := proto.Unmarshal(data, call); err != nil {
			s.cfg.Logger.Warn("calls socket: not a CallFrame; closing the connection", "error", err.Error())
			return
		}
		reply := s.dispatch(ctx, call)
		out, err = appendFrame(out[:0], reply)
		if err != nil { // the response is too large for a frame: say so instead
			out, _ = appendFrame(out[:0], &pb.ReplyFrame{Id: call.GetId(), Code: uint32(codes.ResourceExhausted),
				Message: fmt.Sprintf("the response of %s is too large: %v", call.GetMethod(), err)})
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
		if cap(out) > readBufferBytes { // do not keep a large reply's buffer for the connection's life
			out = nil
		}
	}
}

// dispatch runs one call through its registered handler.
func (s *Server) dispatch(ctx context.Context, call *pb.CallFrame) (reply *pb.ReplyFrame) {
	name := call.GetMethod()
	reply = &pb.ReplyFrame{Id: call.GetId()}
	fail := func(err error) *pb.ReplyFrame {
		// As grpc.Server does: a status error keeps its code, a context error gets its own
		// (Canceled, DeadlineExceeded), anything else is Unknown.
		st, ok := status.FromError(err)
		if !ok {
			st = status.FromContextError(err)
		}
		reply.Code, reply.Message = uint32(st.Code()), st.Message()
		return reply
	}
	// No lock: the maps are only written by RegisterService, before Serve.
	m, ok := s.methods[name]
	streaming := s.streams[name]
	switch {
	case streaming:
		return fail(status.Errorf(codes.Unimplemented, "%s is a streaming method: call it over gRPC on the API socket", name))
	case !ok:
		return fail(s.cfg.UnknownMethod(name))
	}
	// A panicking handler must not take the host down with it (grpc.Server would not recover
	// either; the generated apiserver methods recover their own).
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Logger.Error("calls socket: panic in a handler", "method", name, "panic", fmt.Sprint(p))
			reply = fail(status.Errorf(codes.Internal, "%s failed: the host panicked: %v", name, p))
		}
	}()
	dec := func(v any) error {
		msg, ok := v.(proto.Message)
		if !ok {
			return status.Errorf(codes.Internal, "%s: request type %T is not a protobuf message", name, v)
		}
		if err := proto.Unmarshal(call.GetRequest(), msg); err != nil {
			return status.Errorf(codes.InvalidArgument, "%s: cannot decode the request: %v", name, err)
		}
		return nil
	}
	resp, err := m.handler(m.impl, ctx, dec, nil)
	if err != nil {
		return fail(err)
	}
	msg, ok := resp.(proto.Message)
	if !ok {
		return fail(status.Errorf(codes.Internal, "%s: response type %T is not a protobuf message", name, resp))
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return fail(status.Errorf(codes.Internal, "%s: cannot encode the response: %v", name, err))
	}
	reply.Response = data
	return reply
}
