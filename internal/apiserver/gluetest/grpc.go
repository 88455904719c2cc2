package gluetest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// Serve starts s on a unix socket in a fresh temporary directory (the transport mmplugin
// uses: no TCP) and returns a client connection to it. Both are closed when the test ends.
func Serve(t testing.TB, s *grpc.Server) *grpc.ClientConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "glue") // short: unix socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

var surface *ir.Surface

// Surface loads the IR once per test binary (the tests run from a package directory two
// levels below the repository root).
func Surface(t testing.TB) *ir.Surface {
	t.Helper()
	if surface == nil {
		s, err := ir.Load(ir.Options{FieldNumbersPath: filepath.Join(repoRoot(t), "proto", "fieldnumbers.json")})
		if err != nil {
			t.Fatal(err)
		}
		surface = s
	}
	return surface
}

func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
