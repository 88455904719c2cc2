package netrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

// apiClient implements plugin.API over the API stream the server serves at OnActivate: each
// method is the net/rpc call Plugin.<Method> with the plugin package's Z_<Method>Args and
// Z_<Method>Returns, the counterpart of Mattermost's apiRPCClient. The mechanical methods are
// in api_client_gen.go; the special ones (configuration as JSON, stringified logging, gob-safe
// audit records, streamed readers, PluginHTTP) are hand-written here.
//
// Two deliberate differences from Mattermost's client, both invisible to the server:
//   - a failed call (broken stream, method unknown to an older server) is returned as an
//     error (*model.AppError or error, whichever the method returns) instead of zero values
//     that read as success; a method the server does not have is a 501 AppError with
//     MethodNotOnServerErrorID (errors.go); methods without an error result log it;
//   - plain errors from the server are decoded to their sentinel (io.EOF, sql.ErrNoRows, …),
//     as Mattermost only does for the Driver.
type apiClient struct {
	client *backchannel
	log    hclog.Logger
}

var _ plugin.API = (*apiClient)(nil)

// logCallFailed reports a failed call of a method that has no error result to return it in.
func (api *apiClient) logCallFailed(method string, err error) {
	api.log.Error("call to the Mattermost server API failed", "method", method, "error", err)
}

// LoadPluginConfiguration: the server sends the configuration as JSON bytes (the Go
// out-parameter cannot cross); it is unmarshalled into dest here.
func (api *apiClient) LoadPluginConfiguration(dest any) error {
	returns := &plugin.Z_LoadPluginConfigurationArgsReturns{}
	if err := api.client.Call("Plugin.LoadPluginConfiguration", &plugin.Z_LoadPluginConfigurationArgsArgs{}, returns); err != nil {
		return callFailedError("LoadPluginConfiguration", err)
	}
	if err := json.Unmarshal(returns.A, dest); err != nil {
		return fmt.Errorf("netrpc: the plugin configuration from the server does not fit %T: %w", dest, err)
	}
	return nil
}

// The Log* methods stringify the key/value pairs with %+v before sending, as Mattermost's
// client does: arbitrary values are not gob-encodable, strings always are.

func (api *apiClient) LogDebug(msg string, keyValuePairs ...any) {
	api.logCall("LogDebug", &plugin.Z_LogDebugArgs{A: msg, B: stringify(keyValuePairs)}, &plugin.Z_LogDebugReturns{})
}

func (api *apiClient) LogInfo(msg string, keyValuePairs ...any) {
	api.logCall("LogInfo", &plugin.Z_LogInfoArgs{A: msg, B: stringify(keyValuePairs)}, &plugin.Z_LogInfoReturns{})
}

func (api *apiClient) LogWarn(msg string, keyValuePairs ...any) {
	api.logCall("LogWarn", &plugin.Z_LogWarnArgs{A: msg, B: stringify(keyValuePairs)}, &plugin.Z_LogWarnReturns{})
}

func (api *apiClient) LogError(msg string, keyValuePairs ...any) {
	api.logCall("LogError", &plugin.Z_LogErrorArgs{A: msg, B: stringify(keyValuePairs)}, &plugin.Z_LogErrorReturns{})
}

func (api *apiClient) logCall(method string, args, returns any) {
	if err := api.client.Call("Plugin."+method, args, returns); err != nil {
		api.logCallFailed(method, err)
	}
}

// stringify is Mattermost's stringifyToObjects: each value formatted with %+v, nil stays nil.
func stringify(values []any) []any {
	if values == nil {
		return nil
	}
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = fmt.Sprintf("%+v", v)
	}
	return out
}

// LogAuditRec and LogAuditRecWithLevel send a copy of the record whose free-form maps went
// through a JSON round trip, as Mattermost's client does, so that values gob cannot encode
// (nil pointers in interfaces, unregistered types) do not fail the call.
func (api *apiClient) LogAuditRec(rec *model.AuditRecord) {
	safe := gobSafeAuditRecord(rec)
	api.logCall("LogAuditRec", &plugin.Z_LogAuditRecArgs{A: safe}, &plugin.Z_LogAuditRecReturns{})
}

