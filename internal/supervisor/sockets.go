package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/framed"
)

// openSockets makes the private 0700 directory and serves the API socket and the calls socket
// in it.
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
	s.callsSocket = filepath.Join(dir, "calls.sock")
	if len(s.pluginSocket) > maxSocketPath {
		return fmt.Errorf("the socket path %s is longer than %d bytes: set TMPDIR to a shorter directory", s.pluginSocket, maxSocketPath)
	}
	lis, err := listenPrivate(s.apiSocket)
	if err != nil {
		return err
	}
	callsLis, err := listenPrivate(s.callsSocket)
	if err != nil {
		_ = lis.Close()
		return err
	}
	s.api = grpc.NewServer(
		grpc.ChainUnaryInterceptor(s.guard.unary),
		grpc.ChainStreamInterceptor(s.guard.stream),
		grpc.UnknownServiceHandler(s.unknownMethod),
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
	)
	s.calls = framed.NewServer(framed.Config{
		Authorize:     s.guard.authorize,
		OnHooks:       s.onHooks,
		UnknownMethod: s.unknownMethodError,
		Logger:        s.cfg.Logger,
	})
	if s.cfg.RegisterAPI != nil {
		s.cfg.RegisterAPI(registrars{s.api, s.calls})
	}
	s.apiServed = make(chan struct{})
	go func() {
		defer close(s.apiServed)
		if err := s.api.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.cfg.Logger.Error("the API socket stopped serving", "error", err)
		}
	}()
	s.callsServed = make(chan struct{})
	go func() {
		defer close(s.callsServed)
		if err := s.calls.Serve(callsLis); err != nil {
			s.cfg.Logger.Error("the calls socket stopped serving", "error", err)
		}
	}()
	return nil
}

// listenPrivate listens on a unix socket only the server's OS user may connect to (the
// directory is 0700 already; the socket's own mode says so too).
func listenPrivate(path string) (net.Listener, error) {
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("cannot restrict %s: %w", path, err)
	}
	return lis, nil
}

// registrars registers each service on every server in it: the host's services answer on the
// gRPC API socket (streams, and SDKs that speak gRPC only) and on the calls socket alike.
type registrars []grpc.ServiceRegistrar

func (r registrars) RegisterService(desc *grpc.ServiceDesc, impl any) {
	for _, reg := range r {
		reg.RegisterService(desc, impl)
	}
}

// unknownMethod answers calls to services the host does not register: after the secret check,
// with a message that points at the likely cause (an SDK newer than the host).
func (s *Supervisor) unknownMethod(_ any, stream grpc.ServerStream) error {
	if err := s.guard.check(stream.Context()); err != nil {
		return err
	}
	method, _ := grpc.MethodFromServerStream(stream)
	return s.unknownMethodError(method)
}

// unknownMethodError is the answer to a method the host does not serve, on either socket.
func (s *Supervisor) unknownMethodError(method string) error {
	return status.Errorf(codes.Unimplemented, "mmplugin-host %s does not serve %s: the plugin's mmplugin SDK is newer than the host; upgrade mmplugin-host", s.cfg.HostVersion, method)
}
