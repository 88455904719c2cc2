package supervisor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mmplugin/mmplugin/internal/framed"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// hooksPrefix is the full-method prefix of the unary hook calls that go over the framed hooks
// connection when the process has one.
var hooksPrefix = "/" + pb.PluginHooksService_ServiceDesc.ServiceName + "/"

// hooksSlot holds the framed hooks connection of one launch. The Python process opens it on the
// calls socket before it answers Handshake; the calls socket's accept goroutine hands it over
// (onHooks) to whichever launch's secret it carried, which is the current launch's.
type hooksSlot struct {
	mu     sync.Mutex
	cur    *framed.Client
	closed bool          // the process is gone: later connections are closed at once
	ready  chan struct{} // closed at the first connection
}

func newHooksSlot() *hooksSlot { return &hooksSlot{ready: make(chan struct{})} }

// set makes c the launch's hooks connection; a newer one replaces (closes) the older.
func (h *hooksSlot) set(c *framed.Client) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.Close()
		return
	}
	old := h.cur
	h.cur = c
	if old == nil {
		close(h.ready)
	}
	h.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// client is the current hooks connection, or nil before the first. After close it is the last
// one (closed), so calls fail with its Unavailable error rather than silently changing path.
func (h *hooksSlot) client() *framed.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// wait waits up to d for the first connection. The process sends its hello before it answers
// Handshake, but the calls socket's accept goroutine may not have handed it over yet.
func (h *hooksSlot) wait(ctx context.Context, d time.Duration, socket string) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("it said its hooks connection was open (framed_hooks) but none arrived on %s within %s", socket, d)
	}
}

// closeSend half-closes the hooks connection before the process is asked to shut down: no new
// hook calls, the answers to those in flight still arrive, and the process sees EOF.
func (h *hooksSlot) closeSend() {
	if c := h.client(); c != nil {
		c.CloseSend()
	}
}

// close ends the hooks connection once the process is gone; later ones are refused.
func (h *hooksSlot) close() {
	h.mu.Lock()
	h.closed = true
	c := h.cur
	h.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// onHooks is the calls socket's OnHooks: an authenticated hooks connection belongs to the launch
// whose secret is current.
func (s *Supervisor) onHooks(c *framed.Client) {
	slot := s.hooksTarget.Load()
	if slot == nil {
		c.Close()
		return
	}
	slot.set(c)
	s.cfg.Logger.Debug("the Python process opened its hooks connection")
}
