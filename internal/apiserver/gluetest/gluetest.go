// Package gluetest is test support for the generated Go glue (internal/apiserver and
// internal/hooksclient): random Go values for method parameters and results, and an
// independent, reflection-based mapping between those values and the request/response
// messages, so a test can build a request from Go arguments and read Go results back from a
// response without going through the generated code it checks.
//
// The mapping follows docs/protocol.md (fields named by the IR, nil-vs-empty in `empty`,
// model messages through internal/convert's Models codecs); it covers the shapes that occur
// as method parameters and results.
package gluetest

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/mmplugin/mmplugin/internal/convert"
	"github.com/mmplugin/mmplugin/internal/gen/ir"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// Filler makes deterministic random values. Structs get their exported scalar fields set
// (deep model fidelity is internal/convert's round-trip tests' job; here values only need to
// be distinct enough that a swapped or dropped argument shows).
type Filler struct{ r *rand.Rand }

// NewFiller returns a Filler with a fixed seed.
func NewFiller(seed uint64) *Filler { return &Filler{r: rand.New(rand.NewPCG(seed, seed+1))} }

var (
	timeType  = reflect.TypeFor[time.Time]()
	errorType = reflect.TypeFor[error]()
)

func (f *Filler) str() string { return fmt.Sprintf("s%d-ü", f.r.IntN(1_000_000)) }

// Value returns a random value of t.
func (f *Filler) Value(t reflect.Type) reflect.Value { return f.fill(t, 2) }

func (f *Filler) fill(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(time.Unix(f.r.Int64N(2_000_000_000), 0).UTC()))
		return v
	case t == errorType:
		v.Set(reflect.ValueOf(io.EOF)) // a sentinel: it crosses as itself
		return v
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1 + f.r.Int64N(100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1 + f.r.Uint64N(100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(1+f.r.IntN(100)) / 4)
	case reflect.String:
		v.SetString(f.str())
	case reflect.Interface:
		if t.NumMethod() == 0 {
			v.Set(reflect.ValueOf(f.str()))
		}
	case reflect.Pointer:
		if depth > 0 {
			v.Set(f.fill(t.Elem(), depth-1).Addr())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, 1+f.r.IntN(16))
			for i := range b {
				b[i] = byte(f.r.IntN(256))
			}
			v.Set(reflect.ValueOf(b).Convert(t))
		} else if depth > 0 {
			v.Set(reflect.MakeSlice(t, 2, 2))
			for i := range 2 {
				v.Index(i).Set(f.fill(t.Elem(), depth-1))
			}
		}
	case reflect.Map:
		if depth > 0 {
			v.Set(reflect.MakeMap(t))
			for range 2 {
				v.SetMapIndex(f.fill(t.Key(), 0), f.fill(t.Elem(), depth-1))
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			switch sf.Type.Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
				reflect.Float32, reflect.Float64, reflect.String:
				v.Field(i).Set(f.fill(sf.Type, 0))
			}
		}
	}
	return v
}

// AppError returns a distinctive *model.AppError with params.
func (f *Filler) AppError(where string) *model.AppError {
	return model.NewAppError(where, "app.test."+f.str(), map[string]any{"N": f.r.IntN(100), "S": f.str()},
		"detailed "+f.str(), 400+f.r.IntN(100))
}

// PlainError returns alternately a sentinel (which must cross as itself) and a plain error
// (which crosses as its message).
func (f *Filler) PlainError() error {
	if f.r.IntN(2) == 0 {
		return sql.ErrNoRows
	}
	return errors.New("plain failure " + f.str())
}

// codecs maps a message name to its model codec.
var codecs = func() map[protoreflect.Name]convert.ModelCodec {
	m := map[protoreflect.Name]convert.ModelCodec{}
	for _, c := range convert.Models {
		m[protoreflect.Name(c.Name)] = c
	}
	return m
}()

// NewMessage returns an empty message of the given mmplugin.v1 name.
func NewMessage(name string) (protoreflect.Message, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("mmplugin.v1." + name))
	if err != nil {
		return nil, err
	}
	return mt.New(), nil
}

func field(m protoreflect.Message, name string) (protoreflect.FieldDescriptor, error) {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		return nil, fmt.Errorf("%s has no field %s", m.Descriptor().FullName(), name)
	}
	return fd, nil
}

// Set sets field name of m from the Go value v and records an empty-but-not-nil container in
// m's `empty` field.
func Set(m protoreflect.Message, name string, v reflect.Value) error {
	fd, err := field(m, name)
	if err != nil {
		return err
	}
	k := v.Kind()
	if (k == reflect.Slice || k == reflect.Map) && !v.IsNil() && v.Len() == 0 {
		if efd := m.Descriptor().Fields().ByName("empty"); efd != nil {
			m.Mutable(efd).List().Append(protoreflect.ValueOfUint32(uint32(fd.Number())))
		}
	}
	switch {
	case fd.IsList():
		l := m.Mutable(fd).List()
		for i := range v.Len() {
			pv, err := toPV(fd, v.Index(i), l.NewElement)
			if err != nil {
				return fmt.Errorf("%s[%d]: %w", name, i, err)
			}
			l.Append(pv)
		}
	case fd.IsMap():
		mp := m.Mutable(fd).Map()
		it := v.MapRange()
		for it.Next() {
			pv, err := toPV(fd.MapValue(), it.Value(), mp.NewValue)
			if err != nil {
				return fmt.Errorf("%s[%v]: %w", name, it.Key(), err)
			}
			mp.Set(protoreflect.MapKey(protoreflect.ValueOfString(it.Key().String())), pv)
		}
	default:
		if fd.Message() != nil && (k == reflect.Pointer || k == reflect.Interface) && v.IsNil() {
			return nil // unset = nil
		}
		pv, err := toPV(fd, v, func() protoreflect.Value { return m.NewField(fd) })
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.Set(fd, pv)
	}
	return nil
}

