package convert

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/protobuf/proto"

	pb "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1"
)

func wire[T proto.Message](t *testing.T, m T, fresh T) T {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, fresh); err != nil {
		t.Fatal(err)
	}
	return fresh
}

func TestAppErrorKeepsEveryField(t *testing.T) {
	for _, params := range []map[string]any{
		nil, {}, {"Name": "x", "Count": 3, "Nested": map[string]any{"l": []any{true, int64(2)}}},
	} {
		orig := model.NewAppError("App.Where", "app.some.id", params, "details", 418)
		orig.Message = "translated message"
		orig.RequestId = "req"
		orig.SkipTranslation = true
		back := AppErrorFromProto(wire(t, AppErrorToProto(orig), &pb.AppError{}))
		if !reflect.DeepEqual(back, orig) {
			t.Errorf("AppError round trip:\n orig %#v\n got  %#v", orig, back)
		}
		if !reflect.DeepEqual(*appErrorParams(back), params) {
			t.Errorf("params %#v, want %#v", *appErrorParams(back), params)
		}
	}
	if AppErrorToProto(nil) != nil || AppErrorFromProto(nil) != nil {
		t.Error("nil AppError must stay nil")
	}
}

func TestSentinelsKeepIdentity(t *testing.T) {
	for _, s := range []error{io.EOF, sql.ErrNoRows, sql.ErrConnDone, sql.ErrTxDone, driver.ErrSkip, driver.ErrBadConn, driver.ErrRemoveArgument} {
		m := wire(t, ErrorToProto(s), &pb.Error{})
		if m.Code == pb.ErrorCode_ERROR_CODE_UNSPECIFIED {
			t.Errorf("%v: no code", s)
		}
		back := ErrorFromProto(m)
		if back != s || !errors.Is(back, s) { //nolint:errorlint // identity is the point
			t.Errorf("%v came back as %#v", s, back)
		}
	}
	plain := ErrorFromProto(wire(t, ErrorToProto(errors.New("boom")), &pb.Error{}))
	if plain.Error() != "boom" || !IsRemote(plain) {
		t.Errorf("plain error: %#v", plain)
	}
	// Like Mattermost's encodableError, a wrapped sentinel is compared by identity and
	// therefore crosses as a message only.
	wrapped := ErrorFromProto(ErrorToProto(fmt.Errorf("ctx: %w", io.EOF)))
	if errors.Is(wrapped, io.EOF) || wrapped.Error() != "ctx: EOF" {
		t.Errorf("wrapped sentinel: %#v", wrapped)
	}
	if ErrorToProto(nil) != nil || ErrorFromProto(nil) != nil {
		t.Error("nil error must stay nil")
	}
}

// TestAppErrorAsPlainError: an *model.AppError returned where Go has a plain error result
// (ConfigurationWillBeSaved) crosses as an *model.AppError, as Mattermost's RPC keeps it, so
// the server can answer with it; a wrapped one is a plain error there too.
func TestAppErrorAsPlainError(t *testing.T) {
	in := model.NewAppError("ConfigurationWillBeSaved", "plugin.config.bad", nil, "details", 400)
	got, ok := ErrorFromProto(ErrorToProto(in)).(*model.AppError)
	if !ok || got.Id != in.Id || got.StatusCode != 400 || got.DetailedError != "details" {
		t.Fatalf("got %#v, want the *model.AppError back", got)
	}
	wrapped := fmt.Errorf("saving: %w", in)
	if _, isApp := ErrorFromProto(ErrorToProto(wrapped)).(*model.AppError); isApp {
		t.Error("a wrapped AppError became an *AppError; Mattermost sends it as a plain error")
	}
}
