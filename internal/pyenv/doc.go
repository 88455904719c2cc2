// Package pyenv prepares a Python plugin's virtual environment from its bundle, offline and
// verified, before the host starts the Python process.
//
// A bundle built by "mmplugin bundle" carries a wheelhouse (every runtime dependency as a wheel,
// for each targeted Python version and platform), one hash-locked requirements file per target,
// and pip's own wheel as the installer; props.python in plugin.json lists them (see
// docs/bundling.md). Prepare picks the target that fits the server (its platform and the
// version of the Python it finds), creates <plugin dir>/venv with that Python and installs the
// lock with pip run from the bundled wheel:
//
//	pip install --no-index --find-links WHEELHOUSE --require-hashes -r LOCK
//
// Why this shape:
//   - Offline and verified: no index is ever contacted, every wheel must match its sha256, and
//     the environment pip sees is scrubbed (PIP_CONFIG_FILE=/dev/null, no PIP_* variables, no
//     user site), so neither the network nor an admin's pip configuration can change what runs.
//   - The installer comes from the bundle: a server needs only a Python with the venv module,
//     not ensurepip or a system pip (Debian ships python3 without both).
//   - A venv cannot be moved once built (its scripts and pyvenv.cfg hold absolute paths), so
//     each one is built in place under .mmplugin-venvs/<key>, and <plugin dir>/venv is a symbolic
//     link swapped atomically (rename) once the new venv passed its import smoke test. A
//     failed build leaves the previous venv in use and in place.
//   - Reuse: the key covers the lock's sha256, the interpreter and the installer, and a marker
//     written last records them, so an unchanged bundle restarts without reinstalling and any
//     change rebuilds.
package pyenv