func toPV(fd protoreflect.FieldDescriptor, v reflect.Value, _ func() protoreflect.Value) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(v.Bool()), nil
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(v.String()), nil
	case protoreflect.Int64Kind:
		if v.CanUint() {
			return protoreflect.ValueOfInt64(int64(v.Uint())), nil
		}
		return protoreflect.ValueOfInt64(v.Int()), nil
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(v.Int())), nil
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(uint32(v.Uint())), nil
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(v.Uint()), nil
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(v.Float()), nil
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(v.Float())), nil
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(v.Bytes()), nil
	case protoreflect.MessageKind:
		var msg proto.Message
		var err error
		switch name := fd.Message().Name(); name {
		case "Value":
			var x any
			if v.IsValid() && !(v.Kind() == reflect.Interface && v.IsNil()) {
				x = v.Interface()
			}
			msg, err = convert.ValueToProto(x)
		case "AppError":
			msg = convert.AppErrorToProto(v.Interface().(*model.AppError))
		case "Error":
			e, _ := v.Interface().(error)
			msg = convert.ErrorToProto(e)
		default:
			c, ok := codecs[name]
			if !ok {
				return protoreflect.Value{}, fmt.Errorf("no codec for message %s", name)
			}
			if v.Kind() != reflect.Pointer {
				p := reflect.New(v.Type())
				p.Elem().Set(v)
				v = p
			}
			msg, err = c.ToProto(v.Interface())
		}
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfMessage(msg.ProtoReflect()), nil
	}
	return protoreflect.Value{}, fmt.Errorf("field kind %v not handled", fd.Kind())
}

// Get converts field name of m to a Go value of type t.
func Get(m protoreflect.Message, name string, t reflect.Type) (reflect.Value, error) {
	fd, err := field(m, name)
	if err != nil {
		return reflect.Value{}, err
	}
	marked := false
	if efd := m.Descriptor().Fields().ByName("empty"); efd != nil {
		l := m.Get(efd).List()
		for i := range l.Len() {
			marked = marked || l.Get(i).Uint() == uint64(fd.Number())
		}
	}
	out := reflect.New(t).Elem()
	switch {
	case fd.IsList():
		l := m.Get(fd).List()
		if l.Len() == 0 {
			if marked {
				out.Set(reflect.MakeSlice(t, 0, 0))
			}
			return out, nil
		}
		out.Set(reflect.MakeSlice(t, l.Len(), l.Len()))
		for i := range l.Len() {
			ev, err := fromPV(fd, l.Get(i), t.Elem())
			if err != nil {
				return out, fmt.Errorf("%s[%d]: %w", name, i, err)
			}
			out.Index(i).Set(ev)
		}
	case fd.IsMap():
		mp := m.Get(fd).Map()
		if mp.Len() == 0 {
			if marked {
				out.Set(reflect.MakeMap(t))
			}
			return out, nil
		}
		out.Set(reflect.MakeMap(t))
		var ferr error
		mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			ev, err := fromPV(fd.MapValue(), v, t.Elem())
			if err != nil {
				ferr = err
				return false
			}
			out.SetMapIndex(reflect.ValueOf(k.String()).Convert(t.Key()), ev)
			return true
		})
		return out, ferr
	default:
		if fd.Message() != nil && !m.Has(fd) {
			return out, nil
		}
		if fd.Kind() == protoreflect.BytesKind && len(m.Get(fd).Bytes()) == 0 {
			if marked {
				out.Set(reflect.MakeSlice(t, 0, 0))
			}
			return out, nil
		}
		return fromPV(fd, m.Get(fd), t)
	}
	return out, nil
}

func fromPV(fd protoreflect.FieldDescriptor, pv protoreflect.Value, t reflect.Type) (reflect.Value, error) {
	out := reflect.New(t).Elem()
	if fd.Kind() != protoreflect.MessageKind {
		out.Set(reflect.ValueOf(pv.Interface()).Convert(t))
		return out, nil
	}
	msg := pv.Message().Interface()
	var x any
	var err error
	switch name := fd.Message().Name(); name {
	case "Value":
		x, err = convert.ValueFromProto(msg.(*pb.Value))
	case "AppError":
		x = convert.AppErrorFromProto(msg.(*pb.AppError))
	case "Error":
		x = convert.ErrorFromProto(msg.(*pb.Error))
	default:
		c, ok := codecs[name]
		if !ok {
			return out, fmt.Errorf("no codec for message %s", name)
		}
		x, err = c.FromProto(msg)
		if err == nil && t.Kind() != reflect.Pointer {
			x = reflect.ValueOf(x).Elem().Interface()
		}
	}
	if err != nil {
		return out, err
	}
	if x != nil {
		out.Set(reflect.ValueOf(x))
	}
	return out, nil
}

// FlatArgs returns a call's arguments as a mock records them: variadic ones spread out.
func FlatArgs(m *ir.Method, args []reflect.Value) []any {
	var out []any
	for i, a := range args {
		if m.Variadic && i == len(args)-1 {
			for j := range a.Len() {
				out = append(out, a.Index(j).Interface())
			}
			continue
		}
		out = append(out, a.Interface())
	}
	return out
}

// SameError reports whether got is what want becomes after crossing the wire: an AppError
// with every field, a sentinel as itself, any other error as its message.
func SameError(want, got error) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	if slices.Contains([]error{io.EOF, sql.ErrNoRows}, want) {
		return got == want //nolint:errorlint // identity is the point
	}
	return want.Error() == got.Error()
}
