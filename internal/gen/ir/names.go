package ir

import (
	"slices"
	"strings"
	"unicode"
)

// Snake converts a Go or JSON identifier to lower_snake_case: "userID" → "user_id",
// "IPAddress" → "ip_address", "create_at" → "create_at", "x-forwarded" → "x_forwarded".
// Digits stick to the preceding word ("OAuth2" → "o_auth2", "Saml2Key" → "saml2_key"), and a
// plural acronym stays one word ("userIDs" → "user_ids", "AutoShareDMs" → "auto_share_dms").
func Snake(s string) string {
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
				// "IDs": the "s" after an acronym makes it plural, it does not start a word.
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

// Pascal converts a snake or Go identifier to PascalCase keeping existing capitals
// ("int64" → "Int64", "map_of" → "MapOf").
func Pascal(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '_' || r == '-' || r == '.' || r == ' ' {
			up = true
			continue
		}
		if up {
			b.WriteRune(unicode.ToUpper(r))
			up = false
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// reservedFieldNames may not be used by a mapped Go field: the generator adds them itself.
var reservedFieldNames = []string{"empty"}

// uniqueNames makes names unique by appending _2, _3, … to later duplicates and to names the
// generator reserves.
func uniqueNames(names []string) []string {
	seen := map[string]bool{}
	for _, r := range reservedFieldNames {
		seen[r] = true
	}
	out := make([]string, len(names))
	for i, n := range names {
		cand := n
		for k := 2; seen[cand]; k++ {
			cand = n + "_" + itoa(k)
		}
		seen[cand] = true
		out[i] = cand
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func sortReserved(r []ReservedField) {
	slices.SortFunc(r, func(a, b ReservedField) int { return int(a.Number - b.Number) })
}
