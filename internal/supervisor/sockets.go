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
)

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
