// Package gen holds the generator's input tables: the few places where the pinned Mattermost
// surface cannot be translated mechanically. Every emitter (proto, Go converters, Go glue,
// Python SDK, netrpc) reads the same table, so a special case is decided once, here, and never
// by patching generated output.
//
// The package is data only; the typed intermediate representation that applies it lives in
// internal/gen/ir.
package gen

import (
	"reflect"

	"github.com/mattermost/mattermost/server/public/model"
)

// Kind says how a method departs from the plain unary request/response mapping.
type Kind int

const (
	// KindPlain is the default: one unary RPC, one request field per parameter, one response
	// field per result.
	KindPlain Kind = iota
	// KindHTTPHook is a hook taking (c *Context, w http.ResponseWriter, r *http.Request): a
	// bidirectional stream. Host → plugin: HTTPRequestHead (with the plugin context), body
	// chunks, StreamEnd. Plugin → host: HTTPResponseHead, body chunks, HTTPFlush markers,
	// StreamEnd. Hijacking (websocket upgrade) is not supported over this protocol.
	KindHTTPHook
	// KindPluginHTTP is API.PluginHTTP(*http.Request) *http.Response: the same bidirectional
	// shape as KindHTTPHook with the roles reversed (plugin sends the request).
	KindPluginHTTP
	// KindUploadHook is Hooks.FileWillBeUploaded(c, info, file io.Reader, output io.Writer):
	// bidirectional. Host → plugin: head (context, file info), upload chunks, StreamEnd.
	// Plugin → host: replacement chunks (if any), then one FileWillBeUploadedResult.
	KindUploadHook
	// KindReaderUpload is an API method with one io.Reader parameter: client streaming.
	// The first message carries the other parameters (the "head"), the following ones the
	// reader's bytes as StreamChunk; closing the send side is EOF. The response is unary.
	KindReaderUpload
	// KindPluginConfigJSON is API.LoadPluginConfiguration(dest any) error: dest is a Go
	// out-parameter, so the RPC takes nothing and returns the plugin's configuration as JSON
	// bytes (exactly what Mattermost's own RPC sends); the SDK unmarshals it.
	KindPluginConfigJSON
	// KindOutParam is a method whose slice parameter is filled by the callee (Driver.RowsNext's
	// dest): the parameter crosses in the request (its length matters) and comes back in the
	// response under the same name.
	KindOutParam
)

// Special describes one special-cased method.
type Special struct {
	Kind Kind
	// Why is the reason, copied into the generated proto as a comment.
	Why string
	// OutParam names the parameter of a KindOutParam method.
	OutParam string
}

// APISpecial lists the plugin.API methods that are not plain unary calls.
var APISpecial = map[string]Special{
	"LoadPluginConfiguration": {Kind: KindPluginConfigJSON,
		Why: "dest is a Go out-parameter; the configuration crosses as JSON bytes, as in Mattermost's RPC"},
	"PluginHTTP": {Kind: KindPluginHTTP,
		Why: "*http.Request and *http.Response bodies are streamed both ways"},
	"InstallPlugin": {Kind: KindReaderUpload,
		Why: "the plugin bundle is an io.Reader, streamed in chunks after the head"},
	"UploadData": {Kind: KindReaderUpload,
		Why: "the upload is an io.Reader, streamed in chunks after the head"},
	"ReceiveSharedChannelAttachmentSyncMsg": {Kind: KindReaderUpload,
		Why: "the attachment is an io.Reader, streamed in chunks after the head"},
}

// HooksSpecial lists the plugin.Hooks methods that are not plain unary calls. What every hook
// returns is decided in HookResults (hookresults.go).
var HooksSpecial = map[string]Special{
	"ServeHTTP": {Kind: KindHTTPHook,
		Why: "http.ResponseWriter and *http.Request are streamed both ways"},
	"ServeMetrics": {Kind: KindHTTPHook,
		Why: "http.ResponseWriter and *http.Request are streamed both ways"},
	"FileWillBeUploaded": {Kind: KindUploadHook,
		Why: "the upload (io.Reader) and its replacement (io.Writer) are streamed"},
}

// DriverSpecial lists the plugin.Driver methods that are not plain unary calls.
var DriverSpecial = map[string]Special{
	"RowsNext": {Kind: KindOutParam, OutParam: "dest",
		Why: "dest is filled by the server; Mattermost's RPC returns it in the reply"},
}

// ContextParamName is the request field name of a hook's *plugin.Context parameter,
// whatever the Go parameter is called (usually "c").
const ContextParamName = "context"

// PackagePrefixes gives the proto message-name prefix for Go packages outside package model
// whose types are reachable. Types of package model get no prefix; a package missing here is
// an error, so a new dependency is named consciously.
var PackagePrefixes = map[string]string{
	"github.com/mattermost/mattermost/server/public/model":  "",
	"github.com/mattermost/mattermost/server/public/plugin": "Plugin",
	"github.com/mattermost/gosaml2":                         "Saml2",
	"github.com/mattermost/gosaml2/types":                   "Saml2Types",
	"github.com/mattermost/logr/v2":                         "Mlog", // mlog.Level is an alias of logr.Level
	"database/sql/driver":                                   "Driver",
	"encoding/xml":                                          "Xml",
}

// GobType is one type Mattermost registers with encoding/gob.
type GobType struct {
	// Name is the name gob sends (gob.RegisterName's first argument, else the type string).
	Name string
	// Type is the registered Go type.
	Type reflect.Type
}

// GobTypes are the types Mattermost registers with encoding/gob (plugin/client_rpc.go init),
// i.e. the only non-builtin dynamic types an `any` value may hold on the netrpc wire. They are
// the TypedValue registry and extra roots of the type walk (AutocompleteArg.Data holds the
// Autocomplete*Arg types, which no static field type reaches). []any and map[string]any are
// native Value kinds; *model.AppError and *plugin.ErrorString are errors (AppError / Error
// messages), *pq.Error never reaches a plugin: none of those is listed.
var GobTypes = []GobType{
	{"[]*model.SlackAttachment", reflect.TypeFor[[]*model.MessageAttachment]()},
	{"*model.AutocompleteDynamicListArg", reflect.TypeFor[*model.AutocompleteDynamicListArg]()},
	{"*model.AutocompleteStaticListArg", reflect.TypeFor[*model.AutocompleteStaticListArg]()},
	{"*model.AutocompleteTextArg", reflect.TypeFor[*model.AutocompleteTextArg]()},
	{"*model.PreviewPost", reflect.TypeFor[*model.PreviewPost]()},
	{"model.PropertyOptions[*model.PluginPropertyOption]",
		reflect.TypeFor[model.PropertyOptions[*model.PluginPropertyOption]]()},
	{"[]model.PropertyOwner", reflect.TypeFor[[]model.PropertyOwner]()},
}

// HandWrittenMessages maps Go types to messages the proto generator writes by hand rather
// than by reflection: *model.AppError keeps its unexported params (the errors converter
// reads them), which reflection over exported fields would lose.
var HandWrittenMessages = map[string]string{
	"github.com/mattermost/mattermost/server/public/model.AppError": "AppError",
}
