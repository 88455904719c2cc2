package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// ProtocolVersions are the mmplugin.v1 protocol versions this host speaks, newest last.
var ProtocolVersions = []uint32{1}

// maxSocketPath is the shortest sun_path limit among supported systems (macOS: 104 bytes).
const maxSocketPath = 103

// Config describes one plugin's Python process. PluginID, PluginDir, Python and Logger are
// required; zero durations take the defaults documented on each field.
type Config struct {
	PluginID  string
	PluginDir string // absolute path of the unpacked bundle; the process's working directory
	Python    PythonSettings
	Logger    hclog.Logger

	// RegisterAPI registers the host's services (generated API and Driver) on the API server
	// the Python process calls. It runs once, before the first process starts.
	RegisterAPI func(*grpc.Server)
	// OnRestart runs after the process has been restarted and has completed its handshake;
	// the host replays OnConfigurationChange and OnActivate in it. Calls made with ctx (or a
	// context derived from it) reach the new process; other calls keep failing with
	// Unavailable until OnRestart returns. An error counts as a failed restart.
	OnRestart func(ctx context.Context) error

	HostVersion   string // sent in Handshake
	ServerVersion string // sent in Handshake, when known
	// LogLevel is the Python root logger's level: trace, debug, info, warn or error. Default:
	// Logger's level, so Python does not format records the host would drop.
	LogLevel string

	// Environ is the server's environment (default os.Environ()); the process gets only the
	// variables childEnv lets through, plus ExtraEnv ("NAME=value").
	Environ  []string
	ExtraEnv []string
	// SocketDirParent is where the private socket directory is made (default os.TempDir()).
	SocketDirParent string

	HandshakeTimeout time.Duration // default 30s, from exec to a healthy, handshaken process
	StopGrace        time.Duration // default 1s: Shutdown's grace period, then SIGTERM
	TermGrace        time.Duration // default 500ms after SIGTERM, then SIGKILL
	Restart          RestartPolicy
}

// RestartPolicy says how a crashed Python process is restarted.
type RestartPolicy struct {
	InitialBackoff time.Duration // default 500ms; doubles after each failure
	MaxBackoff     time.Duration // default 30s
	StableAfter    time.Duration // default 1m: a process that ran this long resets the backoff
	MaxFailures    int           // default 5 failures ...
	Window         time.Duration // ... within default 10m, and the supervisor gives up
}

// Defaults for Config.
const (
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultStopGrace        = time.Second
	DefaultTermGrace        = 500 * time.Millisecond
)

