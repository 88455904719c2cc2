package memapi

import (
	"fmt"
	"net/http"

	"github.com/mattermost/mattermost/server/public/model"
)

// NotSupportedID is the AppError id of every plugin.API method the in-memory server does not
// implement.
const NotSupportedID = "harness.memapi.not_supported"

// notSupported is the base every API embeds. Its methods (generated in notsupported_gen.go,
// one per plugin.API method) fail clearly instead of panicking; the hand-written methods of
// *API shadow the ones the in-memory server implements.
type notSupported struct {
	// report is told the name of every unsupported method that was called, so the harness
	// can log it where the test will see it.
	report func(method string)
}

// appError is the result of an unsupported method that returns *model.AppError or error.
func (n notSupported) appError(method string) *model.AppError {
	if n.report != nil {
		n.report(method)
	}
	return model.NewAppError(method, NotSupportedID, map[string]any{"Method": method},
		fmt.Sprintf("plugin.API.%s is not supported by the harness's in-memory API (internal/harness/memapi); "+
			"implement it there or test this call against a real server", method),
		http.StatusNotImplemented)
}

// zero is called by an unsupported method that has no error result; it returns zero values.
func (n notSupported) zero(method string) {
	if n.report != nil {
		n.report(method)
	}
}
