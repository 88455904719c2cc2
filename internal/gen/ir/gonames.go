package ir

// GoCamelCase is protoc-gen-go's rule for Go identifiers of proto fields ("user_id" → "UserId",
// "result_1" → "Result_1"), copied from google.golang.org/protobuf/internal/strs, which is
// internal. Emitters that write code against the generated pb package use it.
func GoCamelCase(s string) string {
	isLower := func(c byte) bool { return 'a' <= c && c <= 'z' }
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' && i == 0:
			b = append(b, 'X')
		case c == '_' && i+1 < len(s) && isLower(s[i+1]):
		case '0' <= c && c <= '9':
			b = append(b, c)
		default:
			if isLower(c) {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			for ; i+1 < len(s) && isLower(s[i+1]); i++ {
				b = append(b, s[i+1])
			}
		}
	}
	return string(b)
}

// PBGoFieldNames returns the Go struct field names protoc-gen-go gives a message's fields,
// keyed by proto field name. protoNames must be in declaration order (as protogen writes
// them); names that clash with generated methods or getters get a trailing underscore, as in
// google.golang.org/protobuf/compiler/protogen.
func PBGoFieldNames(protoNames []string) map[string]string {
	used := map[string]bool{"Reset": true, "String": true, "ProtoMessage": true, "Marshal": true,
		"Unmarshal": true, "ExtensionRangeArray": true, "ExtensionMap": true, "Descriptor": true}
	out := map[string]string{}
	for _, n := range protoNames {
		name := GoCamelCase(n)
		for used[name] || used["Get"+name] {
			name += "_"
		}
		used[name] = true
		used["Get"+name] = true
		out[n] = name
	}
	return out
}
