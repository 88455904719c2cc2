package host

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// supervisorConn hands the hooks client the supervisor's connection. The hooks client is built
// before the supervisor exists (the handshake comes first), so each call looks it up; the server
// only calls hooks after Implemented(), by which time start has finished.
type supervisorConn struct{ p *pythonSide }

var _ grpc.ClientConnInterface = supervisorConn{}

func (c supervisorConn) get() (grpc.ClientConnInterface, error) {
	select {
	case <-c.p.started:
	default:
		return nil, status.Error(codes.Unavailable, "the plugin's Python process is still starting")
	}
	if c.p.startErr != nil {
		return nil, status.Errorf(codes.Unavailable, "the plugin's Python process did not start: %v", c.p.startErr)
	}
	return c.p.sup.ClientConn(), nil
}

func (c supervisorConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	conn, err := c.get()
	if err != nil {
		return err
	}
	return conn.Invoke(ctx, method, args, reply, opts...)
}

func (c supervisorConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	conn, err := c.get()
	if err != nil {
		return nil, err
	}
	return conn.NewStream(ctx, desc, method, opts...)
}
