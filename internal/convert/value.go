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
//
// A []any or map[string]any is written flat (Value.nodes, pre-order), whatever its depth, so
// that the message's protobuf nesting does not grow with the value's (docs/protocol.md,
// Dynamic values).
func ValueToProto(v any) (*pb.Value, error) {
	switch v.(type) {
	case []any, map[string]any:
		nodes, err := appendNodes(nil, "", v)
		if err != nil {
			return nil, err
		}
		return &pb.Value{Nodes: nodes}, nil
	}
	return scalarValueToProto(v)
}

// scalarValueToProto is ValueToProto for everything but []any and map[string]any.
func scalarValueToProto(v any) (*pb.Value, error) {
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
	case []string:
		return &pb.Value{Kind: &pb.Value_StringListValue{StringListValue: &pb.StringList{Values: x}}, IsNil: x == nil}, nil
	case map[string]string:
		return &pb.Value{Kind: &pb.Value_StringMapValue{StringMapValue: &pb.StringMap{Values: x}}, IsNil: x == nil}, nil
	case time.Time:
		return &pb.Value{Kind: &pb.Value_TimeValue{TimeValue: timestamppb.New(x)}}, nil
	}
	tv, isNil, err := typedToProto(v)
	if err != nil {
		return nil, err
	}
	return &pb.Value{Kind: &pb.Value_TypedValue{TypedValue: tv}, IsNil: isNil}, nil
}

