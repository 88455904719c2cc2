package protogen

// coreMessages are the protocol's fixed messages, written verbatim at the top of models.proto:
// dynamic values, errors and the shared stream parts. They are generator input (not derived
// from Go types); changing them is a protocol change and must stay additive.
const coreMessages = `// Value is a Go ` + "`any`" + ` value together with its dynamic Go type, so that Go → proto → Go is
// exact (Post.Props, plugin configuration, WebSocket payloads, driver values). No kind set and
// no nodes means Go nil.
//
// Writers put a []any or map[string]any (any depth) into nodes, flat, and every other value into
// kind; readers accept a container in either form. The flat form keeps protobuf nesting constant
// however deep the value is, so that no decoder's recursion limit (100 in upb, Python's protobuf)
// applies to user data such as post props.
message Value {
  oneof kind {
    bool bool_value = 1;
    // Go int.
    int64 int_value = 2;
    int64 int64_value = 3;
    int32 int32_value = 4;
    uint64 uint64_value = 5;
    double float64_value = 6;
    float float32_value = 7;
    string string_value = 8;
    bytes bytes_value = 9;
    // Go []any, nested form (read, no longer written: see nodes).
    ValueList list_value = 10;
    // Go map[string]any, nested form (read, no longer written: see nodes).
    ValueMap map_value = 11;
    // Go []string.
    StringList string_list_value = 12;
    // Go map[string]string.
    StringMap string_map_value = 13;
    // A model type registered with gob by Mattermost (see TypedValue).
    TypedValue typed_value = 14;
    // Go time.Time (database/sql driver values); the instant is kept, the zone becomes UTC.
    google.protobuf.Timestamp time_value = 15;
  }
  // is_nil marks a typed nil: with bytes_value, list_value, map_value, string_list_value or
  // string_map_value set and empty, true means []byte(nil), []any(nil), map[string]any(nil),
  // []string(nil) or map[string]string(nil); with typed_value, a nil of that type.
  bool is_nil = 16;
  // A []any or map[string]any value, flat: the root node first, then its elements, each
  // followed by its own elements (pre-order, see ValueNode). Set instead of kind.
  repeated ValueNode nodes = 17;
}

// ValueNode is one node of a flat Value: a scalar, typed value or string container like
// Value's kind, or the head of a []any (list_len) / map[string]any (map_len) whose elements
// are the next list_len / map_len subtrees, each entry of a map carrying its key.
message ValueNode {
  // This node's key in the map it is an element of (empty for list elements and the root).
  string key = 1;
  oneof kind {
    bool bool_value = 2;
    // Go int.
    int64 int_value = 3;
    int64 int64_value = 4;
    int32 int32_value = 5;
    uint64 uint64_value = 6;
    double float64_value = 7;
    float float32_value = 8;
    string string_value = 9;
    bytes bytes_value = 10;
    // Go []any with this many elements (the following subtrees).
    uint32 list_len = 11;
    // Go map[string]any with this many entries (the following subtrees, keyed).
    uint32 map_len = 12;
    // Go []string.
    StringList string_list_value = 13;
    // Go map[string]string.
    StringMap string_map_value = 14;
    // A model type registered with gob by Mattermost (see TypedValue).
    TypedValue typed_value = 15;
    // Go time.Time; the instant is kept, the zone becomes UTC.
    google.protobuf.Timestamp time_value = 16;
  }
  // A typed nil, as Value.is_nil (list_len / map_len 0 with is_nil: []any(nil) /
  // map[string]any(nil)).
  bool is_nil = 17;
}

// ValueList is a Go []any.
message ValueList {
  repeated Value values = 1;
}

// ValueMap is a Go map[string]any.
message ValueMap {
  map<string, Value> values = 1;
}

// StringList is a Go []string inside a Value.
message StringList {
  repeated string values = 1;
}

// StringMap is a Go map[string]string inside a Value.
message StringMap {
  map<string, string> values = 1;
}

// TypedValue is a model value inside a Value: type is its registered name (one of the
// TypedValue registry in this file's header, e.g. "[]*model.SlackAttachment") and data the
// proto encoding of the message that carries it.
message TypedValue {
  string type = 1;
  bytes data = 2;
}

// ErrorCode names the error values Mattermost's own RPC preserves (plugin.ErrorString codes),
// so that Go callers on the far side can still compare them with errors.Is.
enum ErrorCode {
  // Any other error: only the message crosses.
  ERROR_CODE_UNSPECIFIED = 0;
  // io.EOF
  ERROR_CODE_EOF = 1;
  // sql.ErrNoRows
  ERROR_CODE_SQL_NO_ROWS = 2;
  // sql.ErrConnDone
  ERROR_CODE_SQL_CONN_DONE = 3;
  // sql.ErrTxDone
  ERROR_CODE_SQL_TX_DONE = 4;
  // driver.ErrSkip
  ERROR_CODE_DRIVER_SKIP = 5;
  // driver.ErrBadConn
  ERROR_CODE_DRIVER_BAD_CONN = 6;
  // driver.ErrRemoveArgument
  ERROR_CODE_DRIVER_REMOVE_ARGUMENT = 7;
}

// Error is a plain Go error result. app_error is set when the error is a *model.AppError
// (Mattermost's RPC keeps its type, and the server reads some hooks' errors as one).
message Error {
  string message = 1;
  ErrorCode code = 2;
  AppError app_error = 3;
}

// AppError is a *model.AppError with every field, including the translation params that
// Mattermost keeps unexported.
message AppError {
  string id = 1;
  string message = 2;
  string detailed_error = 3;
  string request_id = 4;
  int64 status_code = 5;
  string where = 6;
  bool skip_translation = 7;
  map<string, Value> params = 8;
  // Field numbers of the map fields that are empty but not nil.
  repeated uint32 empty = 9;
}

// StreamChunk is one piece of a streamed body (io.Reader / io.Writer / HTTP body).
message StreamChunk {
  bytes data = 1;
}

// StreamEnd ends a stream explicitly. An unset error is a clean end (EOF); a set error means the
// producer failed part-way and the consumer must treat the data as incomplete.
message StreamEnd {
  Error error = 1;
}

// HTTPHeader is one header name with all its values, in order. HTTP allows header values
// that are not UTF-8 (obs-text bytes), which a proto string cannot carry: then every value of
// the header is in raw_values instead of values.
message HTTPHeader {
  string name = 1;
  repeated string values = 2;
  repeated bytes raw_values = 3;
}

// HTTPRequestHead is the first message of an HTTP request stream: everything of the
// *http.Request except its body (the fields of Mattermost's HTTPRequestSubset plus
// content_length).
message HTTPRequestHead {
  // The plugin context of a ServeHTTP/ServeMetrics hook call (unset for API.PluginHTTP).
  PluginContext context = 1;
  string method = 2;
  // The request URL as sent (url.URL.String()).
  string url = 3;
  string proto = 4;
  int32 proto_major = 5;
  int32 proto_minor = 6;
  // Sorted by name.
  repeated HTTPHeader headers = 7;
  string host = 8;
  string remote_addr = 9;
  string request_uri = 10;
  // -1 when unknown.
  int64 content_length = 11;
  // url, request_uri and host as bytes, set instead of the string field when its value is not
  // UTF-8 (a raw query string or Host header may carry any byte a client sends).
  bytes raw_url = 12;
  bytes raw_request_uri = 13;
  bytes raw_host = 14;
}

// HTTPResponseHead is the status line and headers of an HTTP response; it precedes the body.
message HTTPResponseHead {
  int32 status_code = 1;
  repeated HTTPHeader headers = 2;
}

// HTTPFlush asks the receiver to flush what it has written so far (http.Flusher).
message HTTPFlush {}
`

