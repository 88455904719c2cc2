package apiserver

import (
	"context"
	"encoding/json"

	"github.com/mmplugin/mmplugin/internal/convert"
	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// LoadPluginConfiguration serves plugin.API.LoadPluginConfiguration. Its Go parameter is an
// out-parameter (dest any), so the RPC returns the configuration as JSON, exactly the bytes
// Mattermost's own RPC sends; the SDK decodes them into the plugin's configuration type.
//
// dest is a json.RawMessage: every implementation (Mattermost's RPC client and the server's
// PluginAPI) fills dest with json.Unmarshal, which copies the raw bytes, so numbers keep their
// precision instead of going through float64.
func (s *apiService) LoadPluginConfiguration(_ context.Context, _ *pb.LoadPluginConfigurationRequest) (_ *pb.LoadPluginConfigurationResponse, rerr error) {
	defer s.catch("LoadPluginConfiguration", &rerr)
	var raw json.RawMessage
	if err := s.api.LoadPluginConfiguration(&raw); err != nil {
		return &pb.LoadPluginConfigurationResponse{Error: convert.ErrorToProto(err)}, nil
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null") // what json.Marshal of an untouched dest gives in Mattermost's RPC
	}
	return &pb.LoadPluginConfigurationResponse{ConfigJson: raw}, nil
}
