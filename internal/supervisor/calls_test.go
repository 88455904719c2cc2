package supervisor

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// callsConn is a raw client of the calls socket, as another local process would be.
type callsConn struct {
	t    *testing.T
	conn net.Conn
}

func dialCalls(t *testing.T, path, secret string, role pb.CallHello_Role) *callsConn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &callsConn{t: t, conn: conn}
	c.write(&pb.CallHello{Secret: secret, Role: role})
	return c
}

func (c *callsConn) write(m proto.Message) {
	c.t.Helper()
	body, err := proto.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := c.conn.Write(append(frame, body...)); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one ReplyFrame; io.EOF when the host has closed the connection.
func (c *callsConn) read() (*pb.ReplyFrame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.conn, body); err != nil {
		return nil, err
	}
	r := new(pb.ReplyFrame)
	return r, proto.Unmarshal(body, r)
}

// healthCheck calls grpc.health.v1 Check over an API connection.
func (c *callsConn) healthCheck(service string) (*pb.ReplyFrame, error) {
	req, _ := proto.Marshal(&healthpb.HealthCheckRequest{Service: service})
	c.write(&pb.CallFrame{Id: 1, Method: "/grpc.health.v1.Health/Check", Request: req})
	return c.read()
}

// expectRefused asserts the id-0 Unauthenticated reply, then the connection's end.
func (c *callsConn) expectRefused() {
	c.t.Helper()
	r, err := c.read()
	if err != nil || r.GetId() != 0 || codes.Code(r.GetCode()) != codes.Unauthenticated || !strings.Contains(r.GetMessage(), "launch secret") {
		c.t.Fatalf("reply %v (%v), want id 0 Unauthenticated", r, err)
	}
	if r, err := c.read(); err != io.EOF {
		c.t.Fatalf("after the refusal: %v %v, want the connection closed", r, err)
	}
}

func TestCallsSocketServesTheAPIAndRefusesAnEarlierLaunch(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": testPlugin})
	cfg, _ := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 50 * time.Millisecond}
	health := newHealthServer()
	cfg.RegisterAPI = func(srv grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(srv, health) }
	s := startSupervisor(t, cfg)

	fi, err := os.Stat(s.callsSocket)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("calls socket %s: %v %v", s.callsSocket, fi.Mode(), err)
	}
	// The services RegisterAPI registers answer on the calls socket too.
	oldSecret := *s.guard.current.Load()
	r, err := dialCalls(t, s.callsSocket, oldSecret, pb.CallHello_ROLE_API).healthCheck(HealthService)
	resp := new(healthpb.HealthCheckResponse)
	if err != nil || r.GetCode() != 0 || proto.Unmarshal(r.GetResponse(), resp) != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health over the calls socket: %v %v", r, err)
	}
	// Unknown methods get the same answer as on the gRPC API socket.
	c := dialCalls(t, s.callsSocket, oldSecret, pb.CallHello_ROLE_API)
	c.write(&pb.CallFrame{Id: 2, Method: "/mmplugin.v1.PluginAPIService/FutureMethod"})
	if r, err := c.read(); err != nil || codes.Code(r.GetCode()) != codes.Unimplemented || !strings.Contains(r.GetMessage(), "upgrade mmplugin-host") {
		t.Errorf("unknown method: %v %v", r, err)
	}

	// Restart: the earlier launch's secret no longer opens a connection of either role.
	hooksBefore := s.hooksTarget.Load()
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for s.Restarts() < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	waitState(t, s, StateRunning)
	newSecret := *s.guard.current.Load()
	if newSecret == oldSecret || s.hooksTarget.Load() == hooksBefore {
		t.Fatal("the restart did not make a new secret and hooks slot")
	}
	hooksNow := s.hooksTarget.Load().client()
	dialCalls(t, s.callsSocket, oldSecret, pb.CallHello_ROLE_API).expectRefused()
	dialCalls(t, s.callsSocket, oldSecret, pb.CallHello_ROLE_HOOKS).expectRefused()
	if s.hooksTarget.Load().client() != hooksNow {
		t.Error("a hooks connection with the old secret replaced the current one")
	}
	dialCalls(t, s.callsSocket, "", pb.CallHello_ROLE_API).expectRefused()
	// The current launch's secret works.
	if r, err := dialCalls(t, s.callsSocket, newSecret, pb.CallHello_ROLE_API).healthCheck(HealthService); err != nil || r.GetCode() != 0 {
		t.Errorf("health with the new secret: %v %v", r, err)
	}
}

