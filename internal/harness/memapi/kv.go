package memapi

import (
	"bytes"
	"net/http"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"
)

// kvEntry is one stored value. expireAt is in milliseconds; 0 means never.
type kvEntry struct {
	value    []byte
	expireAt int64
}

func (e kvEntry) live(now int64) bool { return e.expireAt == 0 || e.expireAt > now }

// The KV methods follow the SQL plugin store (channels/store/sqlstore/plugin_store.go):
// a nil value deletes; an expired entry is invisible to reads, lists and compare-and-set;
// keys longer than 150 runes (model.KeyValueKeyMaxRunes) are rejected.

func (a *API) kvValidate(method, key string) *model.AppError {
	if appErr := a.requirePlugin(method); appErr != nil {
		return appErr
	}
	if key == "" || utf8.RuneCountInString(key) > model.KeyValueKeyMaxRunes {
		return model.NewAppError("PluginKeyValue.IsValid", "model.plugin_key_value.is_valid.key.app_error",
			map[string]any{"Max": model.KeyValueKeyMaxRunes, "Min": 0}, "key="+key, http.StatusBadRequest)
	}
	return nil
}

// KVSet stores value under key; a nil (or, after gob, empty) value deletes the key.
func (a *API) KVSet(key string, value []byte) *model.AppError {
	_, appErr := a.KVSetWithOptions(key, value, model.PluginKVSetOptions{})
	return appErr
}

// KVSetWithExpiry is KVSet with a time to live in seconds.
func (a *API) KVSetWithExpiry(key string, value []byte, expireInSeconds int64) *model.AppError {
	_, appErr := a.KVSetWithOptions(key, value, model.PluginKVSetOptions{ExpireInSeconds: expireInSeconds})
	return appErr
}

// KVCompareAndSet sets key to newValue only if its current value is oldValue (nil: only if
// the key does not exist).
func (a *API) KVCompareAndSet(key string, oldValue, newValue []byte) (bool, *model.AppError) {
	return a.KVSetWithOptions(key, newValue, model.PluginKVSetOptions{Atomic: true, OldValue: oldValue})
}

// KVSetWithOptions is the general set: Atomic compares with OldValue first, ExpireInSeconds
// sets a time to live. It reports whether the value was written.
func (a *API) KVSetWithOptions(key string, value []byte, options model.PluginKVSetOptions) (bool, *model.AppError) {
	if appErr := options.IsValid(); appErr != nil {
		return false, appErr
	}
	if appErr := a.kvValidate("KVSetWithOptions", key); appErr != nil {
		return false, appErr
	}
	s := a.s
	now := s.nowMillis()
	var expireAt int64
	if options.ExpireInSeconds != 0 {
		expireAt = now + options.ExpireInSeconds*1000
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	store := s.kv[a.pluginID]
	if store == nil {
		store = map[string]kvEntry{}
		s.kv[a.pluginID] = store
	}
	current, exists := store[key]
	exists = exists && current.live(now)

	if !options.Atomic {
		if value == nil {
			delete(store, key)
		} else {
			store[key] = kvEntry{value: slices.Clone(value), expireAt: expireAt}
		}
		return true, nil
	}

	if value == nil { // compare-and-delete
		if options.OldValue == nil || !exists || !bytes.Equal(current.value, options.OldValue) {
			return false, nil
		}
		delete(store, key)
		return true, nil
	}
	if options.OldValue == nil {
		if exists {
			return false, nil
		}
	} else if !exists || !bytes.Equal(current.value, options.OldValue) {
		return false, nil
	}
	store[key] = kvEntry{value: slices.Clone(value), expireAt: expireAt}
	return true, nil
}

// KVCompareAndDelete deletes key only if its current value is oldValue.
func (a *API) KVCompareAndDelete(key string, oldValue []byte) (bool, *model.AppError) {
	return a.KVSetWithOptions(key, nil, model.PluginKVSetOptions{Atomic: true, OldValue: oldValue})
}

// KVGet returns the value under key, or nil (and no error) when there is none or it expired.
func (a *API) KVGet(key string) ([]byte, *model.AppError) {
	if appErr := a.requirePlugin("KVGet"); appErr != nil {
		return nil, appErr
	}
	s := a.s
	now := s.nowMillis()
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.kv[a.pluginID][key]
	if !ok || !e.live(now) {
		return nil, nil
	}
	return slices.Clone(e.value), nil
}

// KVDelete removes key (no error if it does not exist).
func (a *API) KVDelete(key string) *model.AppError {
	if appErr := a.requirePlugin("KVDelete"); appErr != nil {
		return appErr
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	delete(a.s.kv[a.pluginID], key)
	return nil
}

// KVDeleteAll removes every key of the plugin.
func (a *API) KVDeleteAll() *model.AppError {
	if appErr := a.requirePlugin("KVDeleteAll"); appErr != nil {
		return appErr
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	delete(a.s.kv, a.pluginID)
	return nil
}

// KVList pages through the plugin's live keys in key order; perPage <= 0 means 10, like the
// SQL store.
func (a *API) KVList(pageNum, perPage int) ([]string, *model.AppError) {
	if appErr := a.requirePlugin("KVList"); appErr != nil {
		return nil, appErr
	}
	if perPage <= 0 {
		perPage = 10
	}
	offset := max(pageNum*perPage, 0)
	s := a.s
	now := s.nowMillis()
	s.mu.RLock()
	keys := make([]string, 0, len(s.kv[a.pluginID]))
	for k, e := range s.kv[a.pluginID] {
		if e.live(now) {
			keys = append(keys, k)
		}
	}
	s.mu.RUnlock()
	sort.Strings(keys)
	if offset >= len(keys) {
		return []string{}, nil
	}
	return keys[offset:min(offset+perPage, len(keys))], nil
}
