package memapi

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// serverID stands in for the server's diagnostic/telemetry id.
const serverID = "harnessserveridxxxxxxxxxxx"

// GetServerVersion returns the version of the pinned Mattermost module (model.CurrentVersion).
func (a *API) GetServerVersion() string { return model.CurrentVersion }

// GetBundlePath returns the absolute path of the calling plugin's bundle.
func (a *API) GetBundlePath() (string, error) {
	if appErr := a.requirePlugin("GetBundlePath"); appErr != nil {
		return "", appErr
	}
	return a.s.BundlePath(a.pluginID), nil
}

// GetPluginID returns the calling plugin's id.
func (a *API) GetPluginID() string { return a.pluginID }

// GetLicense returns nil: the harness is an unlicensed (Team Edition) server.
func (a *API) GetLicense() *model.License { return nil }

// IsEnterpriseReady reports false, like a Team Edition build.
func (a *API) IsEnterpriseReady() bool { return false }

// GetSystemInstallDate returns when the Server was created.
func (a *API) GetSystemInstallDate() (int64, *model.AppError) { return a.s.installAt, nil }

// GetDiagnosticId returns a fixed server id.
func (a *API) GetDiagnosticId() string { return serverID }

// GetTelemetryId returns a fixed server id.
func (a *API) GetTelemetryId() string { return serverID }

// WebSocketEvent is one event a plugin published.
type WebSocketEvent struct {
	// Event is the event name as clients see it: "custom_<pluginid>_<event>" for
	// PublishWebSocketEvent, "typing" for PublishUserTyping.
	Event     string
	Payload   map[string]any
	Broadcast *model.WebsocketBroadcast
}

// PublishWebSocketEvent records the event under the name the server would broadcast.
func (a *API) PublishWebSocketEvent(event string, payload map[string]any, broadcast *model.WebsocketBroadcast) {
	var b *model.WebsocketBroadcast
	if broadcast != nil {
		c := *broadcast
		b = &c
	}
	a.s.recordWebSocket(WebSocketEvent{
		Event:     fmt.Sprintf("custom_%v_%v", a.pluginID, event),
		Payload:   maps.Clone(payload),
		Broadcast: b,
	})
}

// PublishUserTyping records a "typing" event for the channel.
func (a *API) PublishUserTyping(userID, channelID, parentID string) *model.AppError {
	a.s.recordWebSocket(WebSocketEvent{
		Event:     string(model.WebsocketEventTyping),
		Payload:   map[string]any{"parent_id": parentID, "user_id": userID},
		Broadcast: &model.WebsocketBroadcast{ChannelId: channelID, OmitUsers: map[string]bool{userID: true}},
	})
	return nil
}

func (s *Server) recordWebSocket(ev WebSocketEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wsEvents = append(s.wsEvents, ev)
}

// WebSocketEvents returns every published event so far, in order.
func (s *Server) WebSocketEvents() []WebSocketEvent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]WebSocketEvent(nil), s.wsEvents...)
}

// ClusterEvent is one PublishPluginClusterEvent call.
type ClusterEvent struct {
	PluginID string
	Event    model.PluginClusterEvent
	Options  model.PluginClusterEventSendOptions
}

// PublishPluginClusterEvent simulates a second cluster node running the same plugin: the
// event is recorded and delivered asynchronously to OnPluginClusterEvent of the same plugin
// id (on a real cluster it reaches the plugin on the other nodes).
func (a *API) PublishPluginClusterEvent(ev model.PluginClusterEvent, opts model.PluginClusterEventSendOptions) error {
	if appErr := a.requirePlugin("PublishPluginClusterEvent"); appErr != nil {
		return appErr
	}
	s := a.s
	s.mu.Lock()
	s.clusterEvents = append(s.clusterEvents, ClusterEvent{PluginID: a.pluginID, Event: ev, Options: opts})
	s.mu.Unlock()

	env := s.env()
	if env == nil {
		return nil
	}
	pluginID := a.pluginID
	s.async.goAsync(func() {
		hooks, err := env.HooksForPlugin(pluginID)
		if err != nil {
			s.logger.Warn("cluster event for a plugin that is not active", logField("plugin_id", pluginID), logErr(err))
			return
		}
		hooks.OnPluginClusterEvent(&plugin.Context{}, model.PluginClusterEvent{Id: ev.Id, Data: ev.Data})
	})
	return nil
}

// ClusterEvents returns every published cluster event so far, in order.
func (s *Server) ClusterEvents() []ClusterEvent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]ClusterEvent(nil), s.clusterEvents...)
}

// PluginHTTP sends an inter-plugin request to the ServeHTTP hook of the plugin named by the
// first path segment (/<plugin id>/<path>), like the app layer's ServeInterPluginRequest,
// with the Mattermost-Plugin-ID header set to the caller.
func (a *API) PluginHTTP(request *http.Request) *http.Response {
	fail := func(status int, msg string) *http.Response {
		return &http.Response{
			StatusCode: status,
			Status:     http.StatusText(status),
			Header:     http.Header{},
			Body:       io.NopCloser(bytes.NewBufferString(msg)),
		}
	}
	split := strings.SplitN(request.URL.Path, "/", 3)
	if len(split) != 3 {
		return fail(http.StatusBadRequest, "Not enough URL. Form of URL should be /<pluginid>/*")
	}
	destination := split[1]
	newURL, err := url.Parse("/" + split[2])
	if destination == "" || err != nil {
		return fail(http.StatusBadRequest, "No plugin specified. Form of URL should be /<pluginid>/*")
	}
	newURL.RawQuery = request.URL.Query().Encode()
	request.URL = newURL

	env := a.s.env()
	if env == nil {
		return fail(http.StatusNotFound, "no plugin environment is connected")
	}
	hooks, err := env.HooksForPlugin(destination)
	if err != nil {
		return fail(http.StatusNotFound, "could not find plugin "+destination)
	}
	request.Header.Del("Mattermost-User-Id")
	request.Header.Set("Mattermost-Plugin-ID", a.pluginID)
	recorder := httptest.NewRecorder()
	hooks.ServeHTTP(&plugin.Context{}, recorder, request)
	return recorder.Result()
}
