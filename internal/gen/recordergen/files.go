package recordergen

import (
	"github.com/mmplugin/mmplugin/internal/gen/ir"
)

// NotSupportedPath is where the in-memory API's not-supported base is written, relative to
// the repository root.
const NotSupportedPath = "internal/harness/memapi/notsupported_gen.go"

// Generate renders every file this emitter owns, keyed by path relative to the repository
// root (the cmd/mmplugin-gen emitter signature).
func Generate(s *ir.Surface) (map[string][]byte, error) {
	src, err := NotSupported("memapi", "plugin.API of "+s.Module+"@"+s.Version, s.API)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{NotSupportedPath: src}, nil
}
