package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/convert"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// recvHead receives the first message of a client stream, which must be the head.
func recvHead[H any, M interface{ GetHead() *H }](method string, recv func() (M, error)) (*H, error) {
	m, err := recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, status.Errorf(codes.InvalidArgument, "%s: the stream ended before its head", method)
		}
		return nil, err
	}
	h := m.GetHead()
	if h == nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s: the first message of the stream must be the head", method)
	}
	return h, nil
}

// chunkStream is the io.Reader a client-streaming upload (InstallPlugin, UploadData,
// ReceiveSharedChannelAttachmentSyncMsg) hands to plugin.API. Each Read receives the next
// chunk from the gRPC stream only when the previous one is consumed, so the body is never
// held in memory as a whole and gRPC flow control slows the plugin down to the pace of the
// server. It plays the role of an io.Pipe without the extra goroutine: the API call runs on
// the RPC's own goroutine, which owns the stream.
type chunkStream[M interface{ GetChunk() *pb.StreamChunk }] struct {
	recv func() (M, error)
	buf  []byte
	err  error
}

func chunkReader[M interface{ GetChunk() *pb.StreamChunk }](recv func() (M, error)) io.Reader {
	return &chunkStream[M]{recv: recv}
}

func (r *chunkStream[M]) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		m, err := r.recv()
		switch {
		case errors.Is(err, io.EOF):
			r.err = io.EOF // the plugin half-closed: the upload is complete
		case err != nil:
			r.err = fmt.Errorf("upload stream from the plugin broke: %w", err)
		case m.GetChunk() == nil:
			r.err = errors.New("upload stream from the plugin: expected a chunk after the head")
		default:
			r.buf = m.GetChunk().GetData()
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// httpBody is the body of a request the plugin streams (PluginHTTP): body chunks until an
// end message, whose error (if any) the reader returns instead of io.EOF.
type httpBody struct {
	recv func() (*pb.PluginHTTPRequest, error)
	buf  []byte
	err  error
}

func (b *httpBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		m, err := b.recv()
		switch {
		case errors.Is(err, io.EOF):
			b.err = io.EOF // half-close without an end message: treat as a clean end
		case err != nil:
			b.err = fmt.Errorf("request body stream from the plugin broke: %w", err)
		case m.GetBody() != nil:
			b.buf = m.GetBody().GetData()
		case m.GetEnd() != nil:
			b.err = io.EOF
			if e := m.GetEnd().GetError(); e != nil {
				b.err = fmt.Errorf("the plugin failed while sending the request body: %w", convert.ErrorFromProto(e))
			}
		default:
			b.err = errors.New("request body stream from the plugin: unexpected message after the head")
		}
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *httpBody) Close() error { return nil }

// requestFromHead rebuilds the *http.Request a plugin sends through PluginHTTP.
func requestFromHead(ctx context.Context, h *pb.HTTPRequestHead, body io.ReadCloser) (*http.Request, error) {
	r, err := http.NewRequestWithContext(ctx, h.GetMethod(), fromWire(h.GetUrl(), h.GetRawUrl()), nil)
	if err != nil {
		return nil, err
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = h.GetProto(), int(h.GetProtoMajor()), int(h.GetProtoMinor())
	addHeaders(r.Header, h.GetHeaders())
	if host := fromWire(h.GetHost(), h.GetRawHost()); host != "" {
		r.Host = host
	}
	r.RemoteAddr, r.RequestURI = h.GetRemoteAddr(), fromWire(h.GetRequestUri(), h.GetRawRequestUri())
	r.ContentLength = h.GetContentLength()
	r.Body = body
	if r.ContentLength == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

// PluginHTTP serves plugin.API.PluginHTTP (a request to another plugin's ServeHTTP). The
// request body is streamed into the call as the plugin sends it; the response head is sent
// as soon as the server returns, then the body in chunks of at most 64 KiB as it is read.
func (s *apiService) PluginHTTP(stream grpc.BidiStreamingServer[pb.PluginHTTPRequest, pb.PluginHTTPResponse]) (rerr error) {
	defer s.catch("PluginHTTP", &rerr)
	head, err := recvHead[pb.HTTPRequestHead]("PluginHTTP", stream.Recv)
	if err != nil {
		return err
	}
	req, err := requestFromHead(stream.Context(), head, &httpBody{recv: stream.Recv})
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "PluginHTTP: bad request head: %v", err)
	}
	resp := s.api.PluginHTTP(req)
	if resp == nil {
		// Mattermost's own PluginHTTP returns nil when it could not make the request at all.
		return status.Error(codes.Unavailable, "PluginHTTP: the server returned no response (the destination plugin may not exist or not be active)")
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	if err := stream.Send(&pb.PluginHTTPResponse{Part: &pb.PluginHTTPResponse_Head{Head: &pb.HTTPResponseHead{
		StatusCode: int32(resp.StatusCode), Headers: headersToPB(resp.Header),
	}}}); err != nil {
		return err
	}
	var end pb.StreamEnd
	if resp.Body != nil {
		buf := make([]byte, chunkSize)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				chunk := &pb.PluginHTTPResponse{Part: &pb.PluginHTTPResponse_Body{Body: &pb.StreamChunk{Data: buf[:n]}}}
				if err := stream.Send(chunk); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				end.Error = convert.ErrorToProto(err)
				break
			}
		}
	}
	return stream.Send(&pb.PluginHTTPResponse{Part: &pb.PluginHTTPResponse_End{End: &end}})
}
