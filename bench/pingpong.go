package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// PingPongEnv, when set in a process's environment, makes ServePingPongChild the process's
// whole job: the test binary re-executes itself as the echo side of PingPong.
const PingPongEnv = "MMPLUGIN_BENCH_PINGPONG_CHILD"

// PingPong measures the raw floor under every plugin call: a round trip of size bytes over a
// unix socketpair between this process and a child process, n times after warmup round trips.
// self is an executable that calls ServePingPongChild when PingPongEnv is set (the test binary,
// os.Args[0], through TestMain).
func PingPong(self string, size, warmup, n int) ([]time.Duration, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "pingpong-parent")
	theirs := os.NewFile(uintptr(fds[1]), "pingpong-child")
	defer mine.Close()

	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", PingPongEnv, size))
	cmd.ExtraFiles = []*os.File{theirs} // fd 3 in the child
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		theirs.Close()
		return nil, fmt.Errorf("start the ping-pong child: %w", err)
	}
	theirs.Close()
	defer func() {
		mine.Close() // the child sees EOF and exits
		_ = cmd.Wait()
	}()

	buf := make([]byte, size)
	samples := make([]time.Duration, 0, n)
	for i := range warmup + n {
		start := time.Now()
		if _, err := mine.Write(buf); err != nil {
			return nil, fmt.Errorf("ping: %w", err)
		}
		if _, err := io.ReadFull(mine, buf); err != nil {
			return nil, fmt.Errorf("pong: %w", err)
		}
		if i >= warmup {
			samples = append(samples, time.Since(start))
		}
	}
	return samples, nil
}

// ServePingPongChild echoes messages of the size given in PingPongEnv on fd 3 until EOF.
func ServePingPongChild() error {
	var size int
	if _, err := fmt.Sscan(os.Getenv(PingPongEnv), &size); err != nil || size <= 0 {
		return fmt.Errorf("%s=%q is not a message size", PingPongEnv, os.Getenv(PingPongEnv))
	}
	conn := os.NewFile(3, "pingpong")
	buf := make([]byte, size)
	for {
		if _, err := io.ReadFull(conn, buf); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if _, err := conn.Write(buf); err != nil {
			return err
		}
	}
}