// httpStreamMessages returns the request and response stream messages of an HTTP-shaped RPC.
func httpStreamMessages(rpc, side string) string {
	return `// ` + rpc + `Request is the ` + side + `'s request stream: one head, then body chunks, then end.
message ` + rpc + `Request {
  oneof part {
    HTTPRequestHead head = 1;
    StreamChunk body = 2;
    StreamEnd end = 3;
  }
}

// ` + rpc + `Response is the response stream: one head, then body chunks and flush markers, then end.
message ` + rpc + `Response {
  oneof part {
    HTTPResponseHead head = 1;
    StreamChunk body = 2;
    HTTPFlush flush = 3;
    StreamEnd end = 4;
  }
}
`
}

// readerUploadMessages returns the client-stream message of a KindReaderUpload RPC.
func readerUploadMessages(rpc string) string {
	return `// ` + rpc + `Request is the client stream: the first message is the head (every parameter except the
// io.Reader), the following ones the reader's bytes; closing the stream is EOF.
message ` + rpc + `Request {
  oneof part {
    ` + rpc + `RequestHead head = 1;
    StreamChunk chunk = 2;
  }
}
`
}

// uploadHookMessages returns the stream messages of FileWillBeUploaded.
func uploadHookMessages(rpc string) string {
	return `// ` + rpc + `Request is the host's stream: the head, the uploaded file in chunks, then end.
message ` + rpc + `Request {
  oneof part {
    ` + rpc + `RequestHead head = 1;
    StreamChunk chunk = 2;
    StreamEnd end = 3;
  }
}

// ` + rpc + `Response is the plugin's stream: the replacement file in chunks (none keeps the
// upload as it is), then exactly one result.
message ` + rpc + `Response {
  oneof part {
    StreamChunk replacement = 1;
    ` + rpc + `Result result = 2;
  }
}
`
}
