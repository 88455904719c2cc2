package convert

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/protobuf/proto"
)

var crossCases = flag.Int("crosslang.cases", 100, "random cases per model type in TestGoPythonGo")

// crossException is a difference docs/protocol.md lists as not representable in Python
// ("Not kept across Python"); the test counts these instead of failing. Empty: every
// difference is a failure.
var crossExceptions = []struct {
	name string
	// matches reports whether a differing case is this documented exception.
	matches func(orig, got any) bool
}{}

// TestGoPythonGo sends the random filler's values of every model type through the real Python
// converters (protobuf → dataclass → protobuf, in one Python subprocess for the whole batch)
// and back into Go: the result must be reflect.DeepEqual to what Go sent.
func TestGoPythonGo(t *testing.T) {
	python := repoPython(t)
	cases := *crossCases
	type sent struct {
		codec ModelCodec
		n     int
		orig  any
	}
	var batch []sent
	for i, c := range Models {
		f := newFiller(*seedFlag + uint64(i)*1_000_003)
		for n := range cases {
			orig := reflect.New(c.Go)
			if n > 0 { // case 0 is the zero value
				f.fill(orig.Elem(), 0, false)
			}
			batch = append(batch, sent{c, n, orig.Interface()})
		}
	}

	// Deeply nested `any` values (post props a user controls): lists and maps at the depths the
	// protocol must carry, far beyond protobuf's recursion limits (docs/protocol.md).
	deepCodec := codecNamed(t, "Post")
	for _, depth := range deepDepths {
		post := &model.Post{Message: "deep", Props: model.StringInterface{
			"list": deepList(depth), "map": deepMap(depth), "mixed": deepMixed(depth),
		}}
		batch = append(batch, sent{deepCodec, depth, post})
	}

	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "python", "tests", "gen", "go_echo.py")
	cmd := exec.Command(python, script)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(stdin)
		var err error
		for _, s := range batch {
			m, e := s.codec.ToProto(s.orig)
			if e != nil {
				err = fmt.Errorf("%s case %d: to proto: %w", s.codec.Name, s.n, e)
				break
			}
			wire, e := proto.Marshal(m)
			if e != nil {
				err = fmt.Errorf("%s case %d: marshal: %w", s.codec.Name, s.n, e)
				break
			}
			writeFrame(w, []byte(s.codec.Name))
			writeFrame(w, wire)
		}
		if e := w.Flush(); err == nil {
			err = e
		}
		stdin.Close()
		writeErr <- err
	}()

	r := bufio.NewReader(stdout)
	failures := map[string]int{}
	exceptions := map[string]int{}
	var firstFailure []string
	for _, s := range batch {
		status, data, err := readReply(r)
		if err != nil {
			t.Fatalf("reading Python's reply for %s case %d: %v", s.codec.Name, s.n, err)
		}
		fail := func(msg string) {
			if failures[s.codec.Name] == 0 && len(firstFailure) < 40 {
				firstFailure = append(firstFailure, fmt.Sprintf("%s case %d (seed %d): %s", s.codec.Name, s.n, *seedFlag, msg))
			}
			failures[s.codec.Name]++
		}
		if status != 0 {
			fail("Python failed:\n" + string(data))
			continue
		}
		back := s.codec.NewProto()
		if err := proto.Unmarshal(data, back); err != nil {
			fail("unmarshal Python's reply: " + err.Error())
			continue
		}
		got, err := s.codec.FromProto(back)
		if err != nil {
			fail("from proto: " + err.Error())
			continue
		}
		if reflect.DeepEqual(s.orig, got) {
			continue
		}
		if name := crossException(s.orig, got); name != "" {
			exceptions[name]++
			continue
		}
		fail("Go → Python → Go differs at " + firstDiff(s.codec.Name, reflect.ValueOf(s.orig), reflect.ValueOf(got)))
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("python %s: %v", script, err)
	}
	nExceptions := 0
	for _, n := range exceptions {
		nExceptions += n
	}
	summary := fmt.Sprintf("Go → Python → Go: %d model types, %d cases (%d per type, seed %d, plus %d posts with props nested %v deep), %d documented exceptions %v, %d types failing",
		len(Models), len(batch), cases, *seedFlag, len(deepDepths), deepDepths, nExceptions, exceptions, len(failures))
	t.Log(summary)
	if testing.Verbose() {
		fmt.Println("SUMMARY " + summary)
	}
	for _, f := range firstFailure {
		t.Error(f)
	}
}

// deepDepths are the nesting depths of the deep-props cases (depth 0 is a leaf).
var deepDepths = []int{0, 1, 49, 50, 99, 100, 1000, 10_000}

// deepList is a []any nested depth levels deep, with a typed leaf at the bottom.
func deepList(depth int) any {
	var v any = []string(nil)
	for i := range depth {
		v = []any{v, i}
	}
	return v
}

// deepMap is a map[string]any nested depth levels deep.
func deepMap(depth int) any {
	var v any = time.Unix(1, 123456789).UTC()
	for i := range depth {
		v = map[string]any{"k": v, "i": int32(i), "n": nil}
	}
	return v
}

// deepMixed alternates lists and maps.
func deepMixed(depth int) any {
	var v any = map[string]any(nil)
	for i := range depth {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"m": v, "b": []byte(nil)}
		}
	}
	return v
}

func codecNamed(t *testing.T, name string) ModelCodec {
	for _, c := range Models {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no model codec %q", name)
	return ModelCodec{}
}

func crossException(orig, got any) string {
	for _, e := range crossExceptions {
		if e.matches(orig, got) {
			return e.name
		}
	}
	return ""
}

// repoPython is the repository venv's interpreter (make setup creates it).
func repoPython(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", ".venv", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the repository venv is missing (%v): run `make setup`", err)
	}
	return p
}

func writeFrame(w *bufio.Writer, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	w.Write(n[:])
	w.Write(b)
}

func readReply(r *bufio.Reader) (status byte, data []byte, err error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	data = make([]byte, binary.BigEndian.Uint32(head[1:]))
	_, err = io.ReadFull(r, data)
	return head[0], data, err
}

// firstDiff names the first place where a and b differ (path, Go types and values), for
// failure messages that point at the field instead of dumping whole structs.
func firstDiff(path string, a, b reflect.Value) string {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
		}
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
	}
	if a.Type() == timeT && a.CanInterface() {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
			}
			return ""
		}
		return firstDiff(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if d := firstDiff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
		}
		for i := range a.Len() {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
		}
		for _, k := range a.MapKeys() {
			if d := firstDiff(fmt.Sprintf("%s[%q]", path, fmt.Sprint(k.Interface())), a.MapIndex(k), b.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	}
	if a.CanInterface() && !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %s vs %s", path, describe(a), describe(b))
	}
	return ""
}

func describe(v reflect.Value) string {
	if !v.IsValid() {
		return "untyped nil"
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Map || v.Kind() == reflect.Pointer) && v.IsNil() {
		return fmt.Sprintf("%s(nil)", v.Type())
	}
	switch v.Kind() {
	case reflect.Pointer:
		return "&" + describe(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return "untyped nil"
		}
		return describe(v.Elem())
	}
	if v.CanInterface() {
		return fmt.Sprintf("%s(%.80v)", v.Type(), v.Interface())
	}
	return v.Type().String()
}