// appendNodes appends v (and, for a []any or map[string]any, its elements after it) as flat
// nodes; key is v's key in its parent map. Recursion depth is the value's depth, which Go's
// growable stacks handle; only the wire form must stay flat.
func appendNodes(nodes []*pb.ValueNode, key string, v any) ([]*pb.ValueNode, error) {
	n := &pb.ValueNode{Key: key}
	nodes = append(nodes, n)
	switch x := v.(type) {
	case nil:
	case []any:
		n.Kind, n.IsNil = &pb.ValueNode_ListLen{ListLen: uint32(len(x))}, x == nil
		for i, e := range x {
			var err error
			if nodes, err = appendNodes(nodes, "", e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case map[string]any:
		n.Kind, n.IsNil = &pb.ValueNode_MapLen{MapLen: uint32(len(x))}, x == nil
		for k, e := range x {
			var err error
			if nodes, err = appendNodes(nodes, k, e); err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
		}
	case bool:
		n.Kind = &pb.ValueNode_BoolValue{BoolValue: x}
	case int:
		n.Kind = &pb.ValueNode_IntValue{IntValue: int64(x)}
	case int64:
		n.Kind = &pb.ValueNode_Int64Value{Int64Value: x}
	case int32:
		n.Kind = &pb.ValueNode_Int32Value{Int32Value: x}
	case uint64:
		n.Kind = &pb.ValueNode_Uint64Value{Uint64Value: x}
	case float64:
		n.Kind = &pb.ValueNode_Float64Value{Float64Value: x}
	case float32:
		n.Kind = &pb.ValueNode_Float32Value{Float32Value: x}
	case string:
		n.Kind = &pb.ValueNode_StringValue{StringValue: x}
	case []byte:
		if x == nil {
			x = []byte{}
			n.IsNil = true
		}
		n.Kind = &pb.ValueNode_BytesValue{BytesValue: x}
	case []string:
		n.Kind, n.IsNil = &pb.ValueNode_StringListValue{StringListValue: &pb.StringList{Values: x}}, x == nil
	case map[string]string:
		n.Kind, n.IsNil = &pb.ValueNode_StringMapValue{StringMapValue: &pb.StringMap{Values: x}}, x == nil
	case time.Time:
		n.Kind = &pb.ValueNode_TimeValue{TimeValue: timestamppb.New(x)}
	default:
		tv, isNil, err := typedToProto(v)
		if err != nil {
			return nil, err
		}
		n.Kind, n.IsNil = &pb.ValueNode_TypedValue{TypedValue: tv}, isNil
	}
	return nodes, nil
}

// typedToProto encodes a value of a gob-registered model type (isNil: a typed nil pointer or
// slice, whose data is empty).
func typedToProto(v any) (tv *pb.TypedValue, isNil bool, err error) {
	c := typedByGo[reflect.TypeOf(v)]
	if c == nil {
		return nil, false, fmt.Errorf("%w: dynamic value of Go type %T is not one of the types an `any` may hold (see docs/protocol.md, Dynamic values)", ErrNotRepresentable, v)
	}
	m, isNil, err := c.toProto(v)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", c.name, err)
	}
	tv = &pb.TypedValue{Type: c.name}
	if !isNil {
		if tv.Data, err = proto.Marshal(m); err != nil {
			return nil, false, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return tv, isNil, nil
}

// ValueFromProto converts back to the same Go dynamic value (nil → nil). It reads containers
// in both forms: flat (Value.nodes, what writers send) and nested (list_value / map_value).
func ValueFromProto(v *pb.Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	if len(v.Nodes) > 0 {
		return nodesFromProto(v.Nodes)
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
		return bytesFromProto(k.BytesValue, v.IsNil), nil
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
		return stringListFromProto(k.StringListValue, v.IsNil), nil
	case *pb.Value_StringMapValue:
		return stringMapFromProto(k.StringMapValue, v.IsNil), nil
	case *pb.Value_TimeValue:
		return timeFromProto(k.TimeValue), nil
	case *pb.Value_TypedValue:
		return typedFromProto(k.TypedValue, v.IsNil)
	}
	return nil, fmt.Errorf("%w: Value kind %T is newer than this host; upgrade mmplugin-host", ErrNotRepresentable, v.Kind)
}

// openContainer is a list or map of a flat Value whose elements are still being read.
type openContainer struct {
	list []any
	m    map[string]any
	next int // the list index the next element goes to
	left int // elements still to come
}

// nodesFromProto decodes a flat Value (pre-order nodes) without recursion, so that neither a
// deep value nor a malicious node list can exhaust the stack; counts are checked against the
// nodes that remain before anything is allocated.
func nodesFromProto(nodes []*pb.ValueNode) (any, error) {
	var root any
	var open []*openContainer
	for i, n := range nodes {
		var v any
		var c *openContainer
		switch k := n.Kind.(type) {
		case *pb.ValueNode_ListLen:
			if n.IsNil {
				v = []any(nil)
				break
			}
			if int64(k.ListLen) > int64(len(nodes)-i-1) {
				return nil, fmt.Errorf("%w: Value.nodes[%d]: a list of %d elements has only %d nodes after it (truncated value)", ErrNotRepresentable, i, k.ListLen, len(nodes)-i-1)
			}
			list := make([]any, k.ListLen)
			v, c = list, &openContainer{list: list, left: len(list)}
		case *pb.ValueNode_MapLen:
			if n.IsNil {
				v = map[string]any(nil)
				break
			}
			if int64(k.MapLen) > int64(len(nodes)-i-1) {
				return nil, fmt.Errorf("%w: Value.nodes[%d]: a map of %d entries has only %d nodes after it (truncated value)", ErrNotRepresentable, i, k.MapLen, len(nodes)-i-1)
			}
			m := make(map[string]any, k.MapLen)
			v, c = m, &openContainer{m: m, left: int(k.MapLen)}
		default:
			var err error
			if v, err = leafFromProto(n); err != nil {
				return nil, fmt.Errorf("Value.nodes[%d]: %w", i, err)
			}
		}
		switch {
		case len(open) > 0:
			// Lists and maps are references: filling c later fills what the parent holds.
			parent := open[len(open)-1]
			if parent.m != nil {
				parent.m[n.GetKey()] = v
			} else {
				parent.list[parent.next] = v
				parent.next++
			}
			parent.left--
		case i > 0:
			return nil, fmt.Errorf("%w: Value.nodes has %d nodes after its root value's end", ErrNotRepresentable, len(nodes)-i)
		default:
			root = v
		}
		if c != nil && c.left > 0 {
			open = append(open, c)
		}
		for len(open) > 0 && open[len(open)-1].left == 0 {
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return nil, fmt.Errorf("%w: Value.nodes ends inside a list or map (truncated value)", ErrNotRepresentable)
	}
	return root, nil
}

// leafFromProto is a node that is not a []any or map[string]any.
func leafFromProto(n *pb.ValueNode) (any, error) {
	switch k := n.Kind.(type) {
	case nil:
		return nil, nil
	case *pb.ValueNode_BoolValue:
		return k.BoolValue, nil
	case *pb.ValueNode_IntValue:
		return int(k.IntValue), nil
	case *pb.ValueNode_Int64Value:
		return k.Int64Value, nil
	case *pb.ValueNode_Int32Value:
		return k.Int32Value, nil
	case *pb.ValueNode_Uint64Value:
		return k.Uint64Value, nil
	case *pb.ValueNode_Float64Value:
		return k.Float64Value, nil
	case *pb.ValueNode_Float32Value:
		return k.Float32Value, nil
	case *pb.ValueNode_StringValue:
		return k.StringValue, nil
	case *pb.ValueNode_BytesValue:
		return bytesFromProto(k.BytesValue, n.IsNil), nil
	case *pb.ValueNode_StringListValue:
		return stringListFromProto(k.StringListValue, n.IsNil), nil
	case *pb.ValueNode_StringMapValue:
		return stringMapFromProto(k.StringMapValue, n.IsNil), nil
	case *pb.ValueNode_TimeValue:
		return timeFromProto(k.TimeValue), nil
	case *pb.ValueNode_TypedValue:
		return typedFromProto(k.TypedValue, n.IsNil)
	}
	return nil, fmt.Errorf("%w: ValueNode kind %T is newer than this host; upgrade mmplugin-host", ErrNotRepresentable, n.Kind)
}

func bytesFromProto(b []byte, isNil bool) []byte {
	switch {
	case isNil:
		return nil
	case b == nil:
		return []byte{}
	}
	return b
}

func stringListFromProto(l *pb.StringList, isNil bool) []string {
	if isNil {
		return nil
	}
	if s := l.GetValues(); s != nil {
		return s
	}
	return []string{}
}

func stringMapFromProto(m *pb.StringMap, isNil bool) map[string]string {
	if isNil {
		return nil
	}
	if s := m.GetValues(); s != nil {
		return s
	}
	return map[string]string{}
}

func typedFromProto(tv *pb.TypedValue, isNil bool) (any, error) {
	c := typedByName[tv.GetType()]
	if c == nil {
		return nil, fmt.Errorf("%w: unknown TypedValue type %q (known: %v)", ErrNotRepresentable, tv.GetType(), TypedValueNames())
	}
	out, err := c.fromProto(tv.GetData(), isNil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return out, nil
}

// stringify renders a value that cannot cross as Value (used only for AppError params, where
// losing the type is better than losing the error).
func stringify(v any) string { return fmt.Sprint(v) }
