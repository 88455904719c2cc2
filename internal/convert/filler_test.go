package convert

import (
	"database/sql"
	"database/sql/driver"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"time"
)

// filler builds random Go values by reflection, seeded so that a failure reproduces. It
// covers what the protocol must keep apart: nil vs empty slices, maps and bytes, nil vs
// zero vs set pointers, extreme integers and floats, unicode (astral plane included), and
// `any` values of every supported dynamic type, nested.
//
// It never produces what docs/protocol.md lists as not representable (each exclusion below
// says why): nil elements in slices/maps of pointers, empty-vs-nil []byte elements inside
// containers, NaN, time zones other than UTC, and `any` values of unsupported types.
type filler struct {
	r        *rand.Rand
	maxDepth int
}

var (
	timeT  = reflect.TypeFor[time.Time]()
	errorT = reflect.TypeFor[error]()
)

func newFiller(seed uint64) *filler {
	return &filler{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxDepth: 4}
}

func (f *filler) chance(p float64) bool { return f.r.Float64() < p }

// fill sets v (settable) to a random value. inContainer is true for slice elements and map
// values, where nil pointers and nil-vs-empty []byte are not representable.
func (f *filler) fill(v reflect.Value, depth int, inContainer bool) {
	t := v.Type()
	switch {
	case t == timeT:
		v.Set(reflect.ValueOf(f.time()))
		return
	case t == errorT:
		if err := f.err(); err != nil {
			v.Set(reflect.ValueOf(err))
		}
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(f.chance(0.5))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(f.int(t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(f.uint(t.Bits()))
	case reflect.Float32:
		v.SetFloat(float64(f.float32()))
	case reflect.Float64:
		v.SetFloat(f.float64())
	case reflect.String:
		v.SetString(f.string())
	case reflect.Interface:
		if d := f.dynamic(depth); d != nil {
			v.Set(reflect.ValueOf(d))
		}
	case reflect.Pointer:
		if !inContainer && (depth >= f.maxDepth || f.chance(0.25)) {
			return // nil
		}
		p := reflect.New(t.Elem())
		if depth < f.maxDepth && !f.chance(0.1) { // sometimes a pointer to the zero value
			f.fill(p.Elem(), depth+1, false)
		}
		v.Set(p)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			f.bytes(v, inContainer)
			return
		}
		n, isNil := f.length(depth)
		if isNil {
			return
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			f.fill(s.Index(i), depth+1, true)
		}
		v.Set(s)
	case reflect.Map:
		n, isNil := f.length(depth)
		if isNil {
			return
		}
		m := reflect.MakeMapWithSize(t, n)
		for range n {
			k := reflect.New(t.Key()).Elem()
			f.fill(k, depth+1, true)
			e := reflect.New(t.Elem()).Elem()
			f.fill(e, depth+1, true)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue // never crosses (gob ignores unexported fields too)
			}
			switch sf.Type.Kind() {
			case reflect.Func, reflect.Chan:
				continue // gob skips them; so does the protocol
			}
			f.fill(v.Field(i), depth, false)
		}
	default:
		panic("filler: unsupported kind " + t.Kind().String())
	}
}

// length picks nil, empty or 1–3 elements; deep values are nil to bound recursion.
func (f *filler) length(depth int) (n int, isNil bool) {
	switch {
	case depth >= f.maxDepth || f.chance(0.25):
		return 0, true
	case f.chance(0.2):
		return 0, false
	}
	return 1 + f.r.IntN(3), false
}

func (f *filler) bytes(v reflect.Value, inContainer bool) {
	if inContainer {
		// Elements of [][]byte / map[K][]byte: nil and empty are not kept apart (protocol.md,
		// "Not representable"), so only non-empty ones are generated.
		b := make([]byte, 1+f.r.IntN(8))
		for i := range b {
			b[i] = byte(f.r.IntN(256))
		}
		v.SetBytes(b)
		return
	}
	switch {
	case f.chance(0.25): // nil
	case f.chance(0.25):
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	default:
		b := make([]byte, 1+f.r.IntN(16))
		for i := range b {
			b[i] = byte(f.r.IntN(256))
		}
		v.Set(reflect.ValueOf(b).Convert(v.Type()))
	}
}

func (f *filler) int(bits int) int64 {
	lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	switch f.r.IntN(6) {
	case 0:
		return 0
	case 1:
		return lo
	case 2:
		return hi
	case 3:
		return -1
	}
	return lo + int64(f.r.Uint64()%uint64(hi-lo)) // wraps around for 64 bits, still in range
}

