package convert

import (
	"flag"
	"fmt"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
)

var (
	casesPerType = flag.Int("roundtrip.cases", 200, "random cases per model type")
	seedFlag     = flag.Uint64("roundtrip.seed", 1, "base seed of the random model values")
)

// TestRoundTrip checks Go → proto → wire bytes → proto → Go is reflect.DeepEqual to the
// original for every generated model type (iterating the generated Models registry).
func TestRoundTrip(t *testing.T) {
	cases := *casesPerType
	if testing.Short() {
		cases = 20
	}
	total := 0
	for i, c := range Models {
		t.Run(c.Name, func(t *testing.T) {
			f := newFiller(*seedFlag + uint64(i)*1_000_003)
			for n := range cases {
				orig := reflect.New(c.Go)
				if n > 0 { // case 0 is the zero value
					f.fill(orig.Elem(), 0, false)
				}
				if err := roundTrip(c, orig.Interface()); err != nil {
					t.Fatalf("case %d (seed %d): %v", n, *seedFlag, err)
				}
				total++
			}
		})
	}
	t.Logf("round-trip: %d model types, %d cases (%d per type, seed %d)", len(Models), total, cases, *seedFlag)
	if testing.Verbose() {
		fmt.Printf("SUMMARY round-trip: %d model types, %d cases, all reflect.DeepEqual\n", len(Models), total)
	}
}

func roundTrip(c ModelCodec, orig any) error {
	m, err := c.ToProto(orig)
	if err != nil {
		return fmt.Errorf("to proto: %w", err)
	}
	wire, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	back := c.NewProto()
	if err := proto.Unmarshal(wire, back); err != nil {
		return fmt.Errorf("unmarshal: %w", err)
	}
	got, err := c.FromProto(back)
	if err != nil {
		return fmt.Errorf("from proto: %w", err)
	}
	if !reflect.DeepEqual(orig, got) {
		return fmt.Errorf("round trip differs:\n orig %s\n got  %s", dump(orig), dump(got))
	}
	return nil
}

func dump(v any) string { return fmt.Sprintf("%+v", reflect.ValueOf(v).Elem().Interface()) }