// framedPlugin answers MessageWillBePosted on the calls socket's hooks connection only (no
// gRPC hooks servicer), upper-casing the message and adding its pid, so a successful call proves
// the framed path and names the process that answered.
const framedPlugin = `
import os
import grpc
from mmplugin._runtime import Binding, register_binder
from mmplugin._runtime.calls import CallError
from mmplugin.v1 import hooks_pb2, models_pb2


class Plugin:
    pass


def call_hook(method, request):
    if method != "/mmplugin.v1.PluginHooksService/MessageWillBePosted":
        raise CallError(grpc.StatusCode.UNIMPLEMENTED, method + " is not served by this test")
    req = hooks_pb2.MessageWillBePostedRequest.FromString(request)
    if req.post.message == "reject":
        raise CallError(grpc.StatusCode.INVALID_ARGUMENT, "rejected by the test plugin")
    post = models_pb2.Post(message=req.post.message.upper())
    return hooks_pb2.MessageWillBePostedResponse(result_1=post, result_2=str(os.getpid())).SerializeToString()


def bind(plugin, ctx):
    return Binding(implemented_hooks=lambda: ["MessageWillBePosted"], call_hook=call_hook)


register_binder(bind)
`

func TestFramedHooksThroughClientConn(t *testing.T) {
	dir := writePlugin(t, map[string]string{"plug.py": framedPlugin})
	cfg, logs := testConfig(t, dir)
	cfg.Restart = RestartPolicy{InitialBackoff: 50 * time.Millisecond}
	s := startSupervisor(t, cfg)
	if !s.Handshake().FramedHooks {
		t.Fatalf("Handshake = %+v, want FramedHooks (needs the Python side of the calls socket)", s.Handshake())
	}
	if e := logs.find("Python process started"); e == nil || e["framed_hooks"] != true {
		t.Errorf("start log entry = %v", e)
	}
	hooks := pb.NewPluginHooksServiceClient(s.ClientConn())
	call := func(msg string) (*pb.MessageWillBePostedResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return hooks.MessageWillBePosted(ctx, &pb.MessageWillBePostedRequest{Post: &pb.Post{Message: msg}})
	}
	resp, err := call("hi")
	if err != nil || resp.GetResult_1().GetMessage() != "HI" || resp.GetResult_2() != itoa(s.PID()) {
		t.Fatalf("MessageWillBePosted: %v %v", resp, err)
	}
	if _, err := call("reject"); status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "rejected by the test plugin" {
		t.Errorf("error reply: %v", err)
	}

	// After a crash the restarted process's own hooks connection is used.
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for s.Restarts() < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	waitState(t, s, StateRunning)
	resp, err = call("again")
	if err != nil || resp.GetResult_1().GetMessage() != "AGAIN" || resp.GetResult_2() != itoa(s.PID()) {
		t.Fatalf("MessageWillBePosted after the restart: %v %v", resp, err)
	}

	// Stop half-closes the hooks connection first, so the process's graceful stop does not wait
	// out its grace period on it.
	start := time.Now()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > DefaultStopGrace || logs.find("the Python process did not exit after Shutdown; sending SIGTERM") != nil {
		t.Errorf("Stop took %s (grace %s); log:\n%s", took, DefaultStopGrace, logs.String())
	}
	if _, err := call("late"); status.Code(err) != codes.Unavailable {
		t.Errorf("hook after Stop: %v", err)
	}
}
