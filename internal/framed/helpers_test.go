package framed

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

const testSecret = "s3cret-of-this-launch"

// startServer serves s on a unix socket in a fresh directory and returns the socket's path.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fr") // t.TempDir paths can exceed sun_path
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "calls.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	t.Cleanup(func() {
		s.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func newTestServer(cfg Config) *Server {
	if cfg.Authorize == nil {
		cfg.Authorize = func(s string) bool { return s == testSecret }
	}
	return NewServer(cfg)
}

// peer is a Go fake of the plugin process's side of one calls-socket connection.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	buf  []byte
}

func dial(t *testing.T, path string) *peer {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &peer{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// hello dials and sends a CallHello.
func hello(t *testing.T, path, secret string, role pb.CallHello_Role) *peer {
	p := dial(t, path)
	p.send(&pb.CallHello{Secret: secret, Role: role})
	return p
}

func (p *peer) send(m proto.Message) {
	p.t.Helper()
	if err := writeFrame(p.conn, m); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// recv reads one frame into m, failing the test on any error.
func (p *peer) recv(m proto.Message) {
	p.t.Helper()
	if err := p.tryRecv(m); err != nil {
		p.t.Fatalf("read: %v", err)
	}
}

func (p *peer) tryRecv(m proto.Message) error {
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	data, err := readFrame(p.r, &p.buf)
	if err != nil {
		return err
	}
	return proto.Unmarshal(data, m)
}

// call sends one API call and returns its reply.
func (p *peer) call(id uint64, method string, req proto.Message) *pb.ReplyFrame {
	p.t.Helper()
	data, err := proto.Marshal(req)
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(&pb.CallFrame{Id: id, Method: method, Request: data})
	r := new(pb.ReplyFrame)
	p.recv(r)
	return r
}

// expectClosed asserts that the host closes the connection (EOF, with no further frame).
func (p *peer) expectClosed() {
	p.t.Helper()
	var r pb.ReplyFrame
	if err := p.tryRecv(&r); err == nil {
		p.t.Fatalf("got a frame %v, want the connection closed", &r)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		p.t.Fatal("the connection is still open after 10s, want it closed")
	}
}