func (c *Config) setDefaults() error {
	switch {
	case c.PluginID == "":
		return errors.New("supervisor: Config.PluginID is required")
	case c.PluginDir == "" || !filepath.IsAbs(c.PluginDir):
		return fmt.Errorf("supervisor: Config.PluginDir must be an absolute path, got %q", c.PluginDir)
	case c.Logger == nil:
		return errors.New("supervisor: Config.Logger is required")
	}
	if err := c.Python.Validate(); err != nil {
		return err
	}
	if c.Environ == nil {
		c.Environ = os.Environ()
	}
	if c.LogLevel == "" {
		c.LogLevel = levelName(c.Logger.GetLevel())
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setDur(&c.StopGrace, DefaultStopGrace)
	setDur(&c.TermGrace, DefaultTermGrace)
	setDur(&c.Restart.InitialBackoff, 500*time.Millisecond)
	setDur(&c.Restart.MaxBackoff, 30*time.Second)
	setDur(&c.Restart.StableAfter, time.Minute)
	setDur(&c.Restart.Window, 10*time.Minute)
	if c.Restart.MaxFailures <= 0 {
		c.Restart.MaxFailures = 5
	}
	return nil
}

// levelName is the runtime's name for an hclog level ("info" when the logger has none).
func levelName(l hclog.Level) string {
	switch l {
	case hclog.Trace:
		return "trace"
	case hclog.Debug:
		return "debug"
	case hclog.Warn:
		return "warn"
	case hclog.Error, hclog.Off:
		return "error"
	default:
		return "info"
	}
}

// State is where the supervisor is in its life.
type State int

const (
	StateNew        State = iota // Start not called yet
	StateRunning                 // a healthy process is serving
	StateRestarting              // the process died; a new one is being started
	StateFailed                  // gave up after too many failures (see Err)
	StateStopped                 // Stop was called
)

func (s State) String() string {
	return [...]string{"new", "running", "restarting", "failed", "stopped"}[s]
}

// Supervisor runs one plugin's Python process. Create it with New, then Start; it restarts the
// process on crashes until Stop, or until it gives up (Done is closed and Err says why).
type Supervisor struct {
	cfg    Config
	ctx    context.Context // ends at Stop: aborts restarts in progress
	cancel context.CancelFunc

	python       Interpreter
	socketDir    string
	pluginSocket string
	apiSocket    string
	guard        secretGuard
	api          *grpc.Server
	apiServed    chan struct{}

	mu        sync.Mutex
	state     State
	proc      *process // nil unless running (or replaying in OnRestart)
	replaying *process // the new process while OnRestart runs
	lastExit  string   // why the last process died, for callers while restarting
	finalErr  error
	restarts  int
	// firstHooks is what the first process implemented: what the host told Mattermost.
	firstHooks []string
	info       HandshakeInfo // of the current or last process

	done        chan struct{} // closed when the supervisor gave up or stopped
	monitorDone chan struct{}
	stopOnce    sync.Once
	stopErr     error
}

// New checks cfg and fills in defaults. It starts nothing.
func New(cfg Config) (*Supervisor, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{
		cfg:         cfg,
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		monitorDone: make(chan struct{}),
	}, nil
}

// Start finds the interpreter, opens the API socket and starts the Python process, returning once
// it has completed its handshake (or with an error saying what the admin or author must fix).
// A failed Start leaves nothing running; it is not retried.
func (s *Supervisor) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	if s.state != StateNew {
		s.mu.Unlock()
		return fmt.Errorf("supervisor: Start called in state %s", s.state)
	}
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.cleanup()
			s.mu.Lock()
			s.state = StateStopped
			s.mu.Unlock()
			close(s.monitorDone)
			s.closeDone()
		}
	}()

	env := childEnv(s.cfg.Environ, s.cfg.ExtraEnv)
	s.python, err = findInterpreter(ctx, s.cfg.PluginDir, s.cfg.Python, env)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", s.cfg.PluginID, err)
	}
	if err := s.openSockets(); err != nil {
		return fmt.Errorf("plugin %q: %w", s.cfg.PluginID, err)
	}
	p, err := s.launchOne(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.ctx.Err() != nil { // Stop ran meanwhile
		s.mu.Unlock()
		p.kill()
		return fmt.Errorf("plugin %q: stopped while starting", s.cfg.PluginID)
	}
	s.proc, s.state, s.firstHooks, s.info = p, StateRunning, p.info.ImplementedHooks, p.info
	s.mu.Unlock()
	s.cfg.Logger.Info("Python process started", "pid", p.pid(), "python", s.python.Path,
		"python_version", p.info.RuntimeVersion, "sdk", p.info.SDK,
		"implemented_hooks", p.info.ImplementedHooks)
	go s.monitor(p)
	return nil
}

// openSockets makes the private 0700 directory and serves the API socket in it.
func (s *Supervisor) openSockets() error {
	dir, err := os.MkdirTemp(s.cfg.SocketDirParent, "mmplugin-")
	if err != nil {
		return fmt.Errorf("cannot create the socket directory: %w", err)
	}
	s.socketDir = dir
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("cannot restrict the socket directory: %w", err)
	}
	s.pluginSocket = filepath.Join(dir, "plugin.sock")
	s.apiSocket = filepath.Join(dir, "api.sock")
	if len(s.pluginSocket) > maxSocketPath {
		return fmt.Errorf("the socket path %s is longer than %d bytes: set TMPDIR to a shorter directory", s.pluginSocket, maxSocketPath)
	}
	lis, err := net.Listen("unix", s.apiSocket)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", s.apiSocket, err)
	}
	if err := os.Chmod(s.apiSocket, 0o600); err != nil {
		_ = lis.Close()
		return fmt.Errorf("cannot restrict %s: %w", s.apiSocket, err)
	}
	s.api = grpc.NewServer(
		grpc.ChainUnaryInterceptor(s.guard.unary),
		grpc.ChainStreamInterceptor(s.guard.stream),
		grpc.UnknownServiceHandler(s.unknownMethod),
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
	)
	if s.cfg.RegisterAPI != nil {
		s.cfg.RegisterAPI(s.api)
	}
	s.apiServed = make(chan struct{})
	go func() {
		defer close(s.apiServed)
		if err := s.api.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.cfg.Logger.Error("the API socket stopped serving", "error", err)
		}
	}()
	return nil
}

