package hooksclient

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/mattermost/mattermost/server/public/plugin"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// FuzzRequestHead: whatever bytes a client puts in a header value, the query string, the
// request URI or the Host header, the request head encodes (a proto string must be UTF-8) and
// decodes back to exactly those bytes, so the plugin sees what a Go plugin sees.
func FuzzRequestHead(f *testing.F) {
	f.Add("plain", "a=1", "example.com")
	f.Add("obs-text \xff\xfe", "q=\xff", "h\xc3")
	f.Add("grüße ✓", "x=%ZZ&y=\x80", "")
	f.Fuzz(func(t *testing.T, value, rawQuery, host string) {
		r := &http.Request{
			Method: http.MethodGet, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			URL:    &url.URL{Path: "/p", RawQuery: rawQuery},
			Header: http.Header{"X-Raw": {value, "second"}, "Accept": {"*/*"}},
			Host:   host, RequestURI: "/plugins/x/p?" + rawQuery, ContentLength: -1,
		}
		head, err := requestHead(&plugin.Context{}, r)
		if err != nil {
			t.Fatal(err)
		}
		data, err := proto.Marshal(head)
		if err != nil {
			t.Fatalf("the head does not encode: %v", err)
		}
		back := &pb.HTTPRequestHead{}
		if err := proto.Unmarshal(data, back); err != nil {
			t.Fatal(err)
		}
		got := http.Header{}
		addHeaders(got, back.GetHeaders())
		if !reflect.DeepEqual(got, r.Header) {
			t.Errorf("headers %q, want %q", got, r.Header)
		}
		if u := fromWire(back.GetUrl(), back.GetRawUrl()); u != r.URL.String() {
			t.Errorf("url %q, want %q", u, r.URL.String())
		}
		if u := fromWire(back.GetRequestUri(), back.GetRawRequestUri()); u != r.RequestURI {
			t.Errorf("request uri %q, want %q", u, r.RequestURI)
		}
		if h := fromWire(back.GetHost(), back.GetRawHost()); h != host {
			t.Errorf("host %q, want %q", h, host)
		}
	})
}
