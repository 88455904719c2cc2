// Package execenv finds executables and reads variables in an explicit environment (a
// []string of NAME=value, such as the server's, which is not necessarily this process's), the
// way the host picks the Python interpreter of a plugin.
package execenv

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Lookup returns the value of name in env; the last definition wins, as for exec.
func Lookup(env []string, name string) (string, bool) {
	for _, kv := range slices.Backward(env) {
		if n, v, ok := strings.Cut(kv, "="); ok && n == name {
			return v, true
		}
	}
	return "", false
}

// Find resolves name — a path, or a bare name searched in the absolute entries of pathEnv (never
// relative to the working directory) — to an executable file's absolute path.
func Find(name, pathEnv string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) {
		if err := IsExecutable(name); err != nil {
			return "", err
		}
		return filepath.Abs(name)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if IsExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH", name)
}

// IsExecutable reports why path is not an executable regular file, or nil if it is.
func IsExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
