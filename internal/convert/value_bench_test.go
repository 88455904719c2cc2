package convert

import (
	"fmt"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// typicalPost is a webhook-style post: scalar props and one attachment list with fields, as a
// post read back from the database holds them (plain JSON data).
func typicalPost() *model.Post {
	p := &model.Post{Id: model.NewId(), ChannelId: model.NewId(), UserId: model.NewId(), Message: "Deploy of build 4711 finished"}
	p.SetProps(model.StringInterface{
		"from_webhook":            "true",
		"override_username":       "ci",
		"disable_group_highlight": true,
		"attachments": []any{map[string]any{
			"fallback": "Build 4711 passed", "color": "#36a64f", "title": "Build 4711",
			"text": "All 312 checks green", "fields": []any{
				map[string]any{"title": "Branch", "value": "main", "short": true},
				map[string]any{"title": "Duration", "value": "4m12s", "short": true},
			},
		}},
	})
	return p
}

// nestedValueToProto is the encoder before flat values (list_value / map_value nested one
// protobuf level per Go level), kept here only to measure what the flat form costs. Readers
// still accept this form.
func nestedValueToProto(v any) (*pb.Value, error) {
	switch x := v.(type) {
	case []any:
		list := &pb.ValueList{Values: make([]*pb.Value, len(x))}
		for i, e := range x {
			var err error
			if list.Values[i], err = nestedValueToProto(e); err != nil {
				return nil, err
			}
		}
		return &pb.Value{Kind: &pb.Value_ListValue{ListValue: list}, IsNil: x == nil}, nil
	case map[string]any:
		m := &pb.ValueMap{Values: make(map[string]*pb.Value, len(x))}
		for k, e := range x {
			var err error
			if m.Values[k], err = nestedValueToProto(e); err != nil {
				return nil, err
			}
		}
		return &pb.Value{Kind: &pb.Value_MapValue{MapValue: m}, IsNil: x == nil}, nil
	}
	return scalarValueToProto(v)
}

func encodeProps(b *testing.B, props map[string]any, enc func(any) (*pb.Value, error)) map[string]*pb.Value {
	out := make(map[string]*pb.Value, len(props))
	for k, v := range props {
		pv, err := enc(v)
		if err != nil {
			b.Fatal(err)
		}
		out[k] = pv
	}
	return out
}

// BenchmarkPostProps measures a typical post's props, nested (before) and flat (now): Go →
// proto → wire and wire → proto → Go. docs/protocol.md quotes the numbers.
func BenchmarkPostProps(b *testing.B) {
	props := typicalPost().GetProps()
	for _, form := range []struct {
		name string
		enc  func(any) (*pb.Value, error)
	}{{"nested", nestedValueToProto}, {"flat", ValueToProto}} {
		b.Run(fmt.Sprintf("%s/encode", form.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := proto.Marshal(&pb.Post{Props: encodeProps(b, props, form.enc)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		wire, err := proto.Marshal(&pb.Post{Props: encodeProps(b, props, form.enc)})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/decode", form.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := &pb.Post{}
				if err := proto.Unmarshal(wire, m); err != nil {
					b.Fatal(err)
				}
				for _, v := range m.Props {
					if _, err := ValueFromProto(v); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(wire)), "wire-bytes")
		})
	}
}
