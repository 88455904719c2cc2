package hooksclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mmplugin/mmplugin/internal/convert"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// httpStream is one ServeHTTP or ServeMetrics call: the two RPCs have the same shape but
// distinct generated message types, which the adapters below hide.
type httpStream interface {
	sendHead(*pb.HTTPRequestHead) error
	sendBody([]byte) error
	sendEnd(*pb.StreamEnd) error
	CloseSend() error
	// recv returns exactly one of head, body, flush or end set.
	recv() (httpPart, error)
}

type httpPart struct {
	head  *pb.HTTPResponseHead
	body  *pb.StreamChunk
	flush bool
	end   *pb.StreamEnd
}

type serveHTTPStream struct {
	pb.PluginHooksService_ServeHTTPClient
}

func (s serveHTTPStream) sendHead(h *pb.HTTPRequestHead) error {
	return s.Send(&pb.ServeHTTPRequest{Part: &pb.ServeHTTPRequest_Head{Head: h}})
}

func (s serveHTTPStream) sendBody(b []byte) error {
	return s.Send(&pb.ServeHTTPRequest{Part: &pb.ServeHTTPRequest_Body{Body: &pb.StreamChunk{Data: b}}})
}

func (s serveHTTPStream) sendEnd(e *pb.StreamEnd) error {
	return s.Send(&pb.ServeHTTPRequest{Part: &pb.ServeHTTPRequest_End{End: e}})
}

func (s serveHTTPStream) recv() (httpPart, error) {
	m, err := s.Recv()
	if err != nil {
		return httpPart{}, err
	}
	return httpPart{head: m.GetHead(), body: m.GetBody(), flush: m.GetFlush() != nil, end: m.GetEnd()}, nil
}

type serveMetricsStream struct {
	pb.PluginHooksService_ServeMetricsClient
}

func (s serveMetricsStream) sendHead(h *pb.HTTPRequestHead) error {
	return s.Send(&pb.ServeMetricsRequest{Part: &pb.ServeMetricsRequest_Head{Head: h}})
}

func (s serveMetricsStream) sendBody(b []byte) error {
	return s.Send(&pb.ServeMetricsRequest{Part: &pb.ServeMetricsRequest_Body{Body: &pb.StreamChunk{Data: b}}})
}

func (s serveMetricsStream) sendEnd(e *pb.StreamEnd) error {
	return s.Send(&pb.ServeMetricsRequest{Part: &pb.ServeMetricsRequest_End{End: e}})
}

func (s serveMetricsStream) recv() (httpPart, error) {
	m, err := s.Recv()
	if err != nil {
		return httpPart{}, err
	}
	return httpPart{head: m.GetHead(), body: m.GetBody(), flush: m.GetFlush() != nil, end: m.GetEnd()}, nil
}

// ServeHTTP implements plugin.Hooks.ServeHTTP: the request is streamed to the plugin process
// and its response streamed back into w as it arrives.
func (h *Client) ServeHTTP(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	h.serveHTTP("ServeHTTP", c, w, r, func(ctx context.Context) (httpStream, error) {
		s, err := h.hooks.ServeHTTP(ctx)
		return serveHTTPStream{s}, err
	})
}

// ServeMetrics implements plugin.Hooks.ServeMetrics, exactly like ServeHTTP.
func (h *Client) ServeMetrics(c *plugin.Context, w http.ResponseWriter, r *http.Request) {
	h.serveHTTP("ServeMetrics", c, w, r, func(ctx context.Context) (httpStream, error) {
		s, err := h.hooks.ServeMetrics(ctx)
		return serveMetricsStream{s}, err
	})
}

// requestHead converts everything of r but its body (the fields of Mattermost's
// HTTPRequestSubset, plus the content length), headers sorted by name.
func requestHead(c *plugin.Context, r *http.Request) (*pb.HTTPRequestHead, error) {
	pc, err := convert.PluginContextToProto(c)
	if err != nil {
		return nil, err
	}
	h := &pb.HTTPRequestHead{
		Context: pc, Method: r.Method, Proto: r.Proto,
		ProtoMajor: int32(r.ProtoMajor), ProtoMinor: int32(r.ProtoMinor),
		Headers: headersToPB(r.Header), RemoteAddr: r.RemoteAddr, ContentLength: r.ContentLength,
	}
	h.Host, h.RawHost = wireString(r.Host)
	h.RequestUri, h.RawRequestUri = wireString(r.RequestURI)
	if r.URL != nil {
		h.Url, h.RawUrl = wireString(r.URL.String())
	}
	return h, nil
}

// sendBody streams body in chunks of at most chunkSize, each sent as soon as Read returns it
// (never waiting to fill a chunk), then an end message carrying a read error if any.
func sendBody(body io.Reader, send func([]byte) error, end func(*pb.StreamEnd) error) error {
	var e pb.StreamEnd
	if body != nil {
		buf := make([]byte, chunkSize)
		for {
			n, err := body.Read(buf)
			if n > 0 {
				if err := send(buf[:n]); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				e.Error = convert.ErrorToProto(err)
				break
			}
		}
	}
	return end(&e)
}

