package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Binaries built by BuildBinary live for the whole test process in one temporary directory
// (removed by Main), keyed by package, so each package is compiled once per process however
// many tests install it.
var builds struct {
	mu   sync.Mutex
	dir  string
	pkgs map[string]*buildResult
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// BuildBinary compiles the Go main package pkg (an import path such as
// "github.com/mmplugin/mmplugin/cmd/mmplugin-host", or a path relative to the test's working
// directory such as "./testdata/goplugin") once per test process and returns the binary's
// path. A failed build fails the test with the compiler output.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	path, err := buildBinary(pkg)
	if err != nil {
		t.Fatalf("harness: build %s: %v", pkg, err)
	}
	return path
}

func buildBinary(pkg string) (string, error) {
	key := pkg
	// Only "./x", "../x" and absolute paths are directories; "github.com/…" is an import path
	// even though filepath.IsLocal would accept it.
	if strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../") || filepath.IsAbs(pkg) {
		abs, err := filepath.Abs(pkg)
		if err != nil {
			return "", err
		}
		key = abs
	}

	builds.mu.Lock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "mmplugin-harness-bin-")
		if err != nil {
			builds.mu.Unlock()
			return "", err
		}
		builds.dir = dir
		builds.pkgs = map[string]*buildResult{}
	}
	res := builds.pkgs[key]
	if res == nil {
		res = &buildResult{}
		builds.pkgs[key] = res
	}
	dir := builds.dir
	builds.mu.Unlock()

	res.once.Do(func() {
		sum := sha256.Sum256([]byte(key))
		out := filepath.Join(dir, filepath.Base(key)+"-"+hex.EncodeToString(sum[:6]))
		target := pkg
		if key != pkg {
			target = key
		}
		cmd := exec.Command("go", "build", "-o", out, target)
		// No VCS stamping: test binaries need none, and it fails in some checkouts.
		cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -buildvcs=false"))
		if output, err := cmd.CombinedOutput(); err != nil {
			res.err = fmt.Errorf("go build -o %s %s: %v\n%s", out, target, err, output)
			return
		}
		res.path = out
	})
	return res.path, res.err
}

// Main runs the tests of a package that uses the harness and then removes the binaries
// BuildBinary made. Call it from TestMain:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	builds.mu.Lock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
	}
	builds.mu.Unlock()
	os.Exit(code)
}
