package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattermost/mattermost/server/public/plugin"
)

// ExercisedEnv names the environment variable that, when set to a file path, makes every
// Harness merge its call counts into that JSON file when it is cleaned up (see ExercisedFile).
const ExercisedEnv = "MMPLUGIN_EXERCISED_OUT"

// CallStats is what the recorder knows about one API method or hook.
type CallStats struct {
	Calls int
	// Failures counts calls whose error result was non-nil (for hooks without an error result
	// Mattermost reports success).
	Failures int
	// Total is the summed duration as measured by the server side of the RPC.
	Total time.Duration
}

// recorder counts API calls and hook invocations by name. It is the metrics sink of the
// plugin.Environment: Mattermost wraps every plugin's API in its generated apiTimerLayer and
// every plugin's hooks in its generated hooksTimerLayer, which report each call by name to
// this sink, whoever made it (the test, the in-memory API firing hooks, or the Environment
// itself).
//
// The hooks layer also reports calls that Mattermost's RPC client then drops because the
// plugin does not implement the hook (the Environment calls OnDeactivate on every plugin, for
// example). Those are not counted: once the harness knows a plugin's Implemented list, only
// hooks in it (plus Implemented and OnActivate, which always cross the wire) count.
type recorder struct {
	mu          sync.Mutex
	api         map[string]*CallStats
	hooks       map[string]*CallStats
	implemented map[string]map[string]bool // plugin id -> implemented hook names
	internal    map[[2]string]int          // {plugin id, hook} -> calls the harness made itself
}

func newRecorder() *recorder {
	return &recorder{
		api:         map[string]*CallStats{},
		hooks:       map[string]*CallStats{},
		implemented: map[string]map[string]bool{},
		internal:    map[[2]string]int{},
	}
}

// setImplemented records which hooks a plugin implements.
func (r *recorder) setImplemented(pluginID string, hooks []string) {
	set := map[string]bool{"Implemented": true, "OnActivate": true}
	for _, h := range hooks {
		set[h] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.implemented[pluginID] = set
}

// expectInternal says the next call of hook for pluginID is the harness's own bookkeeping and
// must not be counted.
func (r *recorder) expectInternal(pluginID, hook string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.internal[[2]string{pluginID, hook}]++
}

func (r *recorder) observe(table map[string]*CallStats, name string, success bool, elapsed float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := table[name]
	if st == nil {
		st = &CallStats{}
		table[name] = st
	}
	st.Calls++
	if !success {
		st.Failures++
	}
	st.Total += time.Duration(elapsed * float64(time.Second))
}

// ObservePluginHookDuration implements the Environment's metrics interface.
func (r *recorder) ObservePluginHookDuration(pluginID, hookName string, success bool, elapsed float64) {
	// The *WithRPCErr variants are the same hooks, called by code that wants transport errors.
	name := strings.TrimSuffix(hookName, "WithRPCErr")
	r.mu.Lock()
	key := [2]string{pluginID, name}
	if r.internal[key] > 0 {
		r.internal[key]--
		r.mu.Unlock()
		return
	}
	if set, known := r.implemented[pluginID]; known && !set[name] {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.observe(r.hooks, name, success, elapsed)
}

// ObservePluginAPIDuration implements the Environment's metrics interface.
func (r *recorder) ObservePluginAPIDuration(_, apiName string, success bool, elapsed float64) {
	r.observe(r.api, apiName, success, elapsed)
}

// ObservePluginMultiHookIterationDuration implements the Environment's metrics interface.
func (r *recorder) ObservePluginMultiHookIterationDuration(string, float64) {}

// ObservePluginMultiHookDuration implements the Environment's metrics interface.
func (r *recorder) ObservePluginMultiHookDuration(float64) {}

func (r *recorder) counts() (api, hooks map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	api, hooks = map[string]int{}, map[string]int{}
	for k, v := range r.api {
		api[k] = v.Calls
	}
	for k, v := range r.hooks {
		hooks[k] = v.Calls
	}
	return api, hooks
}

func (r *recorder) stats() (api, hooks map[string]CallStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	api, hooks = map[string]CallStats{}, map[string]CallStats{}
	for k, v := range r.api {
		api[k] = *v
	}
	for k, v := range r.hooks {
		hooks[k] = *v
	}
	return api, hooks
}

// ExercisedFile is the JSON document written to $MMPLUGIN_EXERCISED_OUT: call counts merged
// over every Harness of every test process that wrote it, plus the sizes of the pinned
// interfaces so a report can print "exercised: api X/N hooks Y/M".
type ExercisedFile struct {
	API         map[string]int `json:"api"`
	Hooks       map[string]int `json:"hooks"`
	APIMethods  int            `json:"api_methods"`
	HookMethods int            `json:"hook_methods"`
}

// Summary renders "exercised: api X/N hooks Y/M" counting only names of the pinned interfaces.
func (f *ExercisedFile) Summary() string {
	return fmt.Sprintf("exercised: api %d/%d hooks %d/%d",
		countKnown(f.API, reflect.TypeFor[plugin.API]()), f.APIMethods,
		countKnown(f.Hooks, reflect.TypeFor[plugin.Hooks]()), f.HookMethods)
}

func countKnown(calls map[string]int, iface reflect.Type) int {
	n := 0
	for name, c := range calls {
		if _, ok := iface.MethodByName(name); ok && c > 0 {
			n++
		}
	}
	return n
}

// ReadExercised reads a file written through ExercisedEnv.
func ReadExercised(path string) (*ExercisedFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f ExercisedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// mergeExercised adds counts into the JSON file at path under an exclusive lock, so parallel
// test processes (go test runs packages in parallel) do not lose each other's counts.
func mergeExercised(path string, api, hooks map[string]int) (err error) {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", path+".lock", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()

	f, err := ReadExercised(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f = &ExercisedFile{}
	case err != nil:
		return err
	}
	if f.API == nil {
		f.API = map[string]int{}
	}
	if f.Hooks == nil {
		f.Hooks = map[string]int{}
	}
	for k, v := range api {
		f.API[k] += v
	}
	for k, v := range hooks {
		f.Hooks[k] += v
	}
	f.APIMethods = reflect.TypeFor[plugin.API]().NumMethod()
	f.HookMethods = reflect.TypeFor[plugin.Hooks]().NumMethod()
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
