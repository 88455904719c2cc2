package supervisor

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// bootstrapFormat is the layout version of the bootstrap JSON (mmplugin._runtime.bootstrap).
const bootstrapFormat = 1

// bootstrap is what the Python process reads from fd 3 before anything else. It travels on a
// pipe, never in the environment or argv (both readable through /proc), because it holds the
// launch secret; for the same reason it is never logged.
type bootstrap struct {
	Format           int      `json:"format"`
	PluginID         string   `json:"plugin_id"`
	PluginDir        string   `json:"plugin_dir"`
	EntryPoint       string   `json:"entry_point"`
	SysPath          []string `json:"sys_path"`
	SocketDir        string   `json:"socket_dir"`
	PluginSocket     string   `json:"plugin_socket"`
	APISocket        string   `json:"api_socket"`
	CallsSocket      string   `json:"calls_socket"`
	Secret           string   `json:"secret"`
	ProtocolVersions []uint32 `json:"protocol_versions"`
	LogLevel         string   `json:"log_level"`
}

// newSecret returns 32 random bytes, base64url-encoded (safe in gRPC metadata and in JSON).
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot make a launch secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
