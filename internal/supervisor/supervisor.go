package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/framed"
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

	// RegisterAPI registers the host's services (generated API and Driver) on the servers the
	// Python process calls: the gRPC API socket and the calls socket (unary calls as frames),
	// through one registrar. It runs once, before the first process starts.
	RegisterAPI func(grpc.ServiceRegistrar)
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
	// RestartWait bounds how long a call waits for a restarting process (default
	// DefaultRestartWait; negative: fail at once).
	RestartWait time.Duration
	// Queued are the full gRPC method names of the notification hooks (no results) that are
	// queued while the process restarts, or when it dies during the call, and delivered in
	// order to the new process; QueueLimits bounds the queue.
	Queued      map[string]bool
	QueueLimits QueueLimits
	// RetryOnce are the full gRPC method names of the hooks sent once more to the restarted
	// process when the process died during the call (hooks with results; not the lifecycle
	// hooks, which OnRestart replays).
	RetryOnce map[string]bool
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
	if c.RestartWait == 0 {
		c.RestartWait = DefaultRestartWait
	}
	c.QueueLimits.setDefaults()
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
	callsSocket  string
	guard        secretGuard
	api          *grpc.Server
	apiServed    chan struct{}
	calls        *framed.Server
	callsServed  chan struct{}
	// hooksTarget receives the framed hooks connections of the current launch (onHooks).
	hooksTarget atomic.Pointer[hooksSlot]

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
	// changed is closed (and replaced) whenever proc or state changes (changedLocked).
	changed chan struct{}
	queue   *hookQueue

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
		changed:     make(chan struct{}),
		queue:       newHookQueue(cfg.QueueLimits),
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
			s.changedLocked()
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
	s.changedLocked()
	s.mu.Unlock()
	s.cfg.Logger.Info("Python process started", "pid", p.pid(), "python", s.python.Path,
		"python_version", p.info.RuntimeVersion, "sdk", p.info.SDK,
		"implemented_hooks", p.info.ImplementedHooks, "framed_hooks", p.info.FramedHooks)
	go s.monitor(p)
	return nil
}

func (s *Supervisor) launchOne(ctx context.Context) (*process, error) {
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	// The slot first: a hooks connection carrying the new secret must find it.
	hooks := newHooksSlot()
	s.hooksTarget.Store(hooks)
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
		callsSocket:      s.callsSocket,
		hooks:            hooks,
		logLevel:         s.cfg.LogLevel,
		hostVersion:      s.cfg.HostVersion,
		serverVersion:    s.cfg.ServerVersion,
		protocolVersions: ProtocolVersions,
		handshakeTimeout: s.cfg.HandshakeTimeout,
		logger:           s.cfg.Logger,
	}, secret)
}

// ClientConn is the connection for the generated hooks client. It stays valid across restarts:
// each call goes to the current process; while the process restarts a call waits for the new
// one (RestartWait), a notification is queued (Queued), and with no process to come (stopped,
// failed) a call fails at once with codes.Unavailable.
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
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(p.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: HealthService})
	if err != nil {
		if p.hasExited() {
			return s.explain(ctx, p, err)
		}
		return fmt.Errorf("the Python process of plugin %q did not answer its health check (%s): is plugin code blocking the event loop?",
			s.cfg.PluginID, status.Convert(err).Message())
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("the Python process of plugin %q reports %s", s.cfg.PluginID, resp.GetStatus())
	}
	return nil
}

// pingTimeout bounds Ping when the caller's context has a later deadline or none: a process that
// cannot answer a health check in this time is not healthy.
const pingTimeout = 5 * time.Second

// replayKey marks the context given to OnRestart: calls made with it reach the new process.
type replayKey struct{}

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
