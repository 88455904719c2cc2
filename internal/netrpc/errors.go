package netrpc

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/lib/pq"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// sentinels are the plain errors whose identity Mattermost's RPC preserves, indexed by the
// code it sends in plugin.ErrorString.Code (0 means "no sentinel"). The numbering is part of
// the wire protocol: it must match encodableError/decodableError in the pinned
// server/public/plugin/client_rpc.go.
var sentinels = [...]error{
	1: io.EOF,
	2: sql.ErrNoRows,
	3: sql.ErrConnDone,
	4: sql.ErrTxDone,
	5: driver.ErrSkip,
	6: driver.ErrBadConn,
	7: driver.ErrRemoveArgument,
}

// encodeError makes err safe to send with gob, exactly as Mattermost's encodableError does:
// *model.AppError and *pq.Error cross unchanged (both are gob-registered by the plugin
// package), anything else becomes a *plugin.ErrorString carrying the message and, for the
// sentinels above, their code.
//
// Unlike Mattermost's version it also maps a typed nil (*model.AppError)(nil) held in an
// error interface to nil: gob refuses to encode a nil pointer inside an interface, which
// would turn a successful hook into a failed RPC.
func encodeError(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *model.AppError:
		if e == nil {
			return nil
		}
		return e
	case *pq.Error:
		if e == nil {
			return nil
		}
		return e
	}
	ret := &plugin.ErrorString{Err: err.Error()}
	for code, s := range sentinels {
		// Mattermost compares with ==; errors.Is also keeps the code for wrapped sentinels
		// (fmt.Errorf("...: %w", sql.ErrNoRows)), which Go callers on the far side can then
		// still recognise.
		if s != nil && errors.Is(err, s) {
			ret.Code = code
			break
		}
	}
	return ret
}

// decodeError turns a received *plugin.ErrorString with a sentinel code back into the
// sentinel itself, as Mattermost's decodableError does, so that callers can compare with ==
// or errors.Is. Other errors are returned unchanged.
func decodeError(err error) error {
	es, ok := err.(*plugin.ErrorString)
	if !ok || es == nil {
		return err
	}
	if es.Code > 0 && es.Code < len(sentinels) && sentinels[es.Code] != nil {
		return sentinels[es.Code]
	}
	return err
}

// MethodNotOnServerErrorID is the AppError id of a call to an API method the connected server
// does not have (it predates the method). The Python SDK turns it into ServerVersionError, which
// names the version the method needs; Go callers can compare the id.
const MethodNotOnServerErrorID = "mmplugin.netrpc.method_not_on_server.app_error"

// methodNotOnServerPrefix starts the message of the plain error returned for such a call by
// methods without an AppError result; the SDK recognises it too.
const methodNotOnServerPrefix = "mmplugin: the Mattermost server has no API method "

// isMethodNotOnServer reports whether err is net/rpc's answer from a server whose API RPC server
// has no Plugin.<method>: `rpc: can't find method Plugin.<method>` (net/rpc's server sends the
// text; its client returns it as rpc.ServerError). That is what a server older than the method
// answers; verified on Mattermost 9.11.0 by the e2e matrix.
func isMethodNotOnServer(method string, err error) bool {
	return err != nil && strings.HasSuffix(err.Error(), "rpc: can't find method Plugin."+method)
}

// callFailedAppError reports a failed RPC (broken connection, server without the method)
// to a caller expecting *model.AppError. Mattermost's own client returns zero values in that
// case, which reads as success; an explicit error lets the plugin see what happened. A server
// without the method gets its own 501 AppError (MethodNotOnServerErrorID).
func callFailedAppError(method string, err error) *model.AppError {
	if isMethodNotOnServer(method, err) {
		return &model.AppError{
			Id:            MethodNotOnServerErrorID,
			Message:       fmt.Sprintf("The Mattermost server has no API method %s: it is older than the method.", method),
			DetailedError: err.Error(),
			Where:         "netrpc.API." + method,
			StatusCode:    http.StatusNotImplemented,
		}
	}
	return &model.AppError{
		Id:            "mmplugin.netrpc.call_failed.app_error",
		Message:       fmt.Sprintf("The call to the Mattermost server API %s failed: %v.", method, err),
		DetailedError: err.Error(),
		Where:         "netrpc.API." + method,
		StatusCode:    http.StatusInternalServerError,
	}
}

// callFailedError is callFailedAppError for methods returning a plain error. A server without
// the method gets a message starting with methodNotOnServerPrefix and the method's name.
func callFailedError(method string, err error) error {
	if isMethodNotOnServer(method, err) {
		return fmt.Errorf("%s%s (it is older than the method): %w", methodNotOnServerPrefix, method, err)
	}
	return fmt.Errorf("netrpc: the call to the Mattermost server API %s failed: %w", method, err)
}

// notImplementedError is what a hook RPC answers when the server calls a hook the plugin did
// not declare in Implemented. The stock server never does (it skips such hooks), so this only
// guards against a confused caller; the wording follows Mattermost's own plugin side.
func notImplementedError(hook string) error {
	return encodeError(fmt.Errorf("hook %s called but not implemented", hook))
}
