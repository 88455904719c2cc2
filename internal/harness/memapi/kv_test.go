package memapi_test

import (
	"net/http"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/shared/mlog"

	"github.com/mmplugin/mmplugin/internal/harness/memapi"
)

// fakeClock is a settable millisecond clock.
type fakeClock struct{ ms int64 }

func (c *fakeClock) now() int64 { return c.ms }

func newServer(t *testing.T, opts ...memapi.Option) *memapi.Server {
	t.Helper()
	logger, err := mlog.NewLogger()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logger.Shutdown() })
	return memapi.NewServer(logger, t.TempDir(), opts...)
}

func pluginAPI(s *memapi.Server, id string) *memapi.API {
	return s.NewPluginAPI(&model.Manifest{Id: id}).(*memapi.API)
}

func TestKVBasics(t *testing.T) {
	s := newServer(t)
	a, b := pluginAPI(s, "a"), pluginAPI(s, "b")

	if v, appErr := a.KVGet("k"); v != nil || appErr != nil {
		t.Fatalf("missing key = %q, %v; want nil, nil", v, appErr)
	}
	if appErr := a.KVSet("k", []byte("1")); appErr != nil {
		t.Fatal(appErr)
	}
	if v, _ := a.KVGet("k"); string(v) != "1" {
		t.Errorf("KVGet = %q", v)
	}
	if v, _ := b.KVGet("k"); v != nil {
		t.Errorf("plugin b sees plugin a's key: %q", v)
	}
	// A nil value deletes, as in the SQL store.
	if appErr := a.KVSet("k", nil); appErr != nil {
		t.Fatal(appErr)
	}
	if v, _ := a.KVGet("k"); v != nil {
		t.Errorf("KVSet(nil) left %q", v)
	}

	long := make([]byte, model.KeyValueKeyMaxRunes+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, key := range []string{"", string(long)} {
		if appErr := a.KVSet(key, []byte("v")); appErr == nil || appErr.StatusCode != http.StatusBadRequest {
			t.Errorf("KVSet(%d-rune key) = %v, want 400", len(key), appErr)
		}
	}

	// The returned slice is a copy.
	_ = a.KVSet("k", []byte("abc"))
	v, _ := a.KVGet("k")
	v[0] = 'X'
	if again, _ := a.KVGet("k"); string(again) != "abc" {
		t.Errorf("stored value changed through a returned slice: %q", again)
	}
}

func TestKVAtomic(t *testing.T) {
	s := newServer(t)
	a := pluginAPI(s, "a")

	// OldValue nil: set only when absent.
	if ok, appErr := a.KVCompareAndSet("k", nil, []byte("1")); !ok || appErr != nil {
		t.Fatalf("CAS on absent key = %v, %v", ok, appErr)
	}
	if ok, _ := a.KVCompareAndSet("k", nil, []byte("2")); ok {
		t.Error("CAS with nil old value overwrote an existing key")
	}
	if ok, _ := a.KVCompareAndSet("k", []byte("wrong"), []byte("2")); ok {
		t.Error("CAS with a wrong old value succeeded")
	}
	if ok, _ := a.KVCompareAndSet("k", []byte("1"), []byte("2")); !ok {
		t.Error("CAS with the right old value failed")
	}
	if v, _ := a.KVGet("k"); string(v) != "2" {
		t.Errorf("value = %q, want 2", v)
	}

	if ok, _ := a.KVCompareAndDelete("k", []byte("1")); ok {
		t.Error("compare-and-delete with a wrong value succeeded")
	}
	if ok, _ := a.KVCompareAndDelete("k", nil); ok {
		t.Error("compare-and-delete with nil old value succeeded (the store refuses it)")
	}
	if ok, _ := a.KVCompareAndDelete("k", []byte("2")); !ok {
		t.Error("compare-and-delete with the right value failed")
	}
	if v, _ := a.KVGet("k"); v != nil {
		t.Errorf("value after delete = %q", v)
	}

	// OldValue without Atomic is invalid.
	if _, appErr := a.KVSetWithOptions("k", []byte("x"), model.PluginKVSetOptions{OldValue: []byte("y")}); appErr == nil {
		t.Error("OldValue without Atomic accepted")
	}
	// Atomic with a nil new value is compare-and-delete.
	_ = a.KVSet("k", []byte("v"))
	if ok, _ := a.KVSetWithOptions("k", nil, model.PluginKVSetOptions{Atomic: true, OldValue: []byte("v")}); !ok {
		t.Error("atomic delete failed")
	}
}

func TestKVExpiry(t *testing.T) {
	clock := &fakeClock{ms: 1_000_000}
	s := newServer(t, memapi.WithClock(clock.now))
	a := pluginAPI(s, "a")

	if appErr := a.KVSetWithExpiry("ttl", []byte("v"), 10); appErr != nil {
		t.Fatal(appErr)
	}
	_ = a.KVSet("forever", []byte("v"))
	clock.ms += 9_999
	if v, _ := a.KVGet("ttl"); string(v) != "v" {
		t.Errorf("value gone before expiry: %q", v)
	}
	clock.ms += 1
	if v, _ := a.KVGet("ttl"); v != nil {
		t.Errorf("expired value still readable: %q", v)
	}
	keys, _ := a.KVList(0, 10)
	if len(keys) != 1 || keys[0] != "forever" {
		t.Errorf("KVList = %v, want only the live key", keys)
	}
	// An expired key counts as absent for compare-and-set, and a wrong match for old values.
	if ok, _ := a.KVCompareAndSet("ttl", []byte("v"), []byte("w")); ok {
		t.Error("CAS matched an expired value")
	}
	if ok, _ := a.KVCompareAndSet("ttl", nil, []byte("new")); !ok {
		t.Error("CAS with nil old value refused an expired key")
	}
	// Atomic set with expiry (what pluginapi's cluster mutex does).
	ok, _ := a.KVSetWithOptions("mutex", []byte("locked"), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: 15})
	if !ok {
		t.Fatal("lock not taken")
	}
	if ok, _ := a.KVSetWithOptions("mutex", []byte("locked"), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: 15}); ok {
		t.Error("lock taken twice")
	}
	clock.ms += 15_000
	if ok, _ := a.KVSetWithOptions("mutex", []byte("locked"), model.PluginKVSetOptions{Atomic: true, ExpireInSeconds: 15}); !ok {
		t.Error("expired lock not retaken")
	}
}