func (h *Client) serveHTTP(hook string, c *plugin.Context, w http.ResponseWriter, r *http.Request,
	open func(context.Context) (httpStream, error)) {
	// The call lives as long as the HTTP request: a client that goes away cancels it.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	wrote := false // whether anything reached w: after that only the log can tell of a failure
	fail := func(err error) {
		h.failed(hook, err)
		if wrote {
			return
		}
		// Mattermost answers 404 for a plugin without the hook, 500 when the call fails.
		if status.Code(err) == codes.Unimplemented {
			http.NotFound(w, r)
		} else {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
		}
	}

	head, err := requestHead(c, r)
	if err != nil {
		fail(err)
		return
	}
	stream, err := open(ctx)
	if err != nil {
		fail(err)
		return
	}
	if err := stream.sendHead(head); err != nil && !errors.Is(err, io.EOF) {
		fail(err)
		return
	}
	// The body goes up while the response comes down: a plugin may answer before it has read
	// the whole request, and neither side buffers more than one chunk. A failed send means
	// the stream is over; Recv below reports why.
	go func() {
		if err := sendBody(r.Body, stream.sendBody, stream.sendEnd); err == nil {
			_ = stream.CloseSend()
		}
	}()

	flusher, _ := w.(http.Flusher)
	for {
		part, err := stream.recv()
		if errors.Is(err, io.EOF) {
			return // the plugin finished without an end message: the response is complete
		}
		if err != nil {
			fail(err)
			return
		}
		switch {
		case part.head != nil:
			if wrote {
				h.failed(hook, errors.New("the plugin sent a second response head; ignored"))
				continue
			}
			code := int(part.head.GetStatusCode())
			if code < 100 || code > 999 {
				// net/http panics on such a code; a plugin bug must not take the host down.
				h.failed(hook, fmt.Errorf("the plugin sent the invalid HTTP status %d; answering 500", code))
				code = http.StatusInternalServerError
			}
			addHeaders(w.Header(), part.head.GetHeaders())
			w.WriteHeader(code)
			wrote = true
		case part.body != nil:
			wrote = true
			if _, err := w.Write(part.body.GetData()); err != nil {
				// The HTTP client went away: stop the plugin's handler too.
				h.logger.Debug("HTTP client went away during a plugin response", "hook", hook, "error", err.Error())
				return
			}
		case part.flush:
			if flusher != nil {
				flusher.Flush()
			}
			wrote = true
		case part.end != nil:
			if e := part.end.GetError(); e != nil {
				h.failed(hook, convert.ErrorFromProto(e))
			}
			return
		}
	}
}

// FileWillBeUploaded implements plugin.Hooks.FileWillBeUploaded: the upload is streamed to
// the plugin process while its replacement (if any) is written to output as it arrives.
// If the call fails, the upload is kept as it was (Mattermost's default): info is returned
// and, when output can be reset (the server passes a *bytes.Buffer), a partly written
// replacement is discarded.
func (h *Client) FileWillBeUploaded(c *plugin.Context, info *model.FileInfo, file io.Reader, output io.Writer) (*model.FileInfo, string) {
	const hook = "FileWillBeUploaded"
	ctx, cancel := context.WithCancel(h.callContext())
	var sender sync.WaitGroup
	defer sender.Wait() // after cancel (deferred below runs first): file is not read after return
	defer cancel()

	fail := func(err error) (*model.FileInfo, string) {
		h.failed(hook, err)
		if r, ok := output.(interface{ Reset() }); ok {
			r.Reset()
		}
		return h.fileWillBeUploadedDefaults(c, info, file, output)
	}
	head, err := fileWillBeUploadedHead(c, info, file, output)
	if err != nil {
		return fail(err)
	}
	stream, err := h.hooks.FileWillBeUploaded(ctx)
	if err != nil {
		return fail(err)
	}
	if err := stream.Send(&pb.FileWillBeUploadedRequest{Part: &pb.FileWillBeUploadedRequest_Head{Head: head}}); err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	sender.Go(func() {
		send := func(b []byte) error {
			return stream.Send(&pb.FileWillBeUploadedRequest{Part: &pb.FileWillBeUploadedRequest_Chunk{Chunk: &pb.StreamChunk{Data: b}}})
		}
		end := func(e *pb.StreamEnd) error {
			return stream.Send(&pb.FileWillBeUploadedRequest{Part: &pb.FileWillBeUploadedRequest_End{End: e}})
		}
		if err := sendBody(file, send, end); err == nil {
			_ = stream.CloseSend()
		}
	})
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the plugin ended the stream without a result")
			}
			return fail(err)
		}
		if rep := m.GetReplacement(); rep != nil {
			if _, err := output.Write(rep.GetData()); err != nil {
				return fail(err)
			}
			continue
		}
		if res := m.GetResult(); res != nil {
			newInfo, reason, err := fileWillBeUploadedResult(res)
			if err != nil {
				return fail(err)
			}
			return newInfo, reason
		}
		return fail(errors.New("the plugin sent an empty stream message"))
	}
}
