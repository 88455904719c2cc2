package convert

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/protobuf/proto"

	"github.com/mmplugin/mmplugin/internal/gen"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

func valueRoundTrip(t *testing.T, v any) any {
	t.Helper()
	pv, err := ValueToProto(v)
	if err != nil {
		t.Fatalf("ValueToProto(%#v): %v", v, err)
	}
	wire, err := proto.Marshal(pv)
	if err != nil {
		t.Fatal(err)
	}
	back := &pb.Value{}
	if err := proto.Unmarshal(wire, back); err != nil {
		t.Fatal(err)
	}
	got, err := ValueFromProto(back)
	if err != nil {
		t.Fatalf("ValueFromProto: %v", err)
	}
	return got
}

func TestValueKeepsDynamicTypes(t *testing.T) {
	cases := []any{
		nil, true, 0, int(-7), int64(-7), int32(7), uint64(1 << 63), 1.5, float32(2.5), "", "héllo 🌍",
		[]byte(nil), []byte{}, []byte{0, 255}, []any(nil), []any{}, []any{nil, 1, "x", []any{int64(2)}},
		map[string]any(nil), map[string]any{}, map[string]any{"a": map[string]any{"b": []any{float32(1)}}},
		[]string(nil), []string{}, []string{"a"}, map[string]string(nil), map[string]string{}, map[string]string{"k": "v"},
		time.Unix(1700000000, 5).UTC(), time.Time{},
		[]*model.MessageAttachment{{Title: "t", Fields: []*model.MessageAttachmentField{{Title: "f", Value: "v"}}}},
		[]*model.MessageAttachment(nil), []*model.MessageAttachment{},
		&model.AutocompleteTextArg{Hint: "h", Pattern: "p"}, (*model.PreviewPost)(nil),
		model.PropertyOptions[*model.PluginPropertyOption]{model.NewPluginPropertyOption("id", "name")},
		[]model.PropertyOwner{{ID: "o", Type: "t", Scopes: []string{}}},
	}
	for _, c := range cases {
		if got := valueRoundTrip(t, c); !reflect.DeepEqual(got, c) {
			t.Errorf("%T %#v came back as %T %#v", c, c, got, got)
		}
	}
	f := newFiller(42)
	n := 0
	for range 5000 {
		v := f.dynamic(0)
		if got := valueRoundTrip(t, v); !reflect.DeepEqual(got, v) {
			t.Fatalf("%T %#v came back as %T %#v", v, v, got, got)
		}
		n++
	}
	t.Logf("%d fixed and %d random dynamic values round-tripped", len(cases), n)
}

func TestValueRejectsUnknownTypes(t *testing.T) {
	for _, v := range []any{struct{ A int }{1}, uint8(1), model.StringInterface{}, &model.Post{}, []int{1}} {
		_, err := ValueToProto(v)
		if err == nil || !errors.Is(err, ErrNotRepresentable) || !strings.Contains(err.Error(), reflect.TypeOf(v).String()) {
			t.Errorf("ValueToProto(%T) = %v, want an ErrNotRepresentable naming the type", v, err)
		}
	}
	// The same error surfaces from a model converter, with the field path.
	_, err := PostToProto(&model.Post{Props: model.StringInterface{"bad": struct{}{}}})
	if err == nil || !strings.Contains(err.Error(), "Post.Props") || !strings.Contains(err.Error(), "struct {}") {
		t.Errorf("PostToProto with an unsupported prop: %v", err)
	}
	_, err = ValueFromProto(&pb.Value{Kind: &pb.Value_TypedValue{TypedValue: &pb.TypedValue{Type: "*model.Nope"}}})
	if err == nil || !strings.Contains(err.Error(), "*model.Nope") {
		t.Errorf("unknown TypedValue: %v", err)
	}
}

func TestTypedRegistryIsMattermostsGobList(t *testing.T) {
	var want []string
	for _, g := range gen.GobTypes {
		want = append(want, g.Name)
	}
	slices.Sort(want)
	if got := TypedValueNames(); !slices.Equal(got, want) {
		t.Errorf("registry %v, gob table %v", got, want)
	}
}

