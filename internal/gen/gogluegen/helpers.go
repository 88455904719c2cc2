package gogluegen

// helpersSource is written into each glue package as helpers_gen.go: the generic container
// conversions the generated methods call. Element conversions are the model converters of
// internal/convert; these helpers only walk slices and maps and keep Go's nil-vs-empty
// distinction through the message's `empty` field (docs/protocol.md).
const helpersSource = `
// hasEmpty reports whether field number n is listed in a message's empty field.
func hasEmpty(empty []uint32, n uint32) bool { return slices.Contains(empty, n) }

// same is the identity conversion of elements whose Go and proto types coincide.
func same[T any](v T) (T, error) { return v, nil }

// listToPB converts a slice element by element; nil and empty both become nil (the caller
// records "empty but not nil" in the message's empty field).
func listToPB[S ~[]G, G, P any](in S, f func(G) (P, error)) ([]P, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]P, len(in))
	for i, v := range in {
		p, err := f(v)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = p
	}
	return out, nil
}

// listFromPB is the inverse of listToPB: no elements is nil unless field n is marked empty.
func listFromPB[S ~[]G, G, P any](in []P, f func(P) (G, error), empty []uint32, n uint32) (S, error) {
	if len(in) == 0 {
		if hasEmpty(empty, n) {
			return S{}, nil
		}
		return nil, nil
	}
	out := make(S, len(in))
	for i, v := range in {
		g, err := f(v)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out[i] = g
	}
	return out, nil
}

// mapToPB converts a map value by value; nil and empty both become nil.
func mapToPB[M ~map[K]G, K comparable, G, P any](in M, f func(G) (P, error)) (map[K]P, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[K]P, len(in))
	for k, v := range in {
		p, err := f(v)
		if err != nil {
			return nil, fmt.Errorf("[%v]: %w", k, err)
		}
		out[k] = p
	}
	return out, nil
}

// mapFromPB is the inverse of mapToPB: no entries is nil unless field n is marked empty.
func mapFromPB[M ~map[K]G, K comparable, G, P any](in map[K]P, f func(P) (G, error), empty []uint32, n uint32) (M, error) {
	if len(in) == 0 {
		if hasEmpty(empty, n) {
			return M{}, nil
		}
		return nil, nil
	}
	out := make(M, len(in))
	for k, v := range in {
		g, err := f(v)
		if err != nil {
			return nil, fmt.Errorf("[%v]: %w", k, err)
		}
		out[k] = g
	}
	return out, nil
}

// bytesFromPB turns proto bytes back into a Go byte slice, nil unless field n is marked empty.
func bytesFromPB[T ~[]byte](b []byte, empty []uint32, n uint32) T {
	if len(b) == 0 {
		if hasEmpty(empty, n) {
			return T{}
		}
		return nil
	}
	return T(b)
}

// byValue adapts a pointer converter to struct elements held by value.
func byValue[G, P any](f func(*G) (P, error)) func(G) (P, error) {
	return func(v G) (P, error) { return f(&v) }
}

// nonNil adapts a pointer converter to list elements, which cannot be nil on the wire (gob
// cannot send a nil element either).
func nonNil[G, P any](goType string, f func(*G) (P, error)) func(*G) (P, error) {
	return func(v *G) (P, error) {
		if v == nil {
			var zero P
			return zero, fmt.Errorf("%w: nil element of %s", convert.ErrNotRepresentable, goType)
		}
		return f(v)
	}
}

// deref turns a converted pointer into the struct value a Go signature takes (nil → zero).
func deref[G any](p *G, err error) (G, error) {
	if p == nil {
		var zero G
		return zero, err
	}
	return *p, err
}

// derefFunc adapts a pointer-returning converter to struct elements held by value.
func derefFunc[G, P any](f func(P) (*G, error)) func(P) (G, error) {
	return func(v P) (G, error) { return deref(f(v)) }
}

// valueAs converts a Value back to a Go interface type such as driver.Value.
func valueAs[T any](v *pb.Value) (T, error) {
	var zero T
	x, err := convert.ValueFromProto(v)
	if err != nil || x == nil {
		return zero, err
	}
	t, ok := x.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %T is not a %v", convert.ErrNotRepresentable, x, reflect.TypeFor[T]())
	}
	return t, nil
}

// chunkSize is the largest body piece sent in one stream message (docs/protocol.md).
const chunkSize = 64 << 10

// headersToPB converts HTTP headers, sorted by name so the wire form is deterministic.
func headersToPB(h http.Header) []*pb.HTTPHeader {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]*pb.HTTPHeader, 0, len(names))
	for _, name := range names {
		values := h[name]
		if slices.ContainsFunc(values, func(v string) bool { return !utf8.ValidString(v) }) {
			raw := make([][]byte, len(values))
			for i, v := range values {
				raw[i] = []byte(v)
			}
			out = append(out, &pb.HTTPHeader{Name: name, RawValues: raw})
			continue
		}
		out = append(out, &pb.HTTPHeader{Name: name, Values: slices.Clone(values)})
	}
	return out
}

// addHeaders adds wire headers to h (names are canonicalized as http.Header.Add does).
func addHeaders(h http.Header, hs []*pb.HTTPHeader) {
	for _, x := range hs {
		for _, v := range x.GetValues() {
			h.Add(x.GetName(), v)
		}
		for _, v := range x.GetRawValues() {
			h.Add(x.GetName(), string(v))
		}
	}
}

// wireString splits a value a client controls into the string field and the bytes field of
// the wire: a proto string must be UTF-8, and HTTP lets clients send any byte.
func wireString(s string) (string, []byte) {
	if utf8.ValidString(s) {
		return s, nil
	}
	return "", []byte(s)
}

// fromWire is the value wireString split.
func fromWire(s string, raw []byte) string {
	if raw != nil {
		return string(raw)
	}
	return s
}
`