func TestKVListAndDeleteAll(t *testing.T) {
	s := newServer(t)
	a, b := pluginAPI(s, "a"), pluginAPI(s, "b")
	for _, k := range []string{"c", "a", "b", "d"} {
		_ = a.KVSet(k, []byte(k))
	}
	_ = b.KVSet("other", []byte("x"))

	if keys, _ := a.KVList(0, 3); len(keys) != 3 || keys[0] != "a" || keys[2] != "c" {
		t.Errorf("page 0 = %v", keys)
	}
	if keys, _ := a.KVList(1, 3); len(keys) != 1 || keys[0] != "d" {
		t.Errorf("page 1 = %v", keys)
	}
	if keys, _ := a.KVList(5, 3); keys == nil || len(keys) != 0 {
		t.Errorf("past the end = %#v, want an empty slice", keys)
	}
	if keys, _ := a.KVList(0, 0); len(keys) != 4 {
		t.Errorf("perPage 0 (default 10) = %v", keys)
	}
	if appErr := a.KVDelete("a"); appErr != nil {
		t.Fatal(appErr)
	}
	if appErr := a.KVDeleteAll(); appErr != nil {
		t.Fatal(appErr)
	}
	if keys, _ := a.KVList(0, 10); len(keys) != 0 {
		t.Errorf("after DeleteAll = %v", keys)
	}
	if v, _ := b.KVGet("other"); string(v) != "x" {
		t.Error("DeleteAll removed another plugin's key")
	}
}

func TestAdminAPIRefusesPluginScopedMethods(t *testing.T) {
	s := newServer(t)
	admin := s.Admin()
	if appErr := admin.KVSet("k", []byte("v")); appErr == nil || appErr.Id != "harness.memapi.no_plugin" {
		t.Errorf("KVSet through Admin = %v", appErr)
	}
	if err := admin.RegisterCommand(&model.Command{Trigger: "x"}); err == nil {
		t.Error("RegisterCommand through Admin succeeded")
	}
}
