package convert

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"unsafe"

	"github.com/mattermost/mattermost/server/public/model"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

// sentinels are the error values Mattermost's own RPC preserves (plugin.encodableError), by
// ErrorCode. Compared with ==, exactly like Mattermost does, so a wrapped sentinel crosses as a
// plain message.
var sentinels = []struct {
	code pb.ErrorCode
	err  error
}{
	{pb.ErrorCode_ERROR_CODE_EOF, io.EOF},
	{pb.ErrorCode_ERROR_CODE_SQL_NO_ROWS, sql.ErrNoRows},
	{pb.ErrorCode_ERROR_CODE_SQL_CONN_DONE, sql.ErrConnDone},
	{pb.ErrorCode_ERROR_CODE_SQL_TX_DONE, sql.ErrTxDone},
	{pb.ErrorCode_ERROR_CODE_DRIVER_SKIP, driver.ErrSkip},
	{pb.ErrorCode_ERROR_CODE_DRIVER_BAD_CONN, driver.ErrBadConn},
	{pb.ErrorCode_ERROR_CODE_DRIVER_REMOVE_ARGUMENT, driver.ErrRemoveArgument},
}

// RemoteError is a plain error received from the other side: only its message crossed.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return e.Message }

// ErrorToProto converts a plain error result (nil → nil). A *model.AppError passed here
// crosses as its message; callers with an AppError result use AppErrorToProto.
func ErrorToProto(err error) *pb.Error {
	if err == nil {
		return nil
	}
	out := &pb.Error{Message: err.Error()}
	// Only an error that is a *model.AppError, as Mattermost's encodableError tests it.
	if appErr, ok := err.(*model.AppError); ok && appErr != nil { //nolint:errorlint // identity, as Mattermost
		out.AppError = AppErrorToProto(appErr)
	}
	for _, s := range sentinels {
		if err == s.err { //nolint:errorlint // identity, as in Mattermost's encodableError
			out.Code = s.code
			break
		}
	}
	return out
}

// ErrorFromProto converts back (nil → nil): a sentinel code yields the sentinel itself, so
// errors.Is and == keep working; anything else is a *RemoteError with the message.
func ErrorFromProto(e *pb.Error) error {
	if e == nil {
		return nil
	}
	if e.AppError != nil {
		return AppErrorFromProto(e.AppError)
	}
	for _, s := range sentinels {
		if e.Code == s.code {
			return s.err
		}
	}
	return &RemoteError{Message: e.Message}
}

// errorElemToProto is ErrorToProto for an element of a slice or map, where a nil entry must
// still be a message.
func errorElemToProto(err error) *pb.Error {
	if err == nil {
		return &pb.Error{}
	}
	return ErrorToProto(err)
}

// appErrorParamsOffset locates AppError's unexported params field. Mattermost offers no
// getter, and the params (translation arguments) are part of the error the far side must see;
// the layout is checked once at start-up so a future Mattermost change fails loudly.
var appErrorParamsOffset = func() uintptr {
	f, ok := reflect.TypeFor[model.AppError]().FieldByName("params")
	if !ok || f.Type != reflect.TypeFor[map[string]any]() {
		panic("convert: model.AppError has no params map[string]any field any more; update internal/convert/errors.go")
	}
	return f.Offset
}()

func appErrorParams(e *model.AppError) *map[string]any {
	return (*map[string]any)(unsafe.Add(unsafe.Pointer(e), appErrorParamsOffset))
}

// AppErrorToProto converts a *model.AppError with every field, params included (nil → nil).
// Params that are not representable as Value are replaced by their fmt %v string rather than
// dropping the error.
func AppErrorToProto(e *model.AppError) *pb.AppError {
	if e == nil {
		return nil
	}
	out := &pb.AppError{
		Id: e.Id, Message: e.Message, DetailedError: e.DetailedError, RequestId: e.RequestId,
		StatusCode: int64(e.StatusCode), Where: e.Where, SkipTranslation: e.SkipTranslation,
	}
	if params := *appErrorParams(e); params != nil {
		if len(params) == 0 {
			out.Empty = []uint32{8}
		} else {
			out.Params = make(map[string]*pb.Value, len(params))
			for k, v := range params {
				pv, err := ValueToProto(v)
				if err != nil {
					pv = &pb.Value{Kind: &pb.Value_StringValue{StringValue: stringify(v)}}
				}
				out.Params[k] = pv
			}
		}
	}
	return out
}

// AppErrorFromProto converts back (nil → nil). It fills the struct directly instead of calling
// model.NewAppError, which would re-translate the message.
func AppErrorFromProto(e *pb.AppError) *model.AppError {
	if e == nil {
		return nil
	}
	var params map[string]any
	if len(e.Params) > 0 {
		params = make(map[string]any, len(e.Params))
		for k, v := range e.Params {
			gv, err := ValueFromProto(v)
			if err != nil {
				gv = nil
			}
			params[k] = gv
		}
	} else if hasEmpty(e.Empty, 8) {
		params = map[string]any{}
	}
	out := &model.AppError{
		Id: e.Id, Message: e.Message, DetailedError: e.DetailedError, RequestId: e.RequestId,
		StatusCode: int(e.StatusCode), Where: e.Where, SkipTranslation: e.SkipTranslation,
	}
	*appErrorParams(out) = params
	return out
}

// IsRemote reports whether err came from the other side as a plain message.
func IsRemote(err error) bool {
	var r *RemoteError
	return errors.As(err, &r)
}
