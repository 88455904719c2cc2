package supervisor

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// monitor watches the current process and restarts it when it dies, until Stop or give-up.
func (s *Supervisor) monitor(p *process) {
	defer close(s.monitorDone)
	pol := s.cfg.Restart
	backoff := pol.InitialBackoff
	var failures []time.Time
	for {
		select {
		case <-p.exited:
		case <-s.ctx.Done():
			return // Stop owns the process now
		}
		if s.ctx.Err() != nil {
			return
		}
		ran := time.Since(p.started)
		why := p.exitDescription()
		s.mu.Lock()
		if s.proc == p {
			s.proc = nil
		}
		s.state, s.lastExit = StateRestarting, why
		s.changedLocked()
		s.mu.Unlock()
		p.waitStderr()
		p.release()
		if r := p.logs.fatalReason(); r != "" {
			why += ": " + r
			s.mu.Lock()
			s.lastExit = why
			s.mu.Unlock()
		}
		if ran >= pol.StableAfter {
			backoff = pol.InitialBackoff
		}
		lastErr := fmt.Errorf("the Python process exited (%s)", why)
		// One line per failure, saying what happens next, so a crash loop stays readable.
		failed := func(msg string, fields ...any) bool {
			now := time.Now()
			failures = append(failures, now)
			failures = slices.DeleteFunc(failures, func(t time.Time) bool { return now.Sub(t) > pol.Window })
			if len(failures) >= pol.MaxFailures {
				s.cfg.Logger.Error(msg, fields...)
				s.giveUp(len(failures), lastErr)
				return false
			}
			s.cfg.Logger.Error(msg, append(fields, "restart_in", backoff.String(),
				"failures_in_window", len(failures), "max_failures", pol.MaxFailures)...)
			return true
		}
		if !failed("the Python process exited unexpectedly", "pid", p.pid(), "exit", why,
			"ran_for", ran.Round(time.Millisecond).String(), "last_stderr", p.tail()) {
			return
		}

		for {
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			backoff = min(backoff*2, pol.MaxBackoff)

			np, err := s.launchOne(s.ctx)
			if err != nil {
				if s.ctx.Err() != nil {
					return
				}
				lastErr = err
				if !failed("restarting the Python process failed", "error", err.Error()) {
					return
				}
				continue
			}
			if err := s.replay(np); err != nil {
				np.kill()
				if s.ctx.Err() != nil {
					return
				}
				lastErr = err
				if !failed("the restarted Python process failed OnRestart", "error", err.Error()) {
					return
				}
				continue
			}
			p = np
			break
		}
	}
}

// replay makes np current after OnRestart succeeds; calls made with OnRestart's context reach
// np before that.
func (s *Supervisor) replay(np *process) error {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return s.ctx.Err()
	}
	s.replaying = np
	s.mu.Unlock()
	var err error
	if s.cfg.OnRestart != nil {
		ctx := context.WithValue(s.ctx, replayKey{}, np)
		err = s.cfg.OnRestart(ctx)
		if err != nil {
			err = fmt.Errorf("OnRestart after restarting the Python process: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaying = nil
	if err == nil && s.ctx.Err() != nil {
		err = s.ctx.Err()
	}
	if err != nil {
		return err
	}
	if prev := s.firstHooks; !slices.Equal(prev, np.info.ImplementedHooks) {
		s.cfg.Logger.Warn("the restarted Python process implements different hooks; Mattermost keeps the first list until the plugin is restarted",
			"before", prev, "now", np.info.ImplementedHooks)
	}
	s.proc, s.state, s.lastExit, s.info = np, StateRunning, "", np.info
	s.changedLocked()
	s.restarts++
	s.cfg.Logger.Info("Python process restarted", "pid", np.pid(), "restarts", s.restarts)
	go s.drainQueue()
	return nil
}

func (s *Supervisor) giveUp(n int, last error) {
	err := fmt.Errorf("the Python process of plugin %q failed %d times within %s and will not be restarted; last failure: %w",
		s.cfg.PluginID, n, s.cfg.Restart.Window, last)
	s.mu.Lock()
	s.state, s.finalErr = StateFailed, err
	s.changedLocked()
	s.mu.Unlock()
	s.cfg.Logger.Error("giving up on the Python process", "error", err.Error())
	s.queue.drop(s.cfg.Logger, "the Python process will not be restarted")
	s.closeDone()
}

func (s *Supervisor) closeDone() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}
