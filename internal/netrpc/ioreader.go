package netrpc

import (
	"bufio"
	"encoding/binary"
	"io"
)

// Mattermost's remote io.Reader protocol (server/public/plugin/io_rpc.go), used for request
// bodies, uploads and plugin bundles. It runs on one MuxBroker stream: the reading side writes
// a signed varint "send me up to n bytes", the serving side copies up to n bytes from its
// reader onto the stream, and closes the stream at EOF or on error.

// prefetchSize is how many bytes remoteReader asks for at least. Asking for more than the
// caller's buffer is allowed by the protocol (the surplus stays in the stream and is consumed
// by the next Reads without another request) and saves a round trip per small Read.
const prefetchSize = 64 * 1024

// remoteReader is the reading side. It tracks how many requested bytes are still in flight
// and only asks for more when they have all arrived, so a Read never waits for bytes nobody
// asked for.
type remoteReader struct {
	conn        io.ReadWriteCloser
	outstanding int64
}

func newRemoteReader(conn io.ReadWriteCloser) *remoteReader {
	return &remoteReader{conn: conn}
}

func (r *remoteReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if r.outstanding <= 0 {
		want := max(int64(len(b)), prefetchSize)
		var buf [binary.MaxVarintLen64]byte
		n := binary.PutVarint(buf[:], want)
		if _, err := r.conn.Write(buf[:n]); err != nil {
			// The serving side closes the stream at EOF; a request written after that may
			// fail (depending on the transport) although the stream ended normally.
			if n, rerr := r.conn.Read(b); rerr == io.EOF {
				return n, io.EOF
			}
			return 0, err
		}
		r.outstanding = want
	}
	if int64(len(b)) > r.outstanding {
		b = b[:r.outstanding]
	}
	n, err := r.conn.Read(b)
	r.outstanding -= int64(n)
	return n, err
}

func (r *remoteReader) Close() error {
	return r.conn.Close()
}

// serveReader is the serving side: it answers the peer's requests from r until r is
// exhausted, the peer closes the stream, or a copy fails. It closes conn when done, which the
// peer reads as EOF.
func serveReader(r io.Reader, conn io.ReadWriteCloser) {
	defer func() { _ = conn.Close() }()
	if r == nil {
		return
	}
	requests := bufio.NewReader(conn)
	buf := make([]byte, 32*1024)
	for {
		n, err := binary.ReadVarint(requests)
		if err != nil || n <= 0 {
			return
		}
		written, err := io.CopyBuffer(conn, io.LimitReader(r, n), buf)
		if err != nil || written < n {
			return
		}
	}
}
