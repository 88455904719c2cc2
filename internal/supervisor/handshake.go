package supervisor

import (
	"fmt"
	"strings"
)

// The Python process announces itself with go-plugin's handshake line on stdout,
// CORE|APP|NETWORK|ADDRESS|PROTOCOL. Using go-plugin's format (not an invention of ours) keeps
// the plugin process compatible with a server that one day starts gRPC plugins itself.
const (
	handshakeCoreVersion = "1"
	handshakeAppVersion  = "1"
)

// parseHandshake returns the socket address if line is a handshake line for a unix gRPC socket.
func parseHandshake(line string) (addr string, err error) {
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) < 5 {
		return "", fmt.Errorf("not a handshake line")
	}
	switch {
	case parts[0] != handshakeCoreVersion:
		return "", fmt.Errorf("handshake core version %q is not %s", parts[0], handshakeCoreVersion)
	case parts[1] != handshakeAppVersion:
		return "", fmt.Errorf("handshake app version %q is not %s: the mmplugin SDK and mmplugin-host do not match", parts[1], handshakeAppVersion)
	case parts[2] != "unix":
		return "", fmt.Errorf("handshake network %q is not unix", parts[2])
	case parts[4] != "grpc":
		return "", fmt.Errorf("handshake protocol %q is not grpc", parts[4])
	}
	return parts[3], nil
}
