// Package framed carries unary RPCs between mmplugin-host and the plugin process as
// length-prefixed protobuf frames on a plain unix socket: the "calls socket" (runtime.proto,
// CallHello). API and Driver calls go from the plugin process to the host; unary hook calls go
// from the host to the plugin process over one hooks connection the plugin process opens.
//
// Why not gRPC for these: a unary gRPC call or a message on a gRPC stream costs a Python process
// 300-450 µs of grpcio's own work, a blocking ping-pong on a unix socket about 45 µs, and that
// work was most of a hook's and an API call's round trip (docs/benchmarks.md). Streaming RPCs
// (ServeHTTP, uploads, PluginHTTP) and the runtime's Handshake, Shutdown and health stay on gRPC.
//
// The package needs no generated code: Server is a grpc.ServiceRegistrar, so the generated
// services register on it exactly as on a grpc.Server and are dispatched through their
// ServiceDesc's method handlers; Client has gRPC's Invoke signature, so the generated hooks client
// runs over it unchanged. Errors cross as gRPC status code and message, so both sides see the same
// errors they would over gRPC.
//
// Security is the same as on the gRPC sockets: the socket lives in the supervisor's private 0700
// directory, and the first frame of every connection must carry the current launch's secret.
package framed
