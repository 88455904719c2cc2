package supervisor

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultRestartWait bounds how long a call waits for a restarting Python process.
const DefaultRestartWait = 10 * time.Second

// changedLocked wakes every call waiting for the process to change (started, restarted, given
// up, stopped). s.mu must be held.
func (s *Supervisor) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// live returns the process a call should go to. While the process restarts, it waits for the
// new one (at most Config.RestartWait) instead of failing at once: a Go plugin's calls fail
// while it is down, but mmplugin-host outlives its Python process and restarts it in about a
// second, so a hook need not be skipped. Otherwise it returns a clear Unavailable error.
func (s *Supervisor) live(ctx context.Context) (*process, error) {
	var deadline <-chan time.Time
	for {
		p, wait, err := s.current(ctx)
		if wait == nil {
			return p, err
		}
		if deadline == nil {
			if s.cfg.RestartWait < 0 {
				return nil, err
			}
			t := time.NewTimer(s.cfg.RestartWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-wait:
		case <-deadline:
			return nil, status.Errorf(codes.Unavailable, "%s (waited %s)", status.Convert(err).Message(), s.cfg.RestartWait)
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-s.ctx.Done():
			return nil, err
		}
	}
}

// current is the live process, or the error to answer with and, when a restart may still
// bring a process, the channel that is closed when the state changes.
func (s *Supervisor) current(ctx context.Context) (*process, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		if !s.proc.hasExited() {
			return s.proc, nil, nil
		}
		// Exited, and the monitor has not noticed yet: it is about to restart it.
		return nil, s.changed, status.Errorf(codes.Unavailable,
			"the Python process of plugin %q is restarting after it exited (%s); try again shortly",
			s.cfg.PluginID, s.proc.exitDescription())
	}
	if s.replaying != nil && ctx.Value(replayKey{}) == s.replaying {
		return s.replaying, nil, nil
	}
	err := status.Error(codes.Unavailable, s.unavailableLocked())
	if s.state == StateRestarting {
		return nil, s.changed, err
	}
	return nil, nil, err
}
