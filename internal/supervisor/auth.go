package supervisor

import (
	"context"
	"crypto/subtle"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/framed"
)

// SecretMetadataKey is the gRPC metadata entry that carries the launch secret on every call in
// both directions (mmplugin._runtime.auth uses the same name).
const SecretMetadataKey = "mmplugin-secret"

// unauthenticatedMsg is the same on every socket.
const unauthenticatedMsg = framed.UnauthenticatedMessage

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
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get(SecretMetadataKey)
	if len(got) != 1 || !g.authorize(got[0]) {
		return status.Error(codes.Unauthenticated, unauthenticatedMsg)
	}
	return nil
}

// authorize reports, in constant time, whether secret is the current launch's. The calls
// socket's hello is checked with it too.
func (g *secretGuard) authorize(secret string) bool {
	want := g.current.Load()
	return want != nil && *want != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(*want)) == 1
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
