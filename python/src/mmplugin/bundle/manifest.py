"""Reading a plugin's ``plugin.json`` and writing the bundled one.

The bundled manifest keeps every stock field the author wrote, points ``server.executables`` at
the host binaries it carries and records in ``props.python`` what the host needs to prepare the
Python environment offline (see docs/bundling.md):

    "props": {"python": {
        "entry_point": "greeter.plugin:Greeter", "requires_python": ">=3.10", "path": ["."],
        "sdk_version": "0.1.0",
        "wheelhouse": "python/wheels",
        "installer": {"wheel": "python/wheels/pip-26.3-py3-none-any.whl", "sha256": "…"},
        "targets": [{"python": "3.11", "platform": "linux-amd64",
                     "lock": "python/locks/cp311-linux-amd64.txt"}]
    }}
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from .errors import BundleError
from .platforms import PythonVersion, Target

MANIFEST_NAME = "plugin.json"

# model.IsValidPluginId: 3-190 characters of [a-zA-Z0-9-_.]
_ID_RE = re.compile(r"^[a-zA-Z0-9-_.]{3,190}$")
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
_ENTRY_POINT_RE = re.compile(rf"^{_DOTTED}:{_DOTTED}$")

# props.python keys the bundler writes; stale values from an earlier run are replaced.
BUNDLE_KEYS = ("sdk_version", "wheelhouse", "installer", "targets", "runtimes")


@dataclass
class Manifest:
    """A validated plugin.json."""

    raw: dict[str, Any]
    id: str
    version: str
    entry_point: str
    requires_python: SpecifierSet | None
    python_path: list[str]

    def check_python(self, version: PythonVersion) -> None:
        """Fail if a targeted Python version is outside ``props.python.requires_python``."""
        if self.requires_python is not None and not self.requires_python.contains(
            f"{version}.0", prereleases=True
        ):
            raise BundleError(
                f"--python {version} does not fit props.python.requires_python "
                f"{str(self.requires_python)!r} in plugin.json: target a version it allows "
                "or widen requires_python"
            )


def load_manifest(plugin_dir: Path) -> Manifest:
    path = plugin_dir / MANIFEST_NAME
    if not path.is_file():
        if (plugin_dir / "plugin.yaml").exists() or (plugin_dir / "plugin.yml").exists():
            raise BundleError(
                f"{plugin_dir} has a YAML manifest; mmplugin bundles need plugin.json: "
                "convert it to JSON"
            )
        raise BundleError(
            f"{path} not found: run the bundler in a plugin directory, or create one with "
            "'mmplugin new DIR --id com.example.x --name X'"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise BundleError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise BundleError(f"{path} must hold a JSON object")
    return parse_manifest(raw, str(path))


def parse_manifest(raw: dict[str, Any], where: str = MANIFEST_NAME) -> Manifest:
    plugin_id = raw.get("id")
    if not isinstance(plugin_id, str) or not _ID_RE.match(plugin_id):
        raise BundleError(
            f"{where}: id {plugin_id!r} is not a valid plugin id: use 3-190 characters of "
            "letters, digits, '-', '_' and '.', e.g. com.example.greeter"
        )
    version = raw.get("version", "")
    if not isinstance(version, str) or not version:
        raise BundleError(f'{where}: set "version", e.g. "0.1.0" (the server compares versions)')
    props = raw.get("props")
    py = props.get("python") if isinstance(props, dict) else None
    if not isinstance(py, dict):
        raise BundleError(
            f'{where}: no props.python: add "props": {{"python": {{"entry_point": '
            '"package.module:ClassName"}}'
        )
    entry_point = py.get("entry_point")
    if not isinstance(entry_point, str) or not _ENTRY_POINT_RE.match(entry_point):
        raise BundleError(
            f"{where}: props.python.entry_point {entry_point!r} is not of the form "
            '"package.module:ClassName"'
        )
    spec: SpecifierSet | None = None
    rp = py.get("requires_python")
    if rp is not None:
        try:
            spec = SpecifierSet(str(rp))
        except InvalidSpecifier:
            raise BundleError(
                f"{where}: props.python.requires_python {rp!r} is not a version specifier "
                'such as ">=3.10"'
            ) from None
    path = py.get("path", ["."])
    if not isinstance(path, list) or not all(isinstance(p, str) and p for p in path):
        raise BundleError(f'{where}: props.python.path must be a list of directories, e.g. ["."]')
    for p in path:
        parts = Path(p).parts
        if Path(p).is_absolute() or ".." in parts:
            raise BundleError(
                f"{where}: props.python.path entry {p!r} must stay inside the plugin directory"
            )
    return Manifest(
        raw=raw,
        id=plugin_id.lower(),  # the server lower-cases ids on load
        version=version,
        entry_point=entry_point,
        requires_python=spec,
        python_path=list(path),
    )


@dataclass(frozen=True)
class BundledTarget:
    target: Target
    lock: str  # path of the lock file inside the bundle


@dataclass(frozen=True)
class BundledRuntime:
    """A bundled Python runtime, as written to props.python.runtimes."""

    platform: str  # "linux-amd64"
    python: str  # "3.11"
    executable: str  # the interpreter's path inside the bundle


def bundled_manifest(
    manifest: Manifest,
    *,
    executables: dict[str, str],
    sdk_version: str,
    wheelhouse: str,
    installer: tuple[str, str],
    targets: list[BundledTarget],
    runtimes: list[BundledRuntime] | None = None,
) -> dict[str, Any]:
    """The plugin.json written into the bundle (the author's file is never changed)."""
    out = copy.deepcopy(manifest.raw)
    out["id"] = manifest.id
    server = out.get("server")
    server = dict(server) if isinstance(server, dict) else {}
    # One host binary per platform; a catch-all "executable" would start on platforms the
    # bundle has no wheels for, so it goes.
    server.pop("executable", None)
    server["executables"] = dict(sorted(executables.items()))
    out["server"] = server
    py: dict[str, Any] = {k: v for k, v in out["props"]["python"].items() if k not in BUNDLE_KEYS}
    py["sdk_version"] = sdk_version
    py["wheelhouse"] = wheelhouse
    py["installer"] = {"wheel": installer[0], "sha256": installer[1]}
    py["targets"] = [
        {"python": str(t.target.python), "platform": t.target.platform.name, "lock": t.lock}
        for t in targets
    ]
    if runtimes:
        py["runtimes"] = [
            {"platform": r.platform, "python": r.python, "executable": r.executable}
            for r in runtimes
        ]
    out["props"]["python"] = py
    return out
