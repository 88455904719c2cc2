package supervisor

import (
	"context"
	"crypto/subtle"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// SecretMetadataKey is the gRPC metadata entry that carries the launch secret on every call in
// both directions (mmplugin._runtime.auth uses the same name).
const SecretMetadataKey = "mmplugin-secret"

const unauthenticatedMsg = "missing or wrong mmplugin launch secret: only the plugin's own Python process may call this socket"

// secretCreds adds the secret to every call on the connection to the Python process. The
// transport is a unix socket in a 0700 directory, so the credentials do not require TLS.
type secretCreds struct{ secret string }

func (c secretCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{SecretMetadataKey: c.secret}, nil
}

func (secretCreds) RequireTransportSecurity() bool { return false }

// secretGuard checks incoming calls on the API server against the current launch's secret. A
// restart makes a new secret, so a process from an earlier launch can no longer call in.
type secretGuard struct{ current atomic.Pointer[string] }

func (g *secretGuard) set(secret string) { g.current.Store(&secret) }

func (g *secretGuard) check(ctx context.Context) error {
	want := g.current.Load()
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get(SecretMetadataKey)
	if want == nil || *want == "" || len(got) != 1 ||
		subtle.ConstantTimeCompare([]byte(got[0]), []byte(*want)) != 1 {
		return status.Error(codes.Unauthenticated, unauthenticatedMsg)
	}
	return nil
}

func (g *secretGuard) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := g.check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (g *secretGuard) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := g.check(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}
