package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// HealthService is the grpc.health.v1 service name the Python process reports SERVING, as
// go-plugin plugins do.
const HealthService = "plugin"

// maxMessageBytes bounds one gRPC message each way on both sockets.
const maxMessageBytes = 64 << 20

// rpcSetupTimeout bounds the health check and Handshake calls during start.
const rpcSetupTimeout = 10 * time.Second

// HandshakeInfo is what the Python process said in RuntimeService.Handshake.
type HandshakeInfo struct {
	ProtocolVersion  uint32
	SDK              string   // e.g. "mmplugin-python 0.1.0"
	RuntimeVersion   string   // e.g. "CPython 3.11.7"
	ImplementedHooks []string // Go hook names
	// FramedHooks: the unary hook calls go over the process's hooks connection on the calls
	// socket, not as gRPC calls.
	FramedHooks bool
}

// launchSpec is everything needed to start one Python process.
type launchSpec struct {
	pluginID         string
	pluginDir        string
	settings         PythonSettings
	python           Interpreter
	env              []string
	socketDir        string
	pluginSocket     string
	apiSocket        string
	callsSocket      string
	hooks            *hooksSlot // receives this launch's framed hooks connection
	logLevel         string
	hostVersion      string
	serverVersion    string
	protocolVersions []uint32
	handshakeTimeout time.Duration
	logger           hclog.Logger
}

// process is one running Python process and the connection to it.
type process struct {
	spec    launchSpec
	cmd     *exec.Cmd
	logs    *logForwarder
	bootW   *os.File // write end of the fd-3 pipe; closing it tells Python the host is gone
	conn    *grpc.ClientConn
	info    HandshakeInfo
	started time.Time

	exited     chan struct{} // closed when the process has been reaped (ProcessState is set)
	stderrDone chan struct{} // closed when stderr reached EOF
	closeOnce  sync.Once
}

// launch starts the process, waits for its handshake line, dials it, checks health and runs
// RuntimeService.Handshake. On any failure the process is killed and the error says why in
// terms the admin can act on.
func launch(ctx context.Context, spec launchSpec, secret string) (*process, error) {
	if err := os.Remove(spec.pluginSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot remove the old socket %s: %w", spec.pluginSocket, err)
	}
	boot, err := json.Marshal(bootstrap{
		Format:           bootstrapFormat,
		PluginID:         spec.pluginID,
		PluginDir:        spec.pluginDir,
		EntryPoint:       spec.settings.EntryPoint,
		SysPath:          spec.settings.sysPath(spec.pluginDir),
		SocketDir:        spec.socketDir,
		PluginSocket:     spec.pluginSocket,
		APISocket:        spec.apiSocket,
		CallsSocket:      spec.callsSocket,
		Secret:           secret,
		ProtocolVersions: spec.protocolVersions,
		LogLevel:         spec.logLevel,
	})
	if err != nil {
		return nil, err
	}

	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	bootR, bootW, err := pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, err
	}

	p := &process{
		spec:       spec,
		logs:       newLogForwarder(spec.logger, secret),
		bootW:      bootW,
		exited:     make(chan struct{}),
		stderrDone: make(chan struct{}),
	}
	p.cmd = &exec.Cmd{
		Path:        spec.python.Path,
		Args:        []string{spec.python.Path, "-I", "-m", "mmplugin._runtime"},
		Dir:         spec.pluginDir,
		Env:         spec.env,
		Stdout:      outW,
		Stderr:      errW,
		ExtraFiles:  []*os.File{bootR}, // fd 3 in the child
		SysProcAttr: sysProcAttr(),
	}

	// Start and reap on one locked OS thread: Linux delivers the parent-death signal when the
	// thread that forked the child exits, so that thread must live as long as the child.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			close(p.exited)
			return
		}
		started <- nil
		_ = p.cmd.Wait() // the exit status is read from ProcessState
		close(p.exited)
	}()
	if err := <-started; err != nil {
		closeAll()
		return nil, fmt.Errorf("cannot start %s: %w", spec.python.Path, err)
	}
	p.started = time.Now()
	// The child has its copies; ours must go so that EOF reaches us when it exits.
	_ = bootR.Close()
	_ = outW.Close()
	_ = errW.Close()

	hs := make(chan string, 1)
	var hsOnce sync.Once
	go func() {
		defer close(p.stderrDone)
		p.logs.forwardStderr(errR)
		_ = errR.Close()
	}()
	go func() {
		seen := false
		p.logs.forwardStdout(outR, func(line string) bool {
			if seen {
				return false
			}
			addr, err := parseHandshake(line)
			if err != nil {
				return false
			}
			seen = true
			hsOnce.Do(func() { hs <- addr })
			return true
		})
		_ = outR.Close()
	}()

	if _, err := bootW.Write(append(boot, '\n')); err != nil {
		p.kill()
		return nil, p.startupError(fmt.Errorf("cannot send the bootstrap: %w", err))
	}

	timer := time.NewTimer(spec.handshakeTimeout)
	defer timer.Stop()
	var addr string
	select {
	case addr = <-hs:
	case <-p.exited:
		p.release()
		return nil, p.startupError(nil)
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("the Python process of plugin %q did not complete its handshake within %s; last stderr lines: %s",
			spec.pluginID, spec.handshakeTimeout, p.tail())
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("starting the Python process of plugin %q: %w", spec.pluginID, ctx.Err())
	}
	if addr != spec.pluginSocket {
		p.kill()
		return nil, fmt.Errorf("the Python process of plugin %q announced socket %q instead of %q", spec.pluginID, addr, spec.pluginSocket)
	}
	if err := p.connect(ctx, secret); err != nil {
		p.kill()
		return nil, p.startupError(err)
	}
	if p.info.FramedHooks {
		if err := spec.hooks.wait(ctx, rpcSetupTimeout, spec.callsSocket); err != nil {
			p.kill()
			return nil, p.startupError(err)
		}
	}
	return p, nil
}