// unknownMethod answers calls to services the host does not register: after the secret check,
// with a message that points at the likely cause (an SDK newer than the host).
func (s *Supervisor) unknownMethod(_ any, stream grpc.ServerStream) error {
	if err := s.guard.check(stream.Context()); err != nil {
		return err
	}
	method, _ := grpc.MethodFromServerStream(stream)
	return status.Errorf(codes.Unimplemented, "mmplugin-host %s does not serve %s: the plugin's mmplugin SDK is newer than the host; upgrade mmplugin-host", s.cfg.HostVersion, method)
}

func (s *Supervisor) launchOne(ctx context.Context) (*process, error) {
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	s.guard.set(secret)
	return launch(ctx, launchSpec{
		pluginID:         s.cfg.PluginID,
		pluginDir:        s.cfg.PluginDir,
		settings:         s.cfg.Python,
		python:           s.python,
		env:              childEnv(s.cfg.Environ, s.cfg.ExtraEnv),
		socketDir:        s.socketDir,
		pluginSocket:     s.pluginSocket,
		apiSocket:        s.apiSocket,
		logLevel:         s.cfg.LogLevel,
		hostVersion:      s.cfg.HostVersion,
		serverVersion:    s.cfg.ServerVersion,
		protocolVersions: ProtocolVersions,
		handshakeTimeout: s.cfg.HandshakeTimeout,
		logger:           s.cfg.Logger,
	}, secret)
}

// ClientConn is the connection for the generated hooks client. It stays valid across restarts:
// each call goes to the current process, and fails at once with codes.Unavailable while there
// is none.
func (s *Supervisor) ClientConn() grpc.ClientConnInterface { return clientConn{s} }

// CurrentConn is the current process's connection, or nil. It is closed when that process
// exits; prefer ClientConn.
func (s *Supervisor) CurrentConn() *grpc.ClientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	return s.proc.conn
}

// Handshake is what the current process (or, while restarting, the last one) said at handshake.
func (s *Supervisor) Handshake() HandshakeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// ImplementedHooks are the Go names of the hooks the Python plugin implements.
func (s *Supervisor) ImplementedHooks() []string {
	return slices.Clone(s.Handshake().ImplementedHooks)
}

// Interpreter is the Python chosen at Start.
func (s *Supervisor) Interpreter() Interpreter { return s.python }

// PID of the current Python process, 0 if none.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// State returns the current state and, when failed, the final error.
func (s *Supervisor) State() (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.finalErr
}

// Restarts counts successful restarts since Start.
func (s *Supervisor) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Done is closed when the supervisor has given up on the process or has been stopped.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Err is the final error after giving up (nil otherwise). The host should exit with it, so that
// Mattermost's health check marks the plugin failed.
func (s *Supervisor) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finalErr
}

// Ping checks the current process's health service. It succeeds while a restart is under way
// (the supervisor is handling it) and fails once the supervisor has given up or stopped, or when
// the running process does not answer (for example, a plugin that blocks its event loop).
func (s *Supervisor) Ping(ctx context.Context) error {
	s.mu.Lock()
	state, p, final := s.state, s.proc, s.finalErr
	s.mu.Unlock()
	switch {
	case state == StateRestarting:
		return nil
	case state == StateFailed:
		return final
	case p == nil:
		return fmt.Errorf("the Python process of plugin %q is not running (%s)", s.cfg.PluginID, state)
	}
	resp, err := healthpb.NewHealthClient(p.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: HealthService})
	if err != nil {
		return s.explain(ctx, p, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("the Python process of plugin %q reports %s", s.cfg.PluginID, resp.GetStatus())
	}
	return nil
}