func (api *apiClient) LogAuditRecWithLevel(rec *model.AuditRecord, level mlog.Level) {
	safe := gobSafeAuditRecord(rec)
	api.logCall("LogAuditRecWithLevel", &plugin.Z_LogAuditRecWithLevelArgs{A: safe, B: level}, &plugin.Z_LogAuditRecWithLevelReturns{})
}

func gobSafeAuditRecord(rec *model.AuditRecord) *model.AuditRecord {
	if rec == nil {
		return nil
	}
	safe := *rec
	safe.EventData.Parameters = gobSafeMap(rec.EventData.Parameters)
	safe.EventData.PriorState = gobSafeMap(rec.EventData.PriorState)
	safe.EventData.ResultState = gobSafeMap(rec.EventData.ResultState)
	safe.Meta = gobSafeMap(rec.Meta)
	return &safe
}

func gobSafeMap(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return map[string]any{"error": "failed to serialize audit data"}
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return map[string]any{"error": "failed to deserialize audit data"}
	}
	return out
}

// serveReaderStream reserves a MuxBroker ID and serves r on it with the remote io.Reader
// protocol once the server dials it. The stream is served in the background; if the server
// never dials (the call failed first), Accept times out after 5 seconds and the goroutine
// ends.
//
// Before activation there is no broker: it returns 0 and the call itself then fails with the
// back-channel's "not available yet" error.
func (api *apiClient) serveReaderStream(method string, r io.Reader) uint32 {
	broker, err := api.client.broker()
	if err != nil {
		return 0
	}
	id := broker.NextId()
	go func() {
		conn, err := broker.Accept(id)
		if err != nil {
			api.log.Debug("the server did not open the stream for a reader argument", "method", method, "error", err)
			return
		}
		serveReader(r, conn)
	}()
	return id
}

func (api *apiClient) InstallPlugin(file io.Reader, replace bool) (*model.Manifest, *model.AppError) {
	args := &plugin.Z_InstallPluginArgs{PluginStreamID: api.serveReaderStream("InstallPlugin", file), B: replace}
	returns := &plugin.Z_InstallPluginReturns{}
	if err := api.client.Call("Plugin.InstallPlugin", args, returns); err != nil {
		return nil, callFailedAppError("InstallPlugin", err)
	}
	return returns.A, returns.B
}

func (api *apiClient) UploadData(us *model.UploadSession, rd io.Reader) (*model.FileInfo, error) {
	args := &plugin.Z_UploadDataArgs{A: us, PluginStreamID: api.serveReaderStream("UploadData", rd)}
	returns := &plugin.Z_UploadDataReturns{}
	if err := api.client.Call("Plugin.UploadData", args, returns); err != nil {
		return nil, callFailedError("UploadData", err)
	}
	return returns.A, decodeError(returns.B)
}

func (api *apiClient) ReceiveSharedChannelAttachmentSyncMsg(remoteID, channelID string, fi *model.FileInfo, data io.Reader) (*model.FileInfo, error) {
	args := &plugin.Z_ReceiveSharedChannelAttachmentSyncMsgArgs{
		A: remoteID, B: channelID, C: fi,
		DataStreamID: api.serveReaderStream("ReceiveSharedChannelAttachmentSyncMsg", data),
	}
	returns := &plugin.Z_ReceiveSharedChannelAttachmentSyncMsgReturns{}
	if err := api.client.Call("Plugin.ReceiveSharedChannelAttachmentSyncMsg", args, returns); err != nil {
		return nil, callFailedError("ReceiveSharedChannelAttachmentSyncMsg", err)
	}
	return returns.A, decodeError(returns.B)
}

// errNoPluginHTTPStream is net/rpc's answer from a server without Plugin.PluginHTTPStream.
const errNoPluginHTTPStream = "rpc: can't find method Plugin.PluginHTTPStream"

