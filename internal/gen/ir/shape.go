package ir

import (
	"fmt"
	"sort"
)

// Shape is how a TypeRef is written as a proto field.
type Shape struct {
	// Label is "", "optional", "repeated" or "map".
	Label string
	// Type is the proto type of the field, or of the elements / map values
	// ("string", "Post", "google.protobuf.Timestamp", "ListOfString", …).
	Type string
	// Key is the proto key type of a map.
	Key string
	// Elem is the Go element (repeated) or value (map) type, pointers kept.
	Elem *TypeRef
	// Wrapper is set when the field itself is a wrapper message (a pointer to a container).
	Wrapper *Wrapper
	// NeedsEmpty is true for slices, maps and bytes: their nil-vs-empty state is recorded in
	// the message's `empty` field.
	NeedsEmpty bool
}

// Shape returns how r is written as a proto field. It panics for a type the loader did not
// validate, which is a generator bug.
func (s *Surface) Shape(r *TypeRef) Shape {
	sh, err := s.shape(r)
	if err != nil {
		panic("ir: " + err.Error())
	}
	return sh
}

// ElemType returns the proto type used for r as a list element or map value.
func (s *Surface) ElemType(r *TypeRef) string {
	t, err := s.elemType(r)
	if err != nil {
		panic("ir: " + err.Error())
	}
	return t
}

// WrapperFor returns the wrapper message carrying a container (KindList or KindMap, or a
// pointer to one), creating it on first use during Load.
func (s *Surface) WrapperFor(r *TypeRef) *Wrapper {
	w, err := s.wrapper(r)
	if err != nil {
		panic("ir: " + err.Error())
	}
	return w
}

func (s *Surface) shape(r *TypeRef) (Shape, error) {
	switch r.Kind {
	case KindScalar:
		return Shape{Type: r.Scalar}, nil
	case KindBytes:
		return Shape{Type: "bytes", NeedsEmpty: true}, nil
	case KindMessage, KindTimestamp, KindValue, KindError, KindAppError:
		t, err := s.elemType(r)
		return Shape{Type: t}, err
	case KindList:
		t, err := s.elemType(r.Elem)
		return Shape{Label: "repeated", Type: t, Elem: r.Elem, NeedsEmpty: true}, err
	case KindMap:
		if r.Key.Kind != KindScalar || r.Key.Scalar == "float" || r.Key.Scalar == "double" {
			return Shape{}, fmt.Errorf("map key type %v has no proto map-key equivalent", r.Key.Go)
		}
		t, err := s.elemType(r.Elem)
		return Shape{Label: "map", Key: r.Key.Scalar, Type: t, Elem: r.Elem, NeedsEmpty: true}, err
	case KindPointer:
		e := r.Elem
		switch e.Kind {
		case KindScalar:
			return Shape{Label: "optional", Type: e.Scalar}, nil
		case KindBytes:
			// Presence says nil pointer or not; `empty` tells &[]byte{} from &[]byte(nil).
			return Shape{Label: "optional", Type: "bytes", NeedsEmpty: true}, nil
		case KindMessage, KindTimestamp, KindAppError:
			t, err := s.elemType(e)
			return Shape{Type: t}, err
		case KindList, KindMap:
			w, err := s.wrapper(e)
			if err != nil {
				return Shape{}, err
			}
			return Shape{Type: w.Name, Wrapper: w}, nil
		}
	}
	return Shape{}, fmt.Errorf("Go type %v cannot be mapped to a proto field; add a rule to internal/gen/ir/shape.go or a special case to internal/gen/special.go", r.Go)
}

// elemType is the proto type of r inside repeated fields and map values. Nil pointers are not
// representable there (gob cannot send them either), so a pointer is its target.
func (s *Surface) elemType(r *TypeRef) (string, error) {
	switch r.Kind {
	case KindScalar:
		return r.Scalar, nil
	case KindBytes:
		return "bytes", nil
	case KindMessage:
		return r.Message.Name, nil
	case KindTimestamp:
		return "google.protobuf.Timestamp", nil
	case KindValue:
		return "Value", nil
	case KindError:
		return "Error", nil
	case KindAppError:
		return "AppError", nil
	case KindList, KindMap:
		w, err := s.wrapper(r)
		if err != nil {
			return "", err
		}
		return w.Name, nil
	case KindPointer:
		if r.Elem.Kind != KindPointer && r.Elem.Kind != KindValue && r.Elem.Kind != KindError {
			return s.elemType(r.Elem)
		}
	}
	return "", fmt.Errorf("Go type %v cannot be a proto list element or map value", r.Go)
}

func (s *Surface) wrapper(r *TypeRef) (*Wrapper, error) {
	if r.Kind == KindPointer {
		r = r.Elem
	}
	var name string
	switch r.Kind {
	case KindList:
		e, err := s.elemType(r.Elem)
		if err != nil {
			return nil, err
		}
		name = "ListOf" + typeWord(e)
	case KindMap:
		if _, err := s.shape(r); err != nil {
			return nil, err
		}
		e, _ := s.elemType(r.Elem)
		name = "MapOf" + typeWord(r.Key.Scalar) + "To" + typeWord(e)
	default:
		return nil, fmt.Errorf("no wrapper for %v", r.Go)
	}
	if w, ok := s.wrappers[name]; ok {
		return w, nil
	}
	if s.frozen {
		return nil, fmt.Errorf("wrapper %s requested after Load", name)
	}
	w := &Wrapper{Name: name, Items: r}
	s.wrappers[name] = w
	return w, nil
}

// typeWord turns a proto type into a message-name word: "int64" → "Int64",
// "google.protobuf.Timestamp" → "Timestamp".
func typeWord(t string) string {
	if t == "google.protobuf.Timestamp" {
		return "Timestamp"
	}
	return Pascal(t)
}

func sortedWrappers(m map[string]*Wrapper) []*Wrapper {
	out := make([]*Wrapper, 0, len(m))
	for _, w := range m {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