// connect dials the process, checks its health service and runs the Handshake call.
func (p *process) connect(ctx context.Context, secret string) error {
	conn, err := grpc.NewClient("unix://"+p.spec.pluginSocket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(secretCreds{secret}),
		grpc.WithNoProxy(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)),
	)
	if err != nil {
		return fmt.Errorf("cannot dial %s: %w", p.spec.pluginSocket, err)
	}
	p.conn = conn

	hctx, cancel := context.WithTimeout(ctx, rpcSetupTimeout)
	defer cancel()
	health, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{Service: HealthService}, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("health check failed: %s", status.Convert(err).Message())
	}
	if health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health service %q reports %s, not SERVING", HealthService, health.GetStatus())
	}

	resp, err := mmpluginv1.NewRuntimeServiceClient(conn).Handshake(hctx, &mmpluginv1.HandshakeRequest{
		ProtocolVersions: p.spec.protocolVersions,
		HostVersion:      p.spec.hostVersion,
		PluginId:         p.spec.pluginID,
		ServerVersion:    p.spec.serverVersion,
	})
	if err != nil {
		return fmt.Errorf("RuntimeService.Handshake failed: %s", status.Convert(err).Message())
	}
	ok := false
	for _, v := range p.spec.protocolVersions {
		ok = ok || v == resp.GetProtocolVersion()
	}
	if !ok {
		return fmt.Errorf("the plugin process chose protocol version %d, which the host did not offer (%v): install matching versions of mmplugin-host and mmplugin",
			resp.GetProtocolVersion(), p.spec.protocolVersions)
	}
	p.info = HandshakeInfo{
		ProtocolVersion:  resp.GetProtocolVersion(),
		SDK:              resp.GetSdk(),
		RuntimeVersion:   resp.GetRuntimeVersion(),
		ImplementedHooks: append([]string(nil), resp.GetImplementedHooks()...),
		FramedHooks:      resp.GetFramedHooks(),
	}
	return nil
}

// startupError explains why start-up failed: the process's fatal record if it wrote one
// (e.g. "entry point 'x:Y' failed to import: ..."), else the exit status and last stderr lines.
func (p *process) startupError(cause error) error {
	exited := false
	select {
	case <-p.exited:
		exited = true
	case <-time.After(2 * time.Second):
		// still running (cause != nil): the caller kills it
	}
	if exited {
		p.waitStderr()
	}
	id := p.spec.pluginID
	if reason := p.logs.fatalReason(); reason != "" {
		return fmt.Errorf("the Python process of plugin %q could not start (%s): %s", id, p.exitDescription(), reason)
	}
	if cause != nil {
		return fmt.Errorf("the Python process of plugin %q did not start: %w; last stderr lines: %s", id, cause, p.tail())
	}
	return fmt.Errorf("the Python process of plugin %q exited during start-up (%s); last stderr lines: %s", id, p.exitDescription(), p.tail())
}

// waitStderr waits briefly for the stderr reader to drain (a grandchild may hold it open).
func (p *process) waitStderr() {
	select {
	case <-p.stderrDone:
	case <-time.After(2 * time.Second):
	}
}

func (p *process) tail() string {
	lines := p.logs.lastLines(8)
	if len(lines) == 0 {
		return "(none)"
	}
	return strings.Join(lines, " | ")
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// exitDescription is e.g. "exit code 3" or "killed by signal killed"; valid after exited.
func (p *process) exitDescription() string {
	if !p.hasExited() {
		return "still running"
	}
	st := p.cmd.ProcessState
	if st == nil {
		return "not started"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit code %d", st.ExitCode())
}

func (p *process) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *process) signal(sig os.Signal) {
	if !p.hasExited() && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// kill sends SIGKILL, waits until the process is reaped and releases its resources.
func (p *process) kill() {
	p.signal(os.Kill)
	<-p.exited
	p.release()
}

// release closes the connections and the bootstrap pipe once the process is gone.
func (p *process) release() {
	p.closeOnce.Do(func() {
		p.spec.hooks.close()
		if p.conn != nil {
			_ = p.conn.Close()
		}
		_ = p.bootW.Close()
	})
}
