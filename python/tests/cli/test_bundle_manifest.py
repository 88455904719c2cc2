from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.manifest import (
    BundledTarget,
    bundled_manifest,
    load_manifest,
    parse_manifest,
)
from mmplugin.bundle.platforms import PLATFORMS, PythonVersion, Target


def raw(**over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "id": "com.example.Greeter",
        "name": "Greeter",
        "version": "1.2.3",
        "server": {"executable": "old/bin", "executables": {"windows-amd64": "x.exe"}},
        "settings_schema": {"settings": [{"key": "Greeting", "type": "text"}]},
        "props": {
            "python": {
                "entry_point": "greeter.plugin:Greeter",
                "requires_python": ">=3.11",
                "interpreter": "/opt/py/bin/python3",
                "targets": ["stale"],
            },
            "other": {"kept": True},
        },
    }
    m.update(over)
    return m


def test_parse_lowercases_the_id_and_reads_python_settings() -> None:
    m = parse_manifest(raw())
    assert m.id == "com.example.greeter"
    assert m.entry_point == "greeter.plugin:Greeter"
    assert m.python_path == ["."]
    assert m.requires_python is not None and m.requires_python.contains("3.11.0")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "x"}, "not a valid plugin id"),
        ({"id": "bad id!"}, "not a valid plugin id"),
        ({"version": ""}, 'set "version"'),
        ({"props": {}}, "no props.python"),
        ({"props": {"python": {"entry_point": "nocolon"}}}, "package.module:ClassName"),
        ({"props": {"python": {"entry_point": "a:B", "requires_python": "3.x"}}}, "specifier"),
        ({"props": {"python": {"entry_point": "a:B", "path": ["../up"]}}}, "inside the plugin"),
        ({"props": {"python": {"entry_point": "a:B", "path": "."}}}, "list of directories"),
    ],
)
def test_parse_rejects_bad_manifests(change: dict[str, Any], message: str) -> None:
    with pytest.raises(BundleError, match=message):
        parse_manifest(raw(**change))


def test_requires_python_is_checked_against_targets() -> None:
    m = parse_manifest(raw())
    m.check_python(PythonVersion(3, 12))
    with pytest.raises(BundleError, match=r"--python 3.10 does not fit .*>=3.11"):
        m.check_python(PythonVersion(3, 10))


def test_bundled_manifest_sets_executables_and_bundle_keys() -> None:
    m = parse_manifest(raw())
    amd = PLATFORMS["linux-amd64"]
    out = bundled_manifest(
        m,
        executables={"linux-amd64": "server/dist/mmplugin-host-linux-amd64"},
        sdk_version="0.1.0",
        wheelhouse="python/wheels",
        installer=("python/wheels/pip-1-py3-none-any.whl", "ab" * 32),
        targets=[BundledTarget(Target(PythonVersion(3, 11), amd), "python/locks/cp311.txt")],
    )
    assert out["id"] == "com.example.greeter"
    # One host per platform; the catch-all executable and foreign platforms are gone.
    assert out["server"] == {
        "executables": {"linux-amd64": "server/dist/mmplugin-host-linux-amd64"}
    }
    py = out["props"]["python"]
    assert py["entry_point"] == "greeter.plugin:Greeter"
    assert py["interpreter"] == "/opt/py/bin/python3"
    assert py["targets"] == [
        {"python": "3.11", "platform": "linux-amd64", "lock": "python/locks/cp311.txt"}
    ]
    assert py["installer"] == {"wheel": "python/wheels/pip-1-py3-none-any.whl", "sha256": "ab" * 32}
    assert py["sdk_version"] == "0.1.0" and py["wheelhouse"] == "python/wheels"
    assert out["props"]["other"] == {"kept": True}
    assert out["settings_schema"] == raw()["settings_schema"]
    # The author's manifest object is untouched.
    assert m.raw["props"]["python"]["targets"] == ["stale"]


def test_load_manifest_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="mmplugin new"):
        load_manifest(tmp_path)
    (tmp_path / "plugin.yaml").write_text("id: x\n")
    with pytest.raises(BundleError, match="convert it to JSON"):
        load_manifest(tmp_path)
    (tmp_path / "plugin.json").write_text("{nope")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_manifest(tmp_path)
    (tmp_path / "plugin.json").write_text(json.dumps(raw()))
    assert load_manifest(tmp_path).version == "1.2.3"
