package parity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// pyCheck asks whether a generated Python class has an attribute.
type pyCheck struct {
	Class string `json:"class"`
	Attr  string `json:"attr"`
	// Own: the attribute must be defined by a class of the SDK, not inherited from the
	// protoc-generated base (mmplugin.v1), which has every RPC.
	Own bool `json:"own"`
}

// pyScript answers the checks read from stdin with a JSON list of booleans. The classes live in
// the generated modules of mmplugin._gen.
const pyScript = `
import importlib, json, sys
checks = json.load(sys.stdin)
mods = [importlib.import_module(m) for m in ("mmplugin._gen.api", "mmplugin._gen.hooks")]
def find(name):
    for m in mods:
        if hasattr(m, name):
            return getattr(m, name)
    return None
out = []
for c in checks:
    cls = find(c["class"])
    if cls is None:
        out.append(False)
    elif c["own"]:
        out.append(any(c["attr"] in vars(k) for k in cls.__mro__ if not k.__module__.startswith("mmplugin.v1")))
    else:
        out.append(callable(getattr(cls, c["attr"], None)))
json.dump(out, sys.stdout)
`

func runPyChecks(python, pythonPath string, checks []pyCheck) ([]bool, error) {
	in, err := json.Marshal(checks)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, "-c", pyScript)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath+string(os.PathListSeparator)+os.Getenv("PYTHONPATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("introspecting the Python SDK with %s failed: %v: %s", python, err, strings.TrimSpace(lastLine(stderr.String())))
	}
	var ok []bool
	if err := json.Unmarshal(out, &ok); err != nil || len(ok) != len(checks) {
		return nil, fmt.Errorf("introspecting the Python SDK: unexpected answer %q", out)
	}
	return ok, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