// PluginHTTP sends an inter-plugin request. It tries the streaming Plugin.PluginHTTPStream
// (request and response bodies on MuxBroker streams) and falls back to the buffered
// Plugin.PluginHTTP on servers without it, as Mattermost's client does. As with the stock
// API, a failure yields a nil response (logged).
func (api *apiClient) PluginHTTP(request *http.Request) *http.Response {
	resp, supported, err := api.pluginHTTPStream(request)
	if err != nil {
		api.logCallFailed("PluginHTTP", err)
		return nil
	}
	if supported {
		return resp
	}
	return api.pluginHTTPBuffered(request)
}

func requestSubset(r *http.Request) *plugin.HTTPRequestSubset {
	return &plugin.HTTPRequestSubset{
		Method:     r.Method,
		URL:        r.URL,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     r.Header,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: r.RequestURI,
	}
}

// pluginHTTPStream returns supported=false when the server lacks the streaming method.
func (api *apiClient) pluginHTTPStream(request *http.Request) (resp *http.Response, supported bool, err error) {
	var bodyID uint32
	if request.Body != nil {
		bodyID = api.serveReaderStream("PluginHTTP", request.Body)
	}
	// The server dials the response stream and copies the response body onto it raw, then
	// closes it. (Mattermost's client wraps it in the remote-reader protocol; the server never
	// reads those requests, so plain reads are equivalent.)
	broker, err := api.client.broker()
	if err != nil {
		return nil, false, err
	}
	respID := broker.NextId()
	respConn := make(chan net.Conn, 1)
	go func() {
		conn, err := broker.Accept(respID)
		if err != nil {
			api.log.Debug("the server did not open the PluginHTTP response stream", "error", err)
			respConn <- nil
			return
		}
		respConn <- conn
	}()

	args := &plugin.Z_PluginHTTPStreamArgs{ResponseBodyStream: respID, Request: requestSubset(request), RequestBodyStream: bodyID}
	returns := &plugin.Z_PluginHTTPStreamReturns{}
	if err := api.client.Call("Plugin.PluginHTTPStream", args, returns); err != nil {
		if err.Error() == errNoPluginHTTPStream {
			return nil, false, nil
		}
		return nil, true, fmt.Errorf("netrpc: PluginHTTPStream: %w", err)
	}
	conn := <-respConn
	if conn == nil {
		return nil, true, fmt.Errorf("netrpc: PluginHTTPStream: the server did not open the response body stream")
	}
	if returns.StatusCode == 0 {
		// The server's PluginHTTP gave no response (unknown plugin, for example); it then
		// never closes the body stream, so there is nothing to read.
		_ = conn.Close()
		return nil, true, nil
	}
	return &http.Response{
		StatusCode: returns.StatusCode,
		Status:     fmt.Sprintf("%d %s", returns.StatusCode, http.StatusText(returns.StatusCode)),
		Header:     returns.Header,
		Body:       conn,
		Proto:      request.Proto,
		ProtoMajor: request.ProtoMajor,
		ProtoMinor: request.ProtoMinor,
		Request:    request,
	}, true, nil
}

func (api *apiClient) pluginHTTPBuffered(request *http.Request) *http.Response {
	args := &plugin.Z_PluginHTTPArgs{Request: requestSubset(request)}
	if request.Body != nil {
		body, err := io.ReadAll(request.Body)
		_ = request.Body.Close()
		if err != nil {
			api.logCallFailed("PluginHTTP", fmt.Errorf("reading the request body: %w", err))
			return nil
		}
		args.RequestBody = body
	}
	returns := &plugin.Z_PluginHTTPReturns{}
	if err := api.client.Call("Plugin.PluginHTTP", args, returns); err != nil {
		api.logCallFailed("PluginHTTP", err)
		return nil
	}
	if returns.Response == nil {
		return nil
	}
	returns.Response.Body = io.NopCloser(bytes.NewReader(returns.ResponseBody))
	return returns.Response
}
