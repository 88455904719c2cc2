// Package ir is the typed intermediate representation of the pinned Mattermost plugin surface:
// every plugin.API, plugin.Hooks and plugin.Driver method and every Go type reachable from
// them, already mapped to protocol names and field numbers.
//
// All emitters (proto files, Go converters, Go glue, Python SDK, netrpc) consume the same
// *Surface, so a naming or numbering decision is taken exactly once. Types come from
// reflection over the compiled module (what gob really sends); parameter names, doc comments,
// "@tag" and "Minimum server version" notes come from go/ast over the module's source, which
// reflection cannot see.
//
// Typical use:
//
//	s, err := ir.Load(ir.Options{FieldNumbersPath: "proto/fieldnumbers.json"})
//	for _, m := range s.API { ... m.Params, m.Results, m.ErrorStyle ... }
//	for _, t := range s.Types { ... t.Name, t.Fields ... }
package ir

import (
	"reflect"

	"github.com/mmplugin/mmplugin/internal/gen"
)

// Service identifies one of the three Go interfaces.
type Service int

const (
	ServiceAPI    Service = iota // plugin.API, served by the host
	ServiceHooks                 // plugin.Hooks, served by the plugin process
	ServiceDriver                // plugin.Driver, served by the host
)

// ProtoService returns the proto service name.
func (s Service) ProtoService() string {
	return [...]string{"PluginAPIService", "PluginHooksService", "PluginDriverService"}[s]
}

// ErrorStyle is how a method reports failure.
type ErrorStyle int

const (
	ErrorNone  ErrorStyle = iota // no error result
	ErrorApp                     // last result is *model.AppError → response field app_error
	ErrorPlain                   // last result is error → response field error
)

// Surface is the whole pinned surface.
type Surface struct {
	// Module and Version identify the pinned Mattermost module.
	Module, Version string
	// API, Hooks and Driver hold the interface methods in source order.
	API, Hooks, Driver []*Method
	// Types holds one entry per generated model message, sorted by Name.
	Types []*Type
	// Wrappers holds the ListOf…/MapOf… messages for nested containers, sorted by Name.
	Wrappers []*Wrapper
	// Dynamic is the TypedValue registry: the gob-registered types an `any` may hold.
	Dynamic []*DynamicType
	// Numbers is the field-number table after this load (new fields numbered); write it back
	// with Numbers.Save.
	Numbers *FieldNumbers

	byGo     map[reflect.Type]*Type
	wrappers map[string]*Wrapper
	refs     map[reflect.Type]*TypeRef
	frozen   bool
}

// Methods returns the methods of one service.
func (s *Surface) Methods(svc Service) []*Method {
	return [...][]*Method{s.API, s.Hooks, s.Driver}[svc]
}

// TypeOf returns the message type for a Go struct type (pointer or not), or nil.
func (s *Surface) TypeOf(t reflect.Type) *Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return s.byGo[t]
}

// Ref returns the TypeRef describing how any reachable Go type crosses the wire, or nil when
// the type was not reached by the walk.
func (s *Surface) Ref(t reflect.Type) *TypeRef { return s.refs[t] }

// Method is one interface method.
type Method struct {
	Service Service
	// Name is the Go method name, also the RPC name.
	Name string
	// Doc is the Go doc comment without the "@tag" and "Minimum server version" lines.
	Doc string
	// MinVersion is the "Minimum server version" note ("" when the source has none).
	MinVersion string
	// Tags are the "@tag" notes (API only).
	Tags []string
	// Params are the Go parameters in order, including stream parameters.
	Params []*Param
	// Results are the non-error Go results in order.
	Results []*Param
	// ErrorStyle says whether the Go method returns *model.AppError, error or neither.
	ErrorStyle ErrorStyle
	// ErrorNumber is the response field number of app_error / error.
	ErrorNumber int32
	// Variadic is true when the last parameter is variadic (...any → repeated Value).
	Variadic bool
	// Special is the generator-table entry (Kind == gen.KindPlain when none).
	Special gen.Special
	// Result is the hook's row of gen.HookResults (hooks only).
	Result gen.HookResult

	// RequestMessage is the message carrying RequestFields: "<Name>Request" for unary RPCs,
	// "<Name>RequestHead" (the first message) for KindReaderUpload and KindUploadHook, ""
	// for the HTTP kinds, whose head is the shared HTTPRequestHead.
	RequestMessage string
	// RequestFields are the parameters in RequestMessage (streams and out-only parameters
	// excluded; a hook's context included, named "context").
	RequestFields []*Param
	// RequestEmpty is the number of RequestMessage's `empty` field (0: none).
	RequestEmpty int32
	// ResponseMessage is the message carrying ResponseFields and the error:
	// "<Name>Response", "FileWillBeUploadedResult" for KindUploadHook, "" for the HTTP kinds.
	ResponseMessage string
	// ResponseFields are the results (plus the out parameter of KindOutParam and the
	// config_json bytes of KindPluginConfigJSON).
	ResponseFields []*Param
	// ResponseEmpty is the number of ResponseMessage's `empty` field (0: none).
	ResponseEmpty int32
	// Func is the reflect type of the method (without receiver).
	Func reflect.Type
}

