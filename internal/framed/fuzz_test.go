package framed

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// FuzzConnection: whatever bytes a process sends on the calls socket, before or after a valid
// hello, the server neither crashes nor hangs: it answers frames it can read and closes the
// connection on what it cannot, and it keeps serving other connections.
func FuzzConnection(f *testing.F) {
	helloFrame, err := appendFrame(nil, &pb.CallHello{Secret: testSecret, Role: pb.CallHello_ROLE_API})
	if err != nil {
		f.Fatal(err)
	}
	call, _ := appendFrame(nil, &pb.CallFrame{Id: 1, Method: "/mmplugin.v1.PluginAPIService/KVGet", Request: []byte{0x0a, 0x01, 'k'}})
	huge := binary.BigEndian.AppendUint32(nil, MaxFrameBytes+1)
	f.Add(false, []byte{})
	f.Add(true, call)
	f.Add(true, huge)
	f.Add(false, []byte{0, 0, 0, 3, 0xff, 0xff, 0xff})
	f.Add(true, []byte{0, 0, 0, 2, 0x08})
	s := newTestServer(Config{})
	path := startServer(f, s)
	f.Fuzz(func(t *testing.T, withHello bool, data []byte) {
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if withHello {
			if _, err := conn.Write(helloFrame); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = conn.Write(data)
		if uc, ok := conn.(*net.UnixConn); ok {
			_ = uc.CloseWrite()
		}
		buf := make([]byte, 4096)
		for { // read until the server closes; a deadline error would mean it hangs
			if _, err := conn.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("the server neither answered nor closed the connection")
				}
				break
			}
		}
		// The server still serves a well-behaved connection.
		p := hello(t, path, testSecret, pb.CallHello_ROLE_API)
		r := p.call(7, "/mmplugin.v1.PluginAPIService/Nope", &pb.CallHello{})
		if r.GetId() != 7 {
			t.Fatalf("after the fuzz input: reply %v", r)
		}
		_ = proto.Size(r)
	})
}
