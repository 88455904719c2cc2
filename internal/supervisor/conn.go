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
// when it has one, everything else over gRPC). While the process restarts, a call waits for the
// new one (live); a notification hook is queued instead, and delivered in order once the new
// process runs (Config.Queued); a hook with results whose process died during the call is sent
// once more to the new one (Config.RetryOnce). When there is no process to wait for (stopped,
// failed), calls fail at once with codes.Unavailable and a message that says why.
type clientConn struct{ s *Supervisor }

var _ grpc.ClientConnInterface = clientConn{}

func (c clientConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	s := c.s
	if s.cfg.Queued[method] {
		return s.notify(ctx, method, args, reply, opts)
	}
	p, err := s.live(ctx)
	if err != nil {
		return err
	}
	err = s.invokeOn(ctx, p, method, args, reply, opts)
	if err != nil && p.hasExited() && s.cfg.RetryOnce[method] && ctx.Err() == nil {
		// The process died during the call: the new one answers it (at least once, as a Go
		// plugin's hook that crashed half-way may also have had its effects).
		if np, lerr := s.live(ctx); lerr == nil {
			s.cfg.Logger.Warn("the Python process died during a hook call; calling the restarted process", "hook", methodHook(method))
			return s.invokeOn(ctx, np, method, args, reply, opts)
		}
	}
	return err
}

// invokeOn sends one unary call to process p.
func (s *Supervisor) invokeOn(ctx context.Context, p *process, method string, args, reply any, opts []grpc.CallOption) error {
	if p.info.FramedHooks && strings.HasPrefix(method, hooksPrefix) {
		if hc := p.spec.hooks.client(); hc != nil {
			return s.explain(ctx, p, hc.Invoke(ctx, method, args, reply, opts...))
		}
	}
	return s.explain(ctx, p, p.conn.Invoke(ctx, method, args, reply, opts...))
}

// notify delivers a notification hook, or queues it while the process restarts (or when it
// died during the call), so that the new process gets it: the server does not wait for these.
func (s *Supervisor) notify(ctx context.Context, method string, args, reply any, opts []grpc.CallOption) error {
	if s.queue.pushIfPending(method, args, s.cfg.Logger) {
		return nil // behind the calls already waiting, to keep their order
	}
	p, wait, err := s.current(ctx)
	if p == nil {
		if wait == nil {
			return err // stopped or given up: nothing will take it
		}
		s.queueForRestart(method, args)
		return nil
	}
	err = s.invokeOn(ctx, p, method, args, reply, opts)
	if err != nil && p.hasExited() && ctx.Err() == nil {
		s.queueForRestart(method, args)
		return nil
	}
	return err
}

// queueForRestart queues a notification for the restarted process. The restart drains the queue
// once the new process runs; if that happened between the caller's look and this push, drain now.
func (s *Supervisor) queueForRestart(method string, args any) {
	s.queue.push(method, args, s.cfg.Logger)
	if p, _, _ := s.current(s.ctx); p != nil {
		go s.drainQueue()
	}
}

// drainQueue gives the queued notification hooks to the current process, oldest first. It stops
// when the process dies again (the calls stay queued for the next one).
func (s *Supervisor) drainQueue() {
	if !s.queue.startDrain() {
		return
	}
	delivered := 0
	for {
		call, ok := s.queue.next() // ends the drain when the queue is empty
		if !ok {
			break
		}
		p, _, _ := s.current(s.ctx)
		if p == nil {
			s.queue.endDrain()
			return
		}
		reply := emptyReply(call.method)
		err := s.invokeOn(s.ctx, p, call.method, call.req, reply, nil)
		if err != nil && p.hasExited() {
			s.queue.endDrain()
			return
		}
		if err != nil {
			s.cfg.Logger.Warn("a queued hook call failed in the restarted process", "hook", methodHook(call.method), "error", err.Error())
		}
		s.queue.popFront()
		delivered++
	}
	if delivered > 0 {
		s.cfg.Logger.Info("delivered the hook calls queued while the Python process restarted", "calls", delivered)
	}
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
