package supervisor

import (
	"strings"
)

// PassEnvVar names an environment variable an admin can set on the server to pass more
// variables to Python processes, as a comma-separated list of names (e.g. "HTTPS_PROXY,NO_PROXY").
const PassEnvVar = "MMPLUGIN_PASS_ENV"

// PythonEnvVar names the environment variable that points at a Python interpreter.
const PythonEnvVar = "MMPLUGIN_PYTHON"

// childEnv builds the Python process's environment from the server's: PATH, HOME, LANG, LC_*,
// TMPDIR, MMPLUGIN_* and the names listed in MMPLUGIN_PASS_ENV, then extra. Nothing else passes:
// the server's environment may hold secrets such as MM_SQLSETTINGS_DATASOURCE.
func childEnv(parent []string, extra []string) []string {
	pass := map[string]bool{}
	for _, kv := range parent {
		if name, value, ok := strings.Cut(kv, "="); ok && name == PassEnvVar {
			for _, n := range strings.Split(value, ",") {
				if n = strings.TrimSpace(n); n != "" {
					pass[n] = true
				}
			}
		}
	}
	var out []string
	for _, kv := range parent {
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case name == "PATH", name == "HOME", name == "LANG", name == "TMPDIR",
			strings.HasPrefix(name, "LC_"), strings.HasPrefix(name, "MMPLUGIN_"), pass[name]:
			out = append(out, kv)
		}
	}
	out = append(out, extra...)
	return dedupEnv(out)
}

// dedupEnv keeps the last value of each variable, like exec.Cmd does.
func dedupEnv(env []string) []string {
	seen := map[string]int{}
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := seen[name]; ok {
			out[i] = kv
			continue
		}
		seen[name] = len(out)
		out = append(out, kv)
	}
	return out
}
