package host

import (
	"io"
	"net/http"
	"reflect"

	"github.com/mattermost/mattermost/server/public/plugin"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// lifecycleHooks are replayed by the host itself after a restart of the Python process
// (replayActivation) or answered by it (Implemented): never queued or retried.
var lifecycleHooks = map[string]bool{
	"OnActivate": true, "OnDeactivate": true, "OnConfigurationChange": true, "Implemented": true,
}

// hookDelivery says which hooks outlive a restart of the Python process, by full gRPC method
// name: notification hooks (no results) are queued and delivered to the new process; hooks with
// results are sent once more to it when the process died during the call. Streamed hooks
// (ServeHTTP, FileWillBeUploaded) are neither: their bodies cannot be replayed.
func hookDelivery() (queued, retried map[string]bool) {
	queued, retried = map[string]bool{}, map[string]bool{}
	prefix := "/" + pb.PluginHooksService_ServiceDesc.ServiceName + "/"
	streams := []reflect.Type{reflect.TypeFor[http.ResponseWriter](), reflect.TypeFor[*http.Request](),
		reflect.TypeFor[io.Reader](), reflect.TypeFor[io.Writer]()}
	hooks := reflect.TypeFor[plugin.Hooks]()
	for i := range hooks.NumMethod() {
		m := hooks.Method(i)
		if lifecycleHooks[m.Name] {
			continue
		}
		streamed := false
		for j := range m.Type.NumIn() {
			for _, st := range streams {
				streamed = streamed || m.Type.In(j) == st
			}
		}
		switch {
		case streamed:
		case m.Type.NumOut() == 0:
			queued[prefix+m.Name] = true
		default:
			retried[prefix+m.Name] = true
		}
	}
	return queued, retried
}