func TestNilElementsAreRejected(t *testing.T) {
	_, err := PostToProto(&model.Post{Participants: []*model.User{nil}})
	if !errors.Is(err, ErrNotRepresentable) || !strings.Contains(err.Error(), "Post.Participants") {
		t.Errorf("nil element: %v", err)
	}
}

// TestEmptyMarkerMatters shows the round-trip test can fail: without the `empty` field an
// empty-but-non-nil map comes back nil.
func TestEmptyMarkerMatters(t *testing.T) {
	orig := &model.Post{Props: model.StringInterface{}, FileIds: model.StringArray{}}
	m, err := PostToProto(orig)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Empty) != 2 {
		t.Fatalf("empty = %v, want the numbers of props and file_ids", m.Empty)
	}
	back, _ := PostFromProto(m)
	if !reflect.DeepEqual(back, orig) {
		t.Fatalf("with marker: %+v", back)
	}
	m.Empty = nil
	back, _ = PostFromProto(m)
	if back.Props != nil || back.FileIds != nil {
		t.Fatalf("without marker the fields should be nil, got %#v %#v", back.Props, back.FileIds)
	}
}

func BenchmarkPostRoundTrip(b *testing.B) {
	p := &model.Post{Id: model.NewId(), Message: "hello", Props: model.StringInterface{"a": "b", "n": 1.0, "l": []any{"x"}}, FileIds: model.StringArray{"f"}}
	b.ReportAllocs()
	for b.Loop() {
		m, _ := PostToProto(p)
		if _, err := PostFromProto(m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFlatValues: any depth round-trips with constant protobuf nesting, the nested form is
// still read, and malformed node lists are errors, not panics.
func TestFlatValues(t *testing.T) {
	var deep any = "leaf"
	for i := range 100_000 {
		if i%2 == 0 {
			deep = []any{deep, i}
		} else {
			deep = map[string]any{"k": deep, "n": nil}
		}
	}
	m, err := ValueToProto(deep)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back := &pb.Value{}
	if err := proto.Unmarshal(wire, back); err != nil { // the default recursion limit (10,000) holds
		t.Fatal(err)
	}
	got, err := ValueFromProto(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, deep) {
		t.Fatal("100,000-level value differs after the round trip")
	}

	nested := &pb.Value{Kind: &pb.Value_ListValue{ListValue: &pb.ValueList{Values: []*pb.Value{
		{Kind: &pb.Value_MapValue{MapValue: &pb.ValueMap{Values: map[string]*pb.Value{"a": {Kind: &pb.Value_IntValue{IntValue: 1}}}}}},
	}}}}
	if got, err := ValueFromProto(nested); err != nil || !reflect.DeepEqual(got, []any{map[string]any{"a": 1}}) {
		t.Errorf("nested form: %#v, %v", got, err)
	}

	list := func(n uint32) *pb.ValueNode { return &pb.ValueNode{Kind: &pb.ValueNode_ListLen{ListLen: n}} }
	mapOf := func(n uint32) *pb.ValueNode { return &pb.ValueNode{Kind: &pb.ValueNode_MapLen{MapLen: n}} }
	leaf := &pb.ValueNode{Kind: &pb.ValueNode_BoolValue{BoolValue: true}}
	for name, nodes := range map[string][]*pb.ValueNode{
		"count beyond the nodes":   {list(1 << 31)},
		"map runs out of entries":  {mapOf(2), list(1), leaf},
		"list ends early":          {list(2), list(1), leaf},
		"nodes after the root":     {list(0), leaf},
		"leaf root with a trailer": {leaf, leaf},
	} {
		if _, err := ValueFromProto(&pb.Value{Nodes: nodes}); !errors.Is(err, ErrNotRepresentable) {
			t.Errorf("%s: err = %v, want ErrNotRepresentable", name, err)
		}
	}
}
