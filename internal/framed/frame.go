package framed

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// MaxFrameBytes bounds one frame's body, the same 64 MiB as one gRPC message on the other
// sockets. A larger length is a protocol error: the connection is closed, since nothing after it
// can be trusted to be a frame boundary.
const MaxFrameBytes = 64 << 20

// headerBytes is the size of a frame's big-endian uint32 length prefix.
const headerBytes = 4

// readFrame reads one frame into buf (grown as needed) and returns its body, which aliases buf
// and is valid until the next call with the same buf.
func readFrame(r *bufio.Reader, buf *[]byte) ([]byte, error) {
	var hdr [headerBytes]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrameBytes {
		return nil, fmt.Errorf("frame of %d bytes is larger than the %d-byte limit", n, MaxFrameBytes)
	}
	if uint32(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	body := (*buf)[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the header promised a body
		}
		return nil, err
	}
	return body, nil
}

// appendFrame appends m as one frame (length prefix and body) to buf, so that the caller can
// write it with a single Write: one syscall per frame, and frames written under a mutex never
// interleave.
func appendFrame(buf []byte, m proto.Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, headerBytes)...)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, m)
	if err != nil {
		return nil, err
	}
	n := len(buf) - start - headerBytes
	if n > MaxFrameBytes {
		return nil, fmt.Errorf("message of %d bytes is larger than the %d-byte frame limit", n, MaxFrameBytes)
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(n))
	return buf, nil
}

// writeFrame writes m as one frame with one Write call.
func writeFrame(w io.Writer, m proto.Message) error {
	buf, err := appendFrame(nil, m)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}
