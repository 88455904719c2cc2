package main

// The canonical JSON form of values (docs/protocol.md, "Conformance probes"): the same form the
// Python probe produces from the SDK's dataclasses, so the runner compares the two field by field.
//
//   - a struct is an object keyed by the field's Python name: Snake(json tag name, else Go field
//     name), as cmd/mmplugin-gen names dataclass fields (internal/gen/ir.Snake, copied below);
//     an embedded struct is a nested object under Snake(its type name); unexported, func and
//     chan fields are left out (they do not cross the RPC);
//   - nil pointers, slices and maps are null, empty ones [] and {};
//   - []byte is standard base64; time.Time is RFC 3339 in UTC with microseconds;
//   - numbers, strings and booleans are themselves; map keys are strings.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var (
	timeType  = reflect.TypeOf(time.Time{})
	bytesType = reflect.TypeOf([]byte(nil))
)

const timeLayout = "2006-01-02T15:04:05.000000Z"

// fieldKey is the canonical key of a struct field, or "" when the field does not cross the RPC.
func fieldKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	switch f.Type.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		name = f.Name
	}
	return snake(name)
}

// encode turns a Go value into canonical JSON data.
func encode(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return encode(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface().(time.Time).UTC().Format(timeLayout)
		}
		out := map[string]any{}
		for i := range v.NumField() {
			if key := fieldKey(v.Type().Field(i)); key != "" {
				out[key] = encode(v.Field(i))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.EncodeToString(v.Bytes())
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = encode(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = encode(iter.Value())
		}
		return out
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Sprint(f)
		}
		return f
	default:
		return v.Interface()
	}
}

// decode turns canonical JSON data (numbers as json.Number) into a value of type t. Unknown
// object keys are an error, so a scenario's typo cannot silently drop an argument.
func decode(data any, t reflect.Type, where string) (reflect.Value, error) {
	out := reflect.New(t).Elem()
	if data == nil {
		return out, nil
	}
	fail := func() (reflect.Value, error) {
		return out, fmt.Errorf("%s: cannot decode %T %.80v as %v", where, data, data, t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem, err := decode(data, t.Elem(), where)
		if err != nil {
			return out, err
		}
		ptr := reflect.New(t.Elem())
		ptr.Elem().Set(elem)
		return ptr, nil
	case reflect.Interface:
		plain := plainJSON(data)
		if plain == nil {
			return out, nil
		}
		pv := reflect.ValueOf(plain)
		if !pv.Type().AssignableTo(t) {
			return fail()
		}
		out.Set(pv)
		return out, nil
	case reflect.Struct:
		if t == timeType {
			s, ok := data.(string)
			if !ok {
				return fail()
			}
			parsed, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return out, fmt.Errorf("%s: %w", where, err)
			}
			out.Set(reflect.ValueOf(parsed))
			return out, nil
		}
		obj, ok := data.(map[string]any)
		if !ok {
			return fail()
		}
		seen := map[string]bool{}
		for i := range t.NumField() {
			key := fieldKey(t.Field(i))
			raw, present := obj[key]
			if key == "" || !present {
				continue
			}
			seen[key] = true
			fv, err := decode(raw, t.Field(i).Type, where+"."+key)
			if err != nil {
				return out, err
			}
			out.Field(i).Set(fv)
		}
		for key := range obj {
			if !seen[key] {
				return out, fmt.Errorf("%s: %v has no field %q", where, t, key)
			}
		}
		return out, nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := data.(string)
			if !ok {
				return fail()
			}
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return out, fmt.Errorf("%s: %w", where, err)
			}
			return reflect.ValueOf(raw).Convert(t), nil
		}
		list, ok := data.([]any)
		if !ok {
			return fail()
		}
		out = reflect.MakeSlice(t, len(list), len(list))
		for i, item := range list {
			iv, err := decode(item, t.Elem(), fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return out, err
			}
			out.Index(i).Set(iv)
		}
		return out, nil
	case reflect.Map:
		obj, ok := data.(map[string]any)
		if !ok {
			return fail()
		}
		out = reflect.MakeMapWithSize(t, len(obj))
		for k, item := range obj {
			kv, err := decode(keyData(k, t.Key()), t.Key(), where)
			if err != nil {
				return out, err
			}
			iv, err := decode(item, t.Elem(), where+"."+k)
			if err != nil {
				return out, err
			}
			out.SetMapIndex(kv, iv)
		}
		return out, nil
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			return fail()
		}
		out.SetString(s)
		return out, nil
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			return fail()
		}
		out.SetBool(b)
		return out, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := data.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil {
			return fail()
		}
		out.SetInt(i)
		return out, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := data.(json.Number)
		u, err := strconv.ParseUint(string(n), 10, 64)
		if !ok || err != nil {
			return fail()
		}
		out.SetUint(u)
		return out, nil
	case reflect.Float32, reflect.Float64:
		n, ok := data.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil {
			return fail()
		}
		out.SetFloat(f)
		return out, nil
	}
	return fail()
}

// keyData is a map key's JSON string as data decode accepts for the key type.
func keyData(k string, t reflect.Type) any {
	if t.Kind() == reflect.String {
		return k
	}
	return json.Number(k)
}

// plainJSON is data for an `any` parameter: integral numbers as int64 (as the Python SDK sends
// them), others as float64.
func plainJSON(data any) any {
	switch d := data.(type) {
	case json.Number:
		if i, err := d.Int64(); err == nil {
			return i
		}
		f, _ := d.Float64()
		return f
	case []any:
		out := make([]any, len(d))
		for i, x := range d {
			out[i] = plainJSON(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(d))
		for k, x := range d {
			out[k] = plainJSON(x)
		}
		return out
	}
	return data
}

// snake is internal/gen/ir.Snake (an internal package of another module, so copied): Go or
// JSON identifier → the generator's lower_snake_case field name.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == '-' || r == '.' || r == ' ' || r == '_':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			continue
		case unicode.IsUpper(r):
			if i > 0 && b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				pluralAcronym := nextLower && rs[i+1] == 's' && (i+2 == len(rs) || !unicode.IsLower(rs[i+2]))
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower && !pluralAcronym) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		out = "field"
	}
	if unicode.IsDigit(rune(out[0])) {
		out = "f_" + out
	}
	return out
}