// replayKey marks the context given to OnRestart: calls made with it reach the new process.
type replayKey struct{}

// live returns the process a call should go to, or a clear Unavailable error.
func (s *Supervisor) live(ctx context.Context) (*process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		if !s.proc.hasExited() {
			return s.proc, nil
		}
		// Exited, and the monitor has not noticed yet: answer as it is about to.
		return nil, status.Errorf(codes.Unavailable,
			"the Python process of plugin %q is restarting after it exited (%s); try again shortly",
			s.cfg.PluginID, s.proc.exitDescription())
	}
	if s.replaying != nil && ctx.Value(replayKey{}) == s.replaying {
		return s.replaying, nil
	}
	return nil, status.Error(codes.Unavailable, s.unavailableLocked())
}

func (s *Supervisor) unavailableLocked() string {
	id := s.cfg.PluginID
	switch s.state {
	case StateRestarting:
		return fmt.Sprintf("the Python process of plugin %q is restarting after it exited (%s); try again shortly", id, s.lastExit)
	case StateFailed:
		return fmt.Sprintf("the Python process of plugin %q is not running: %v", id, s.finalErr)
	default:
		return fmt.Sprintf("the Python process of plugin %q is not running (plugin %s)", id, s.state)
	}
}

// afterExit completes "exited during the call" messages with what happens next.
func (s *Supervisor) afterExit() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == StateStopped || s.ctx.Err() != nil:
		return "the plugin is stopping"
	case s.state == StateFailed:
		return fmt.Sprintf("it will not be restarted: %v", s.finalErr)
	default:
		return "mmplugin-host is restarting it"
	}
}

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
		s.mu.Unlock()
		p.waitStderr()
		p.release()
		if r := p.logs.fatalReason(); r != "" {
			why += ": " + r
			s.mu.Lock()
			s.lastExit = why
			s.mu.Unlock()
		}
		s.cfg.Logger.Error("the Python process exited unexpectedly", "pid", p.pid(), "exit", why,
			"ran_for", ran.Round(time.Millisecond).String(), "last_stderr", p.tail())
		if ran >= pol.StableAfter {
			backoff = pol.InitialBackoff
		}
		lastErr := fmt.Errorf("the Python process exited (%s)", why)

		for {
			now := time.Now()
			failures = append(failures, now)
			failures = slices.DeleteFunc(failures, func(t time.Time) bool { return now.Sub(t) > pol.Window })
			if len(failures) >= pol.MaxFailures {
				s.giveUp(len(failures), lastErr)
				return
			}
			s.cfg.Logger.Warn("restarting the Python process", "in", backoff.String(),
				"failures_in_window", len(failures), "max_failures", pol.MaxFailures)
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
				s.cfg.Logger.Error("restarting the Python process failed", "error", err.Error())
				lastErr = err
				continue
			}
			if err := s.replay(np); err != nil {
				np.kill()
				if s.ctx.Err() != nil {
					return
				}
				s.cfg.Logger.Error("the restarted Python process failed OnRestart", "error", err.Error())
				lastErr = err
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
	s.restarts++
	s.cfg.Logger.Info("Python process restarted", "pid", np.pid(), "restarts", s.restarts)
	return nil
}

func (s *Supervisor) giveUp(n int, last error) {
	err := fmt.Errorf("the Python process of plugin %q failed %d times within %s and will not be restarted; last failure: %w",
		s.cfg.PluginID, n, s.cfg.Restart.Window, last)
	s.mu.Lock()
	s.state, s.finalErr = StateFailed, err
	s.mu.Unlock()
	s.cfg.Logger.Error("giving up on the Python process", "error", err.Error())
	s.closeDone()
}

func (s *Supervisor) closeDone() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
}

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
	s.mu.Unlock()
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

// cleanup stops the API server and removes the socket directory.
func (s *Supervisor) cleanup() {
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
