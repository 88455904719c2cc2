package pygen

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxLine is ruff's line length for the Python package (python/pyproject.toml).
const maxLine = 100

// writer accumulates Python source. It emits code already in `ruff format` style so that the
// generated files pass `ruff format --check` without running ruff: a construct that fits on one
// line is written on one line, anything longer is exploded one item per line with a trailing
// comma (ruff keeps such "magic trailing comma" layouts as they are).
type writer struct {
	b strings.Builder
}

func (w *writer) String() string { return w.b.String() }

// line writes one line at the given indentation level (4 spaces each).
func (w *writer) line(indent int, format string, args ...any) {
	s := format
	if len(args) > 0 {
		s = fmt.Sprintf(format, args...)
	}
	if s == "" {
		w.b.WriteString("\n")
		return
	}
	w.b.WriteString(strings.Repeat("    ", indent))
	w.b.WriteString(s)
	w.b.WriteString("\n")
}

func (w *writer) blank(n int) {
	for range n {
		w.b.WriteString("\n")
	}
}

// fits reports whether text written at indent fits the line length.
func fits(indent int, text string) bool {
	return 4*indent+utf8.RuneCountInString(text) <= maxLine
}

// call writes `head(items...)tail` at indent, on one line when it fits, else exploded one item
// per line with a trailing comma. head ends just before the opening bracket's content, e.g.
// "return _m.Post(" with open "(" already included; closing is e.g. ")" or "):".
func (w *writer) call(indent int, head string, items []string, closing string) {
	one := head + strings.Join(items, ", ") + closing
	if fits(indent, one) {
		w.line(indent, "%s", one)
		return
	}
	w.line(indent, "%s", head)
	for _, it := range items {
		w.expr(indent+1, "", it, ",")
	}
	w.line(indent, "%s", closing)
}

// expr writes prefix+e+suffix at indent; when it does not fit and e is a call (or a bracketed
// literal), the call's arguments are exploded one per line, recursively.
func (w *writer) expr(indent int, prefix, e, suffix string) {
	if fits(indent, prefix+e+suffix) {
		w.line(indent, "%s%s%s", prefix, e, suffix)
		return
	}
	if k := kwargName(e); k != "" {
		prefix, e = prefix+k, e[len(k):]
		if fits(indent, prefix+e+suffix) {
			w.line(indent, "%s%s%s", prefix, e, suffix)
			return
		}
	}
	head, args, closing, ok := splitCall(e)
	if !ok {
		w.line(indent, "%s%s%s", prefix, e, suffix) // cannot split: left to the line checker
		return
	}
	w.call(indent, prefix+head, args, closing+suffix)
}

// kwargName returns "name=" when e starts with a keyword argument.
func kwargName(e string) string {
	for i, r := range e {
		switch {
		case r == '=' && i > 0 && (i+1 >= len(e) || e[i+1] != '='):
			return e[:i+1]
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9':
		default:
			return ""
		}
	}
	return ""
}

// splitCall splits "f(a, b(c, d), e)" into "f(", [a, b(c, d), e], ")"; also "[...]", "(...)".
// It only accepts expressions whose last character closes the first opening bracket.
func splitCall(e string) (head string, args []string, closing string, ok bool) {
	open := strings.IndexAny(e, "([")
	if open < 0 {
		return "", nil, "", false
	}
	for _, r := range e[:open] {
		if !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", nil, "", false
		}
	}
	depth, start := 0, open+1
	inStr := byte(0)
	for i := open; i < len(e); i++ {
		c := e[i]
		if inStr != 0 {
			if c == '\\' {
				i++
			} else if c == inStr {
				inStr = 0
			}
			continue
		}
		switch c {
		case '"', '\'':
			inStr = c
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				if i != len(e)-1 {
					return "", nil, "", false
				}
				if last := strings.TrimSpace(e[start:i]); last != "" {
					args = append(args, last)
				}
				for _, a := range args {
					if strings.Contains(a, " for ") { // a comprehension, not an argument list
						return "", nil, "", false
					}
				}
				return e[:open+1], args, e[i:], len(args) > 0
			}
		case ',':
			if depth == 1 {
				args = append(args, strings.TrimSpace(e[start:i]))
				start = i + 1
			}
		}
	}
	return "", nil, "", false
}

// docstring writes a docstring at indent. Lines are rewrapped at word boundaries to the line
// length (Go doc comments are often wider), tabs become spaces, backslashes and triple quotes
// are escaped, and characters ruff flags as ambiguous are replaced by their ASCII twins.
func (w *writer) docstring(indent int, text string) {
	text = cleanDoc(text)
	if text == "" {
		return
	}
	lines := wrapLines(strings.Split(`"""`+text, "\n"), maxLine-4*indent)
	lines[0] = strings.TrimPrefix(lines[0], `"""`)
	if len(lines) == 1 && fits(indent, `"""`+lines[0]+`"""`) && !strings.HasSuffix(lines[0], `"`) {
		w.line(indent, `"""%s"""`, lines[0])
		return
	}
	w.line(indent, `"""%s`, lines[0])
	for _, l := range lines[1:] {
		w.line(indent, "%s", l)
	}
	w.line(indent, `"""`)
}

// ambiguous maps characters ruff's RUF001-RUF003 report in strings and docstrings.
var ambiguous = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201c", `"`, "\u201d", `"`, "\u2013", "-", "\u2212", "-",
	"\u00a0", " ", "\u2010", "-", "\u2011", "-", "\u00b4", "'", "\u2032", "'",
)

func cleanDoc(text string) string {
	text = strings.ReplaceAll(text, "\t", "    ")
	text = ambiguous.Replace(text)
	text = strings.ReplaceAll(text, `\`, `\\`)
	text = strings.ReplaceAll(text, `"""`, `\"\"\"`)
	var out []string
	for _, l := range strings.Split(text, "\n") {
		out = append(out, strings.TrimRight(l, " "))
	}
	return strings.Trim(strings.Join(out, "\n"), "\n ")
}

// wrapLines breaks lines longer than width at spaces, keeping each line's indentation.
func wrapLines(lines []string, width int) []string {
	var out []string
	for _, l := range lines {
		for utf8.RuneCountInString(l) > width {
			indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
			cut := -1
			for i, r := range l {
				if utf8.RuneCountInString(l[:i]) > width {
					break
				}
				if r == ' ' && i > len(indent) {
					cut = i
				}
			}
			if cut < 0 {
				break // one long word (a URL): leave it, ruff's E501 ignores such lines
			}
			out = append(out, strings.TrimRight(l[:cut], " "))
			l = indent + strings.TrimLeft(l[cut:], " ")
		}
		out = append(out, l)
	}
	return out
}

// pyString is a Python string literal in ruff's preferred double quotes.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
