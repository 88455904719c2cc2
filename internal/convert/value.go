package convert

import (
	"fmt"
	"reflect"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// typedCodec converts one gob-registered model type inside a Value (the TypedValue registry;
// typedCodecs is generated from internal/gen/special.go's GobTypes).
type typedCodec struct {
	name   string
	goType reflect.Type
	// toProto returns the message carrying v, or isNil for a typed nil pointer.
	toProto func(v any) (m proto.Message, isNil bool, err error)
	// fromProto decodes TypedValue.data (isNil: return the typed nil).
	fromProto func(data []byte, isNil bool) (any, error)
}

var (
	typedByGo   = map[reflect.Type]*typedCodec{}
	typedByName = map[string]*typedCodec{}
	typedNames  []string
)

func init() {
	codecs := typedCodecList()
	for i := range codecs {
		c := &codecs[i]
		typedByGo[c.goType] = c
		typedByName[c.name] = c
		typedNames = append(typedNames, c.name)
	}
}

// TypedValueNames returns the TypedValue registry names (sorted), for docs and tests.
func TypedValueNames() []string { return append([]string(nil), typedNames...) }

// ValueToProto converts a Go dynamic value, keeping its Go type: nil, bool, int, int32, int64,
// uint64, float32, float64, string, []byte, []any, map[string]any, []string,
// map[string]string, time.Time, and the gob-registered model types. Any other type is an
// error naming it (Mattermost's gob RPC rejects the same values). Never returns a nil *Value
// without an error.
func ValueToProto(v any) (*pb.Value, error) {
	switch x := v.(type) {
	case nil:
		return &pb.Value{}, nil
	case bool:
		return &pb.Value{Kind: &pb.Value_BoolValue{BoolValue: x}}, nil
	case int:
		return &pb.Value{Kind: &pb.Value_IntValue{IntValue: int64(x)}}, nil
	case int64:
		return &pb.Value{Kind: &pb.Value_Int64Value{Int64Value: x}}, nil
	case int32:
		return &pb.Value{Kind: &pb.Value_Int32Value{Int32Value: x}}, nil
	case uint64:
		return &pb.Value{Kind: &pb.Value_Uint64Value{Uint64Value: x}}, nil
	case float64:
		return &pb.Value{Kind: &pb.Value_Float64Value{Float64Value: x}}, nil
	case float32:
		return &pb.Value{Kind: &pb.Value_Float32Value{Float32Value: x}}, nil
	case string:
		return &pb.Value{Kind: &pb.Value_StringValue{StringValue: x}}, nil
	case []byte:
		if x == nil {
			return &pb.Value{Kind: &pb.Value_BytesValue{BytesValue: []byte{}}, IsNil: true}, nil
		}
		return &pb.Value{Kind: &pb.Value_BytesValue{BytesValue: x}}, nil
	case []any:
		list := &pb.ValueList{}
		if len(x) > 0 {
			list.Values = make([]*pb.Value, len(x))
			for i, e := range x {
				pv, err := ValueToProto(e)
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				list.Values[i] = pv
			}
		}
		return &pb.Value{Kind: &pb.Value_ListValue{ListValue: list}, IsNil: x == nil}, nil
	case map[string]any:
		m := &pb.ValueMap{}
		if len(x) > 0 {
			m.Values = make(map[string]*pb.Value, len(x))
			for k, e := range x {
				pv, err := ValueToProto(e)
				if err != nil {
					return nil, fmt.Errorf("[%q]: %w", k, err)
				}
				m.Values[k] = pv
			}
		}
		return &pb.Value{Kind: &pb.Value_MapValue{MapValue: m}, IsNil: x == nil}, nil
	case []string:
		return &pb.Value{Kind: &pb.Value_StringListValue{StringListValue: &pb.StringList{Values: x}}, IsNil: x == nil}, nil
	case map[string]string:
		return &pb.Value{Kind: &pb.Value_StringMapValue{StringMapValue: &pb.StringMap{Values: x}}, IsNil: x == nil}, nil
	case time.Time:
		return &pb.Value{Kind: &pb.Value_TimeValue{TimeValue: timestamppb.New(x)}}, nil
	}
	c := typedByGo[reflect.TypeOf(v)]
	if c == nil {
		return nil, fmt.Errorf("%w: dynamic value of Go type %T is not one of the types an `any` may hold (see docs/protocol.md, Dynamic values)", ErrNotRepresentable, v)
	}
	m, isNil, err := c.toProto(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	tv := &pb.TypedValue{Type: c.name}
	if !isNil {
		if tv.Data, err = proto.Marshal(m); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return &pb.Value{Kind: &pb.Value_TypedValue{TypedValue: tv}, IsNil: isNil}, nil
}

// ValueFromProto converts back to the same Go dynamic value (nil → nil).
func ValueFromProto(v *pb.Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k := v.Kind.(type) {
	case nil:
		return nil, nil
	case *pb.Value_BoolValue:
		return k.BoolValue, nil
	case *pb.Value_IntValue:
		return int(k.IntValue), nil
	case *pb.Value_Int64Value:
		return k.Int64Value, nil
	case *pb.Value_Int32Value:
		return k.Int32Value, nil
	case *pb.Value_Uint64Value:
		return k.Uint64Value, nil
	case *pb.Value_Float64Value:
		return k.Float64Value, nil
	case *pb.Value_Float32Value:
		return k.Float32Value, nil
	case *pb.Value_StringValue:
		return k.StringValue, nil
	case *pb.Value_BytesValue:
		if v.IsNil {
			return []byte(nil), nil
		}
		if k.BytesValue == nil {
			return []byte{}, nil
		}
		return k.BytesValue, nil
	case *pb.Value_ListValue:
		if v.IsNil {
			return []any(nil), nil
		}
		values := k.ListValue.GetValues()
		out := make([]any, len(values))
		for i, e := range values {
			gv, err := ValueFromProto(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = gv
		}
		return out, nil
	case *pb.Value_MapValue:
		if v.IsNil {
			return map[string]any(nil), nil
		}
		values := k.MapValue.GetValues()
		out := make(map[string]any, len(values))
		for key, e := range values {
			gv, err := ValueFromProto(e)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", key, err)
			}
			out[key] = gv
		}
		return out, nil
	case *pb.Value_StringListValue:
		if v.IsNil {
			return []string(nil), nil
		}
		if s := k.StringListValue.GetValues(); s != nil {
			return s, nil
		}
		return []string{}, nil
	case *pb.Value_StringMapValue:
		if v.IsNil {
			return map[string]string(nil), nil
		}
		if m := k.StringMapValue.GetValues(); m != nil {
			return m, nil
		}
		return map[string]string{}, nil
	case *pb.Value_TimeValue:
		return timeFromProto(k.TimeValue), nil
	case *pb.Value_TypedValue:
		c := typedByName[k.TypedValue.GetType()]
		if c == nil {
			return nil, fmt.Errorf("%w: unknown TypedValue type %q (known: %v)", ErrNotRepresentable, k.TypedValue.GetType(), TypedValueNames())
		}
		out, err := c.fromProto(k.TypedValue.GetData(), v.IsNil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: Value kind %T is newer than this host; upgrade mmplugin-host", ErrNotRepresentable, v.Kind)
}

// stringify renders a value that cannot cross as Value (used only for AppError params, where
// losing the type is better than losing the error).
func stringify(v any) string { return fmt.Sprint(v) }
