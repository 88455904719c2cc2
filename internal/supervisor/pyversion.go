package supervisor

import (
	"fmt"
	"strconv"
	"strings"
)

// MinPythonVersion is the oldest Python the mmplugin SDK supports.
var MinPythonVersion = pyVersion{3, 10, 0}

// pyVersion is a Python release number (major, minor, micro).
type pyVersion [3]int

func (v pyVersion) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// short is "3.11", the form people use in requirements and error messages.
func (v pyVersion) short() string { return fmt.Sprintf("%d.%d", v[0], v[1]) }

func parsePyVersion(s string) (pyVersion, error) {
	parts, err := parseRelease(s)
	if err != nil || len(parts) > 3 {
		return pyVersion{}, fmt.Errorf("%q is not a Python version", s)
	}
	var v pyVersion
	copy(v[:], parts)
	return v, nil
}

// parseRelease parses a dotted release number ("3", "3.10", "3.10.2").
func parseRelease(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	fields := strings.Split(s, ".")
	out := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || strings.TrimLeft(f, "0123456789") != "" {
			return nil, fmt.Errorf("%q is not a release number like 3.11", s)
		}
		out[i] = n
	}
	return out, nil
}

// compareRelease compares two release numbers, padding the shorter with zeros (PEP 440).
func compareRelease(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// clause is one comparison of a PEP 440 specifier, e.g. ">=3.10" or "==3.11.*".
type clause struct {
	op       string
	release  []int
	wildcard bool // "==3.11.*" / "!=3.11.*"
	text     string
}

// specifier is a comma-separated list of clauses that must all hold. Only release numbers are
// supported (no pre-releases, local versions or epochs): that is all requires_python needs.
type specifier []clause

func parseSpecifier(s string) (specifier, error) {
	var out specifier
	for _, raw := range strings.Split(s, ",") {
		text := strings.TrimSpace(raw)
		if text == "" {
			return nil, fmt.Errorf("%q has an empty clause", s)
		}
		var c clause
		for _, op := range []string{"~=", "==", "!=", ">=", "<=", ">", "<"} {
			if strings.HasPrefix(text, op) {
				c.op = op
				break
			}
		}
		if c.op == "" {
			return nil, fmt.Errorf("clause %q of %q needs an operator (>=, <=, >, <, ==, !=, ~=), as in \">=3.10\"", text, s)
		}
		ver := strings.TrimSpace(strings.TrimPrefix(text, c.op))
		if strings.HasSuffix(ver, ".*") {
			if c.op != "==" && c.op != "!=" {
				return nil, fmt.Errorf("clause %q of %q: a .* wildcard only works with == and !=", text, s)
			}
			c.wildcard = true
			ver = strings.TrimSuffix(ver, ".*")
		}
		rel, err := parseRelease(ver)
		if err != nil {
			return nil, fmt.Errorf("clause %q of %q: %w", text, s, err)
		}
		if c.op == "~=" && len(rel) < 2 {
			return nil, fmt.Errorf("clause %q of %q: ~= needs at least two parts, as in ~=3.10", text, s)
		}
		c.release, c.text = rel, c.op+ver
		if c.wildcard {
			c.text += ".*"
		}
		out = append(out, c)
	}
	return out, nil
}

func (c clause) holds(v pyVersion) bool {
	have := v[:]
	switch c.op {
	case "==", "!=":
		eq := false
		if c.wildcard {
			eq = compareRelease(have[:min(len(c.release), 3)], c.release) == 0
		} else {
			eq = compareRelease(have, c.release) == 0
		}
		return eq == (c.op == "==")
	case ">=":
		return compareRelease(have, c.release) >= 0
	case "<=":
		return compareRelease(have, c.release) <= 0
	case ">":
		return compareRelease(have, c.release) > 0
	case "<":
		return compareRelease(have, c.release) < 0
	case "~=":
		prefix := c.release[:len(c.release)-1]
		return compareRelease(have, c.release) >= 0 &&
			compareRelease(have[:min(len(prefix), 3)], prefix) == 0
	}
	return false
}

// tooOld reports whether v fails the clause by being below its lower bound.
func (c clause) tooOld(v pyVersion) bool {
	switch c.op {
	case ">":
		return compareRelease(v[:], c.release) <= 0
	case ">=", "~=":
		return compareRelease(v[:], c.release) < 0
	case "==":
		return compareRelease(v[:min(len(c.release), 3)], c.release) < 0
	}
	return false
}

// firstFailing returns the first clause v does not satisfy, if any.
func (s specifier) firstFailing(v pyVersion) (clause, bool) {
	for _, c := range s {
		if !c.holds(v) {
			return c, true
		}
	}
	return clause{}, false
}

func (s specifier) String() string {
	parts := make([]string, len(s))
	for i, c := range s {
		parts[i] = c.text
	}
	return strings.Join(parts, ",")
}
