package supervisor

import (
	"context"
	"os"
	"syscall"
	"time"

	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// Stop stops the process in order: RuntimeService.Shutdown with StopGrace, wait for it to exit,
// SIGTERM, then SIGKILL after TermGrace (at once if ctx ends first), then closes the API socket
// and removes the socket directory. The host forwards OnDeactivate itself before calling Stop.
// Stop is idempotent and safe in any state.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Supervisor) stop(ctx context.Context) error {
	s.mu.Lock()
	started := s.state != StateNew
	s.cancel()
	p := s.proc
	s.proc = nil
	s.state = StateStopped
	s.changedLocked()
	s.mu.Unlock()
	s.queue.drop(s.cfg.Logger, "the plugin is stopping")
	if !started {
		s.closeDone()
		return nil
	}
	if p != nil {
		s.stopProcess(ctx, p)
	}
	// The monitor ends promptly once s.ctx is cancelled, unless OnRestart ignores its context.
	select {
	case <-s.monitorDone:
	case <-ctx.Done():
		s.cfg.Logger.Warn("Stop did not wait for a restart in progress", "error", ctx.Err().Error())
	}
	s.cleanup()
	s.closeDone()
	return nil
}

// stopProcess escalates from a polite request to SIGKILL.
func (s *Supervisor) stopProcess(ctx context.Context, p *process) {
	log := s.cfg.Logger
	defer p.release()
	if p.hasExited() {
		return
	}
	// No new hook calls from here; the process answers those in flight and sees EOF rather than
	// waiting out its grace period on an open hooks connection.
	p.spec.hooks.closeSend()
	grace := s.cfg.StopGrace
	rctx, cancel := context.WithTimeout(ctx, grace)
	_, err := mmpluginv1.NewRuntimeServiceClient(p.conn).Shutdown(rctx,
		&mmpluginv1.ShutdownRequest{GracePeriodMs: uint32(grace / time.Millisecond)})
	cancel()
	if err != nil {
		log.Debug("RuntimeService.Shutdown failed", "error", status.Convert(err).Message())
	}
	// The process waits up to grace for calls in flight, then exits; allow for its exit itself.
	if waitExit(ctx, p, grace+grace/2) {
		log.Debug("Python process stopped", "pid", p.pid(), "exit", p.exitDescription())
		return
	}
	if ctx.Err() == nil {
		log.Warn("the Python process did not exit after Shutdown; sending SIGTERM", "pid", p.pid(), "grace", grace.String())
		p.signal(syscall.SIGTERM)
		if waitExit(ctx, p, s.cfg.TermGrace) {
			return
		}
	}
	log.Warn("the Python process did not exit; sending SIGKILL", "pid", p.pid())
	p.signal(os.Kill)
	<-p.exited
}

// waitExit waits up to d (or until ctx ends) for p to exit and reports whether it did.
func waitExit(ctx context.Context, p *process, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return p.hasExited()
}

// cleanup stops the API server and the calls socket and removes the socket directory.
func (s *Supervisor) cleanup() {
	if s.calls != nil {
		s.calls.Stop()
		<-s.callsServed
	}
	if s.api != nil {
		stopped := make(chan struct{})
		go func() { s.api.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(time.Second):
			s.api.Stop()
		}
		<-s.apiServed
	}
	if s.socketDir != "" {
		if err := os.RemoveAll(s.socketDir); err != nil {
			s.cfg.Logger.Warn("cannot remove the socket directory", "dir", s.socketDir, "error", err.Error())
		}
	}
}
