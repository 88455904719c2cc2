package execenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookupLastDefinitionWins(t *testing.T) {
	env := []string{"A=1", "PATH=/bin", "A=2"}
	if v, ok := Lookup(env, "A"); !ok || v != "2" {
		t.Fatalf("Lookup(A) = %q, %v", v, ok)
	}
	if _, ok := Lookup(env, "B"); ok {
		t.Fatal("Lookup(B) found a value")
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Find("tool", "relative:"+dir); err != nil || got != exe {
		t.Fatalf("Find(tool) = %q, %v", got, err)
	}
	if _, err := Find("data", dir); err == nil {
		t.Fatal("a non-executable file was found")
	}
	if _, err := Find("tool", "relative"); err == nil {
		t.Fatal("a relative PATH entry was searched")
	}
	if got, err := Find(exe, ""); err != nil || got != exe {
		t.Fatalf("Find(path) = %q, %v", got, err)
	}
}
