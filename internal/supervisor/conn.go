package supervisor

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// crashSettle is how long a failed call waits to learn whether the process died, so that the
// error can say so instead of a raw transport message.
const crashSettle = 250 * time.Millisecond

// clientConn is the stable grpc.ClientConnInterface the host builds its generated clients on. It
// sends each call to the current Python process (unary hooks over its framed hooks connection
// when it has one, everything else over gRPC); while there is none (restarting, stopped, failed)
// calls fail at once with codes.Unavailable and a message that says why.
type clientConn struct{ s *Supervisor }

var _ grpc.ClientConnInterface = clientConn{}

func (c clientConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	p, err := c.s.live(ctx)
	if err != nil {
		return err
	}
	if p.info.FramedHooks && strings.HasPrefix(method, hooksPrefix) {
		if hc := p.spec.hooks.client(); hc != nil {
			return c.s.explain(ctx, p, hc.Invoke(ctx, method, args, reply, opts...))
		}
	}
	return c.s.explain(ctx, p, p.conn.Invoke(ctx, method, args, reply, opts...))
}

func (c clientConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	p, err := c.s.live(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := p.conn.NewStream(ctx, desc, method, opts...)
	if err != nil {
		return nil, c.s.explain(ctx, p, err)
	}
	return &clientStream{ClientStream: cs, ctx: ctx, s: c.s, p: p}, nil
}

// clientStream rewrites the errors of a stream whose process died mid-stream.
type clientStream struct {
	grpc.ClientStream
	ctx context.Context // the caller's: the stream's own context ends with the stream
	s   *Supervisor
	p   *process
}

func (cs *clientStream) SendMsg(m any) error {
	return cs.s.explain(cs.ctx, cs.p, cs.ClientStream.SendMsg(m))
}

func (cs *clientStream) RecvMsg(m any) error {
	return cs.s.explain(cs.ctx, cs.p, cs.ClientStream.RecvMsg(m))
}

func (cs *clientStream) CloseSend() error {
	return cs.s.explain(cs.ctx, cs.p, cs.ClientStream.CloseSend())
}

// explain turns a transport failure caused by the process dying into a clear Unavailable error.
func (s *Supervisor) explain(ctx context.Context, p *process, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	code := status.Code(err)
	if code != codes.Unavailable && code != codes.Canceled && code != codes.Internal {
		return err
	}
	select {
	case <-p.exited:
	case <-time.After(crashSettle):
		return err
	}
	return status.Errorf(codes.Unavailable,
		"the Python process of plugin %q exited during the call (%s): %s",
		s.cfg.PluginID, p.exitDescription(), s.afterExit())
}
