package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

// Bundle describes a plugin directory to install, the unpacked form of a plugin .tar.gz.
// Install builds it in this order: copy SourceDir, copy Executable, write Files, write
// plugin.json from Manifest.
type Bundle struct {
	// Manifest is written as plugin.json. When nil, SourceDir must contain a manifest.
	Manifest *model.Manifest
	// SourceDir, when set, is copied into the bundle first (for bundles produced by a
	// bundler, or a checked-in example directory).
	SourceDir string
	// Executable, when set, is the path of a built server binary (see Harness.BuildBinary).
	// It is copied with mode 0755 to the manifest's executable path for this platform; when
	// the manifest names none, to "server/plugin" and the manifest is updated to say so.
	Executable string
	// Files are extra files, by slash-separated path relative to the bundle root.
	Files map[string][]byte
}

// Install creates the plugin's directory inside the Environment's plugin directory and
// returns its path. The plugin is not activated.
func (h *Harness) Install(b Bundle) string {
	h.t.Helper()
	path, err := h.install(b)
	if err != nil {
		h.t.Fatalf("harness: install plugin: %v", err)
	}
	return path
}

func (h *Harness) install(b Bundle) (string, error) {
	manifest := b.Manifest
	if manifest == nil {
		if b.SourceDir == "" {
			return "", fmt.Errorf("a Bundle needs a Manifest or a SourceDir with a plugin.json")
		}
		m, _, err := model.FindManifest(b.SourceDir)
		if err != nil {
			return "", fmt.Errorf("read manifest of %s: %w", b.SourceDir, err)
		}
		manifest = m
	} else {
		c := *manifest
		manifest = &c
	}
	if manifest.Id == "" {
		return "", fmt.Errorf("the manifest has no id")
	}
	dir := filepath.Join(h.pluginDir, manifest.Id)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if b.SourceDir != "" {
		if err := copyTree(b.SourceDir, dir); err != nil {
			return "", fmt.Errorf("copy %s: %w", b.SourceDir, err)
		}
	}
	if b.Executable != "" {
		rel := manifest.GetExecutableForRuntime(runtime.GOOS, runtime.GOARCH)
		if rel == "" {
			rel = "server/plugin"
			server := model.ManifestServer{}
			if manifest.Server != nil {
				server = *manifest.Server
			}
			server.Executable = rel
			manifest.Server = &server
		}
		if err := copyFile(b.Executable, filepath.Join(dir, filepath.FromSlash(rel)), 0o755); err != nil {
			return "", fmt.Errorf("copy executable: %w", err)
		}
	}
	for rel, data := range b.Files {
		clean := filepath.Clean(filepath.FromSlash(rel))
		if filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
			return "", fmt.Errorf("bundle file %q must be a relative path inside the bundle", rel)
		}
		target := filepath.Join(dir, clean)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return "", err
		}
	}
	if b.Manifest != nil || b.Executable != "" {
		data, err := json.MarshalIndent(manifest, "", "  ")
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "plugin.json"), data, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s: only regular files and directories can be bundled", path)
		}
		return copyFile(path, target, info.Mode().Perm())
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
