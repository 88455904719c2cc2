package supervisor

import (
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"
)

// QueueLimits bounds the notification hooks held while the Python process restarts.
type QueueLimits struct {
	MaxCalls int // default 10,000
	MaxBytes int // default 64 MiB (the encoded requests)
}

func (l *QueueLimits) setDefaults() {
	if l.MaxCalls <= 0 {
		l.MaxCalls = 10_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
}

// dropLogEvery limits the "dropped" log lines of a full queue to one per interval.
const dropLogEvery = time.Minute

type queuedCall struct {
	method string
	req    proto.Message
	size   int
}

// hookQueue holds notification hooks (MessageHasBeenPosted, OnPluginClusterEvent, …) that
// arrive while the Python process restarts, or that were in flight when it died, and gives
// them to the new process in the order they were queued. A call stays at the front until it
// was delivered, so calls arriving meanwhile queue behind it instead of overtaking it.
type hookQueue struct {
	limits QueueLimits

	mu       sync.Mutex
	calls    []queuedCall
	bytes    int
	draining bool
	dropped  int // not yet reported
	reported time.Time
}

func newHookQueue(l QueueLimits) *hookQueue {
	l.setDefaults()
	return &hookQueue{limits: l}
}

// push queues a call; a full queue drops it, with at most one log line per dropLogEvery.
func (q *hookQueue) push(method string, req any, log hclog.Logger) {
	q.pushIf(false, method, req, log)
}

// pushIfPending queues the call only when others are already queued (so it keeps its place
// behind them) and reports whether it did. The check and the append are one step, so a drain
// that is just taking the last call cannot leave this one behind.
func (q *hookQueue) pushIfPending(method string, req any, log hclog.Logger) bool {
	return q.pushIf(true, method, req, log)
}

func (q *hookQueue) pushIf(onlyIfPending bool, method string, req any, log hclog.Logger) bool {
	m, ok := req.(proto.Message)
	if !ok {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if onlyIfPending && len(q.calls) == 0 {
		return false
	}
	c := queuedCall{method: method, req: proto.Clone(m), size: proto.Size(m)}
	if len(q.calls)+1 > q.limits.MaxCalls || q.bytes+c.size > q.limits.MaxBytes {
		q.dropped++
		if time.Since(q.reported) >= dropLogEvery {
			log.Error("the queue of hook calls waiting for the Python process is full; dropping calls",
				"dropped", q.dropped, "hook", methodHook(method), "max_calls", q.limits.MaxCalls, "max_bytes", q.limits.MaxBytes)
			q.dropped, q.reported = 0, time.Now()
		}
		return true
	}
	q.calls = append(q.calls, c)
	q.bytes += c.size
	return true
}

// next is the oldest queued call. When there is none it ends the drain in the same step, so a
// call queued right after is found by the next drain, never stranded.
func (q *hookQueue) next() (queuedCall, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.calls) == 0 {
		q.draining = false
		return queuedCall{}, false
	}
	return q.calls[0], true
}

// popFront removes the oldest call once it was delivered.
func (q *hookQueue) popFront() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.calls) > 0 {
		q.bytes -= q.calls[0].size
		q.calls[0] = queuedCall{}
		q.calls = q.calls[1:]
	}
}

// startDrain reports whether the caller should drain (nobody else is).
func (q *hookQueue) startDrain() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.draining {
		return false
	}
	q.draining = true
	return true
}

// endDrain ends a drain that stops with calls left (the process died again).
func (q *hookQueue) endDrain() {
	q.mu.Lock()
	q.draining = false
	q.mu.Unlock()
}

// len is the number of queued calls.
func (q *hookQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.calls)
}

// drop discards the queue when no process will come to take it, saying how many calls were lost.
func (q *hookQueue) drop(log hclog.Logger, why string) {
	q.mu.Lock()
	n := len(q.calls)
	q.calls, q.bytes = nil, 0
	q.mu.Unlock()
	if n > 0 {
		log.Warn("dropping queued hook calls", "calls", n, "reason", why)
	}
}

// methodHook is the hook name of a full gRPC method name.
func methodHook(method string) string {
	for i := len(method) - 1; i >= 0; i-- {
		if method[i] == '/' {
			return method[i+1:]
		}
	}
	return method
}

// emptyReply is a new response message of a full gRPC method name, for calls the queue makes
// on its own (nobody waits for their reply).
func emptyReply(method string) any {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if md, ok := d.(protoreflect.MethodDescriptor); err == nil && ok {
		if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName()); err == nil {
			return mt.New().Interface()
		}
	}
	return &emptypb.Empty{}
}