// RequestName and ResponseName are the RPC's own message names (the stream message for
// streaming RPCs, which may differ from RequestMessage / ResponseMessage).
func (m *Method) RequestName() string  { return m.Name + "Request" }
func (m *Method) ResponseName() string { return m.Name + "Response" }

// ErrorField returns the response field name carrying the error ("" for ErrorNone).
func (m *Method) ErrorField() string {
	return [...]string{"", "app_error", "error"}[m.ErrorStyle]
}

// Streaming reports whether the RPC is a gRPC stream (client or bidirectional).
func (m *Method) Streaming() bool {
	switch m.Special.Kind {
	case gen.KindHTTPHook, gen.KindPluginHTTP, gen.KindUploadHook, gen.KindReaderUpload:
		return true
	}
	return false
}

// Param is a Go parameter or result with its protocol field.
type Param struct {
	// GoName is the Go parameter name ("" for unnamed results).
	GoName string
	// ProtoName is the request/response field name.
	ProtoName string
	// Number is the field number in the request/response (or head) message.
	Number int32
	// Type says how the value crosses; Kind == KindStream for io and http parameters.
	Type *TypeRef
	// IsContext is true for a hook's *plugin.Context parameter.
	IsContext bool
}

// Kind classifies how a Go type crosses the wire.
type Kind int

const (
	KindInvalid   Kind = iota
	KindScalar         // bool, string, integers, floats, and named types of them
	KindBytes          // []byte, json.RawMessage and other named byte slices
	KindMessage        // a struct with its own generated message (Type)
	KindTimestamp      // time.Time → google.protobuf.Timestamp
	KindValue          // any and other non-error interfaces → Value
	KindError          // error → Error
	KindAppError       // model.AppError → AppError (hand-written message)
	KindList           // slice or array
	KindMap            // map
	KindPointer        // pointer to Elem
	KindStream         // io.Reader, io.Writer, http.ResponseWriter, *http.Request, *http.Response
)

// TypeRef describes one Go type and how it is encoded.
type TypeRef struct {
	Go   reflect.Type
	Kind Kind
	// Scalar is the proto scalar type for KindScalar ("string", "int64", "bool", ...).
	Scalar string
	// Elem is the element of KindList, the value of KindMap and the target of KindPointer.
	Elem *TypeRef
	// Key is the key of KindMap (always KindScalar).
	Key *TypeRef
	// Message is the generated message of KindMessage.
	Message *Type
	// ArrayLen is the length of a Go array, -1 for a slice.
	ArrayLen int
}

// Type is one generated model message (a Go struct).
type Type struct {
	// Go is the struct type (never a pointer).
	Go reflect.Type
	// Name is the proto message name (model.Post → Post, plugin.Context → PluginContext).
	Name string
	// GoPkg and GoName spell the Go type ("…/model", "Post").
	GoPkg, GoName string
	// Fields are the exported, encodable fields in Go order (embedded structs are one field).
	Fields []*Field
	// Skipped lists exported fields that cannot cross (func/chan), with the reason.
	Skipped []string
	// EmptyNumber is the number of the `repeated uint32 empty` field; 0 when the message has
	// no slice, map or bytes field.
	EmptyNumber int32
	// Reserved lists numbers of fields removed from the Go type (kept reserved forever).
	Reserved []ReservedField
	// Dynamic is true when the type is also in the TypedValue registry.
	Dynamic bool
}

// ReservedField is a field number that once belonged to a removed field.
type ReservedField struct {
	Name   string
	Number int32
}

// Field is one struct field.
type Field struct {
	// GoName is the Go field name (the type name for an embedded struct).
	GoName string
	// Index is the reflect field index in the struct.
	Index int
	// ProtoName is the lower_snake_case proto field name.
	ProtoName string
	// JSONName is the json tag name ("" when absent or "-").
	JSONName string
	// Number is the stable field number.
	Number int32
	// Type is the field's Go type.
	Type *TypeRef
	// Embedded is true for an embedded struct.
	Embedded bool
}

// Wrapper is a ListOf…/MapOf… message: a nested container or a pointer to a container, which
// proto cannot express as a plain field. It has `items` (1) and `empty` (2).
type Wrapper struct {
	Name string
	// Items is the container (KindList or KindMap; the pointer is stripped).
	Items *TypeRef
}

// DynamicType is one entry of the TypedValue registry.
type DynamicType struct {
	// Name is the TypedValue.type string.
	Name string
	// Go is the registered Go type.
	Go reflect.Type
	// Ref is how the value is encoded: a KindPointer/KindMessage or a container whose
	// Message says which message carries it (a Wrapper for slices).
	Ref *TypeRef
	// Message is the proto message whose encoding is TypedValue.data.
	Message string
}
