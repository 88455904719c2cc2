package memapi

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

func (s *Server) configSnapshot() *model.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.Clone()
}

// GetConfig returns the configuration without secrets, as plugins get it: passwords and keys
// are masked, plugin settings marked secret are masked, and settings of plugins that are not
// installed are left out.
func (a *API) GetConfig() *model.Config {
	cfg := a.s.configSnapshot()
	manifests := a.s.installedManifests()
	if a.manifest != nil {
		manifests = append(manifests, a.manifest)
	}
	cfg.Sanitize(manifests, nil)
	return cfg
}

// installedManifests reads the manifests of the bundles in the plugin directory, as the
// server's sanitizer gets them from the plugin environment.
func (s *Server) installedManifests() []*model.Manifest {
	entries, err := os.ReadDir(s.pluginDir)
	if err != nil {
		return nil
	}
	var out []*model.Manifest
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info := model.BundleInfoForPath(filepath.Join(s.pluginDir, e.Name())); info.Manifest != nil {
			out = append(out, info.Manifest)
		}
	}
	return out
}

// GetUnsanitizedConfig returns the configuration with secrets.
func (a *API) GetUnsanitizedConfig() *model.Config {
	return a.s.configSnapshot()
}

// SaveConfig replaces the configuration and, like the server's config listener, calls
// OnConfigurationChange on every active plugin (synchronously, errors only logged).
func (a *API) SaveConfig(config *model.Config) *model.AppError {
	if config == nil {
		return badRequest("SaveConfig", "api.context.invalid_body_param.app_error", "config is nil")
	}
	a.s.SaveConfig(config)
	return nil
}

// SaveConfig is the server side of API.SaveConfig, for tests.
func (s *Server) SaveConfig(config *model.Config) {
	cfg := config.Clone()
	cfg.SetDefaults()
	s.mu.Lock()
	cfg.PluginSettings.Directory = s.cfg.PluginSettings.Directory
	s.cfg = cfg
	s.mu.Unlock()
	s.configChanged()
}

// GetPluginConfig returns the calling plugin's settings (PluginSettings.Plugins[id]).
func (a *API) GetPluginConfig() map[string]any {
	cfg := a.GetConfig()
	if pc, ok := cfg.PluginSettings.Plugins[a.pluginID]; ok && a.pluginID != "" {
		return pc
	}
	return map[string]any{}
}

// SavePluginConfig replaces the calling plugin's settings and fires OnConfigurationChange.
func (a *API) SavePluginConfig(config map[string]any) *model.AppError {
	if appErr := a.requirePlugin("SavePluginConfig"); appErr != nil {
		return appErr
	}
	a.s.SetPluginConfig(a.pluginID, config)
	return nil
}

// SetPluginConfig replaces one plugin's settings (what an admin does in the System Console)
// and, like the server, calls OnConfigurationChange on every active plugin.
func (s *Server) SetPluginConfig(pluginID string, config map[string]any) {
	s.mu.Lock()
	cfg := s.cfg.Clone()
	if cfg.PluginSettings.Plugins == nil {
		cfg.PluginSettings.Plugins = map[string]map[string]any{}
	}
	cfg.PluginSettings.Plugins[pluginID] = maps.Clone(config)
	s.cfg = cfg
	s.mu.Unlock()
	s.configChanged()
}

func (s *Server) configChanged() {
	s.runHook(plugin.OnConfigurationChangeID, func(hooks plugin.Hooks, manifest *model.Manifest) bool {
		if err := hooks.OnConfigurationChange(); err != nil {
			s.logger.Error("Plugin OnConfigurationChange hook failed", logField("plugin_id", manifest.Id), logErr(err))
		}
		return true
	})
}

// LoadPluginConfiguration fills dest (a pointer to a struct or map) from the plugin's
// settings: the manifest's defaults, overridden by the saved values, keys matched
// case-insensitively through JSON, exactly like the app layer.
func (a *API) LoadPluginConfiguration(dest any) error {
	final := map[string]any{}
	if a.manifest != nil && a.manifest.SettingsSchema != nil {
		for _, setting := range a.manifest.SettingsSchema.Settings {
			final[strings.ToLower(setting.Key)] = setting.Default
		}
	}
	cfg := a.s.configSnapshot()
	for key, value := range cfg.PluginSettings.Plugins[a.pluginID] {
		final[strings.ToLower(key)] = value
	}
	b, err := json.Marshal(final)
	if err != nil {
		a.logger.Errorw("Error marshaling config for plugin", "error", err.Error())
		return nil
	}
	if err := json.Unmarshal(b, dest); err != nil {
		a.logger.Errorw("Error unmarshaling config for plugin", "error", err.Error())
	}
	return nil
}