func (f *filler) uint(bits int) uint64 {
	hi := uint64(math.MaxUint64) >> (64 - bits)
	switch f.r.IntN(4) {
	case 0:
		return 0
	case 1:
		return hi
	}
	return f.r.Uint64() & hi
}

// float64 never returns NaN: it round-trips, but reflect.DeepEqual(NaN, NaN) is false.
func (f *filler) float64() float64 {
	switch f.r.IntN(8) {
	case 0:
		return 0
	case 1:
		return math.MaxFloat64
	case 2:
		return -math.SmallestNonzeroFloat64
	case 3:
		return math.Inf(-1)
	}
	return (f.r.Float64() - 0.5) * math.Pow(10, float64(f.r.IntN(40)-20))
}

func (f *filler) float32() float32 {
	switch f.r.IntN(6) {
	case 0:
		return math.MaxFloat32
	case 1:
		return -math.SmallestNonzeroFloat32
	case 2:
		return float32(math.Inf(1))
	}
	return float32(f.float64())
}

// runePools mixes ASCII, Latin, CJK, right-to-left and astral-plane runes (emoji, math).
// Only valid UTF-8 is generated: proto strings must be valid UTF-8.
var runePools = [][2]rune{{0x20, 0x7e}, {0xa0, 0x24f}, {0x4e00, 0x9fff}, {0x590, 0x5ff}, {0x1f300, 0x1faff}, {0x1d400, 0x1d7ff}, {0x10000, 0x10ffff}}

func (f *filler) string() string {
	if f.chance(0.2) {
		return ""
	}
	n := 1 + f.r.IntN(12)
	rs := make([]rune, n)
	for i := range rs {
		p := runePools[f.r.IntN(len(runePools))]
		r := p[0] + rune(f.r.IntN(int(p[1]-p[0]+1)))
		if r >= 0xd800 && r <= 0xdfff { // surrogates are not valid UTF-8
			r = 'x'
		}
		rs[i] = r
	}
	return string(rs)
}

// time returns the zero time or an instant in UTC: the zone is not part of the protocol
// (Timestamp keeps the instant only), so only UTC times round-trip to an equal time.Time.
func (f *filler) time() time.Time {
	if f.chance(0.2) {
		return time.Time{}
	}
	return time.Unix(f.r.Int64N(1<<36)-1<<35, f.r.Int64N(1e9)).UTC()
}

// err returns nil, a sentinel (which must keep its identity) or a plain message error.
func (f *filler) err() error {
	sentinels := []error{io.EOF, sql.ErrNoRows, sql.ErrConnDone, sql.ErrTxDone, driver.ErrSkip, driver.ErrBadConn, driver.ErrRemoveArgument}
	switch f.r.IntN(3) {
	case 0:
		return nil
	case 1:
		return sentinels[f.r.IntN(len(sentinels))]
	}
	// A plain error crosses as its message and comes back as *RemoteError.
	return &RemoteError{Message: f.string()}
}

// dynamic returns a value of one of the Go types an `any` may hold (docs/protocol.md,
// Dynamic values), including gob-registered model types and nested lists and maps.
func (f *filler) dynamic(depth int) any {
	deep := depth >= f.maxDepth
	k := f.r.IntN(17)
	if deep && k >= 10 {
		k = f.r.IntN(10)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return f.chance(0.5)
	case 2:
		return int(f.int(64))
	case 3:
		return f.int(64)
	case 4:
		return int32(f.int(32))
	case 5:
		return f.uint(64)
	case 6:
		return f.float64()
	case 7:
		return f.float32()
	case 8:
		return f.string()
	case 9:
		return f.time()
	case 10:
		var b []byte
		f.bytes(reflect.ValueOf(&b).Elem(), false)
		return b
	case 11:
		n, isNil := f.length(depth)
		if isNil {
			return []any(nil)
		}
		l := make([]any, n)
		for i := range l {
			l[i] = f.dynamic(depth + 1)
		}
		return l
	case 12:
		n, isNil := f.length(depth)
		if isNil {
			return map[string]any(nil)
		}
		m := make(map[string]any, n)
		for range n {
			m[f.string()] = f.dynamic(depth + 1)
		}
		return m
	case 13:
		var s []string
		f.fill(reflect.ValueOf(&s).Elem(), depth, false)
		return s
	case 14:
		var m map[string]string
		f.fill(reflect.ValueOf(&m).Elem(), depth, false)
		return m
	default:
		names := TypedValueNames()
		c := typedByName[names[f.r.IntN(len(names))]]
		p := reflect.New(c.goType)
		f.fill(p.Elem(), depth+1, false)
		return p.Elem().Interface()
	}
}
