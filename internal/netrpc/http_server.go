package netrpc

import (
	"io"
	"net/http"
	"strconv"

	"github.com/mattermost/mattermost/server/public/plugin"
)

// ServeHTTP serves a request routed to /plugins/{id}/...: the server serves an
// http.ResponseWriter on ResponseWriterStream and the request body (remote io.Reader
// protocol) on RequestBodyStream (0 when there is no body).
func (s *hooksServer) ServeHTTP(args *plugin.Z_ServeHTTPArgs, _ *struct{}) error {
	return s.serveHTTP("ServeHTTP", args.ResponseWriterStream, args.RequestBodyStream, args.Request, args.Context, s.hooks.ServeHTTP)
}

// ServeMetrics is ServeHTTP for the server's metrics listener (/plugins/{id}/metrics); its
// arguments have the same shape.
func (s *hooksServer) ServeMetrics(args *plugin.Z_ServeMetricsArgs, _ *struct{}) error {
	return s.serveHTTP("ServeMetrics", args.ResponseWriterStream, args.RequestBodyStream, args.Request, args.Context, s.hooks.ServeMetrics)
}

func (s *hooksServer) serveHTTP(hook string, writerStream, bodyStream uint32, subset *plugin.HTTPRequestSubset, c *plugin.Context,
	serve func(*plugin.Context, http.ResponseWriter, *http.Request)) error {
	conn, err := s.broker.Dial(writerStream)
	if err != nil {
		s.log.Error("cannot connect to the server's response writer stream", "hook", hook, "error", err)
		return err
	}
	w := newResponseWriter(conn, s.log)
	defer w.close()

	var body io.ReadCloser = http.NoBody
	if bodyStream != 0 {
		bodyConn, err := s.broker.Dial(bodyStream)
		if err != nil {
			s.log.Error("cannot connect to the server's request body stream", "hook", hook, "error", err)
			return err
		}
		body = newRemoteReader(bodyConn)
	}
	defer func() { _ = body.Close() }()

	r := requestFromSubset(subset, body)
	if s.implements(hook) {
		serve(c, w, r)
	} else {
		http.NotFound(w, r)
	}
	// Header changes after the last write (trailers) still reach the server.
	w.syncHeader()
	return nil
}

// requestFromSubset rebuilds the *http.Request the server forwarded. HTTPRequestSubset omits
// ContentLength, so it is restored from the Content-Length header (or -1, "unknown", when a
// body stream exists without one), which is what handlers and ASGI/WSGI adapters read.
func requestFromSubset(subset *plugin.HTTPRequestSubset, body io.ReadCloser) *http.Request {
	if subset == nil {
		subset = &plugin.HTTPRequestSubset{Method: http.MethodGet}
	}
	subset.Body = body
	r := subset.GetHTTPRequest()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	switch {
	case body == http.NoBody:
		r.ContentLength = 0
	default:
		r.ContentLength = -1
		if n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
			r.ContentLength = n
		}
	}
	return r
}

// FileWillBeUploaded reads the upload from UploadedFileStream (remote io.Reader protocol) and
// writes the replacement file raw onto ReplacementFileStream; closing that stream when the hook
// returns ends the server's copy, which the server waits for before using the result.
func (s *hooksServer) FileWillBeUploaded(args *plugin.Z_FileWillBeUploadedArgs, returns *plugin.Z_FileWillBeUploadedReturns) error {
	uploadConn, err := s.broker.Dial(args.UploadedFileStream)
	if err != nil {
		s.log.Error("cannot connect to the server's upload stream", "hook", "FileWillBeUploaded", "error", err)
		return err
	}
	upload := newRemoteReader(uploadConn)
	defer func() { _ = upload.Close() }()

	replacement, err := s.broker.Dial(args.ReplacementFileStream)
	if err != nil {
		s.log.Error("cannot connect to the server's replacement file stream", "hook", "FileWillBeUploaded", "error", err)
		return err
	}
	defer func() { _ = replacement.Close() }()

	if !s.implements("FileWillBeUploaded") {
		return notImplementedError("FileWillBeUploaded")
	}
	returns.A, returns.B = s.hooks.FileWillBeUploaded(args.A, args.B, upload, replacement)
	return nil
}
