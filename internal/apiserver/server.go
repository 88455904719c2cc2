// Package apiserver serves Mattermost's plugin.API and plugin.Driver to the plugin process over
// gRPC (PluginAPIService, PluginDriverService). It wraps any implementation of the Go
// interfaces: in mmplugin-host that is the netrpc client of the real server, in tests a fake.
//
// Most methods are generated (api_gen.go, driver_gen.go): request → Go arguments, call, results
// → response. Errors the Go method returns travel inside the response (app_error / error
// fields); a gRPC status error always means the call itself could not be made (a malformed
// request, a value that cannot cross, a panic in the implementation, a method not supported
// yet). The hand-written special cases are in special.go (plugin configuration as JSON) and
// streams.go (PluginHTTP and the io.Reader uploads).
package apiserver

import (
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// Server holds the two gRPC services.
type Server struct {
	api    *apiService
	driver *driverService
}

// apiService implements pb.PluginAPIServiceServer. It embeds the Unsafe interface rather than
// UnimplementedPluginAPIServiceServer so that a missing method is a compile error, not a silent
// Unimplemented answer: every RPC of the pinned surface has glue or an explicit entry in
// Unsupported.
type apiService struct {
	pb.UnsafePluginAPIServiceServer
	api    plugin.API
	logger hclog.Logger
}

// driverService implements pb.PluginDriverServiceServer (see apiService for the embedding).
type driverService struct {
	pb.UnsafePluginDriverServiceServer
	driver plugin.Driver
	logger hclog.Logger
}

// New wraps api and driver. A nil logger discards the package's own diagnostics.
func New(api plugin.API, driver plugin.Driver, logger hclog.Logger) *Server {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Server{
		api:    &apiService{api: api, logger: logger},
		driver: &driverService{driver: driver, logger: logger},
	}
}

// Register registers PluginAPIService and PluginDriverService on g (a grpc.Server, the calls
// socket's framed server, or both through one registrar).
func (s *Server) Register(g grpc.ServiceRegistrar) {
	pb.RegisterPluginAPIServiceServer(g, s.api)
	pb.RegisterPluginDriverServiceServer(g, s.driver)
}

// APIService returns the PluginAPIService implementation (the parity report inspects it).
func (s *Server) APIService() pb.PluginAPIServiceServer { return s.api }

// DriverService returns the PluginDriverService implementation.
func (s *Server) DriverService() pb.PluginDriverServiceServer { return s.driver }

// Unsupported lists the RPCs that answer codes.Unimplemented ("not supported yet"), keyed by Go
// method name, with the reason; every generated method checks it first. The parity report
// counts them as missing. Empty: every plugin.API and plugin.Driver method is served.
var Unsupported = map[string]string{}

// catch, deferred by every generated method, turns a panic in the wrapped implementation into
// an Internal status for this call, so one bad call cannot take the host (and with it the
// plugin) down. recover must be called by the deferred function itself, hence one per type.
func (s *apiService) catch(method string, err *error) {
	if r := recover(); r != nil {
		*err = panicked(s.logger, method, r)
	}
}

func (s *driverService) catch(method string, err *error) {
	if r := recover(); r != nil {
		*err = panicked(s.logger, method, r)
	}
}

// panicked logs the stack to the host's log (not to the plugin) and returns the call's status.
func panicked(logger hclog.Logger, method string, r any) error {
	logger.Error("plugin API call panicked in the host", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "%s panicked in mmplugin-host: %v (the host log has the stack)", method, r)
}

// requestErr reports a request field that cannot be converted to its Go type.
func requestErr(method, field string, err error) error {
	return status.Errorf(codes.InvalidArgument, "%s: request field %s: %v", method, field, err)
}

// resultErr reports a result the protocol cannot carry (gob could not send it either).
func resultErr(method, field string, err error) error {
	return status.Errorf(codes.Internal, "%s: result %s cannot be sent to the plugin: %v", method, field, err)
}

// notSupported is the error of an RPC listed in Unsupported.
func notSupported(method string) error {
	return status.Error(codes.Unimplemented, fmt.Sprintf("%s is not supported yet by mmplugin-host: %s", method, Unsupported[method]))
}
