package supervisor

import (
	"os/exec"
	"strconv"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
)

func itoa(n int) string { return strconv.Itoa(n) }

func grpcInsecure() grpc.DialOption {
	return grpc.WithTransportCredentials(insecure.NewCredentials())
}

func newHealthServer() *health.Server {
	h := health.NewServer()
	h.SetServingStatus(HealthService, 1)
	return h
}

// runPython runs a script with the repo venv's Python and returns its stdout.
func runPython(t *testing.T, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(repoPython(t), append([]string{"-c", script}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}
