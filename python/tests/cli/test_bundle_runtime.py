"""``mmplugin bundle --python-runtime``: a relocatable CPython shipped in the bundle, trimmed."""

from __future__ import annotations

import json
import os
import re
import tarfile
from pathlib import Path

import pytest
from bundle_helpers import FakePip, fake_elf

from mmplugin.bundle import BundleError, BundleOptions, PythonVersion, build_bundle
from mmplugin.bundle.platforms import PLATFORMS, Platform
from mmplugin.bundle.runtime import load_runtime, parse_runtime_args

AMD, ARM = PLATFORMS["linux-amd64"], PLATFORMS["linux-arm64"]

KEPT = [
    "bin/python3.11",
    "lib/libpython3.11.so.1.0",
    "lib/libssl.so.3",
    "lib/python3.11/os.py",
    "lib/python3.11/encodings/__init__.py",
    "lib/python3.11/venv/__init__.py",
    "lib/python3.11/json/__init__.py",
    "lib/python3.11/unittest/mock.py",
    "lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile",
    "lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/_sysconfigdata__linux_x86_64-linux-gnu.py",
]
DROPPED = [
    "bin/pip3",
    "bin/idle3.11",
    "bin/python3.11-config",
    "include/python3.11/Python.h",
    "share/man/man1/python3.11.1",
    "lib/pkgconfig/python3.pc",
    "lib/tcl8.6/init.tcl",
    "lib/libtcl8.6.so",  # kept: not Tk's directory; see below
    "lib/python3.11/test/test_os.py",
    "lib/python3.11/idlelib/idle.py",
    "lib/python3.11/tkinter/__init__.py",
    "lib/python3.11/turtledemo/__main__.py",
    "lib/python3.11/ensurepip/_bundled/pip-23.2.1-py3-none-any.whl",
    "lib/python3.11/lib2to3/pytree.py",
    "lib/python3.11/pydoc_data/topics.py",
    "lib/python3.11/site-packages/pip/__init__.py",
    "lib/python3.11/__pycache__/os.cpython-311.pyc",
    "lib/python3.11/json/__pycache__/decoder.cpython-311.pyc",
    "lib/python3.11/unittest/test/test_case.py",
    "lib/python3.11/ctypes/test/test_bytes.py",
    "lib/python3.11/typing.pyi",
    "lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a",
    "lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/lib-dynload/_tkinter.cpython-311-x86_64-linux-gnu.so",
    "lib/python3.11/lib-dynload/xxlimited.cpython-311-x86_64-linux-gnu.so",
]
DROPPED.remove("lib/libtcl8.6.so")


def make_runtime(root: Path, platform: Platform = AMD, minor: str = "3.11") -> Path:
    """An install_only-shaped runtime: the files above, links like the real layout."""
    for rel in [*KEPT, *DROPPED]:
        rel = rel.replace("3.11", minor).replace("311", minor.replace(".", ""))
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fake_elf(platform) if rel.startswith(("bin/", "lib/lib")) else b"# x\n")
    (root / "bin" / f"python{minor}").chmod(0o755)
    (root / "bin" / "python3").symlink_to(f"python{minor}")
    (root / "bin" / "python").symlink_to("python3")
    (root / "lib" / f"libpython{minor}.so").symlink_to(f"libpython{minor}.so.1.0")
    # A link whose target is not shipped under its own name is shipped as a copy.
    (root / "share" / "libreal.so.1").write_bytes(fake_elf(platform))
    (root / "lib" / "libcopied.so.1").symlink_to("../share/libreal.so.1")
    return root


def test_a_directory_runtime_is_trimmed_to_what_a_plugin_uses(tmp_path: Path) -> None:
    root = make_runtime(tmp_path / "python")
    rt = load_runtime(root, AMD, tmp_path / "work")
    assert rt.python == PythonVersion(3, 11)
    assert rt.interpreter == "bin/python3.11"
    assert rt.bundle_interpreter == "python/runtime/linux-amd64/bin/python3.11"
    shipped = {rel for rel, _ in rt.files}
    assert shipped == {*KEPT, "lib/libcopied.so.1"}, shipped ^ {*KEPT, "lib/libcopied.so.1"}
    assert "bin/python3.11" in rt.executables
    assert dict(rt.files)["lib/libcopied.so.1"] == (root / "share" / "libreal.so.1").resolve()
    assert rt.dropped_bytes > 0


def test_the_install_only_tarball_is_read_too(tmp_path: Path) -> None:
    make_runtime(tmp_path / "src" / "python", minor="3.12")
    archive = tmp_path / "cpython-3.12.7+20241016-x86_64-unknown-linux-gnu-install_only.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "python", arcname="python")
    rt = load_runtime(archive, AMD, tmp_path / "work")
    assert rt.python == PythonVersion(3, 12)
    assert "bin/python3.12" in rt.executables
    assert {rel for rel, _ in rt.files} >= {"bin/python3.12", "lib/python3.12/os.py"}


def test_a_tarball_link_leaving_the_runtime_is_refused_or_dropped(tmp_path: Path) -> None:
    make_runtime(tmp_path / "src" / "python")
    escape = tarfile.TarInfo("python/lib/evil")
    escape.type, escape.linkname = tarfile.SYMTYPE, "../../../../etc"
    through = tarfile.TarInfo("python/lib/evil/passwd")
    archive = tmp_path / "rt.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "python", arcname="python")
        tar.addfile(escape)
        tar.addfile(through, fileobj=None)
    rt = load_runtime(archive, AMD, tmp_path / "work")
    assert not any(rel.startswith("lib/evil") and rel != "lib/evil/passwd" for rel, _ in rt.files)
    assert not (tmp_path / "etc").exists()
    for _, src in rt.files:
        assert src.resolve().is_relative_to((tmp_path / "work").resolve())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: (r / "lib" / "python3.11" / "os.py").unlink(), "one CPython standard library"),
        (lambda r: (r / "bin" / "python3.11").write_bytes(b"#!/bin/sh\n"), "not a Linux (ELF)"),
        (
            lambda r: (r / "bin" / "python3.11").write_bytes(fake_elf(ARM)),
            "another CPU (ELF machine 183), not linux-amd64",
        ),
        (lambda r: (r / "lib" / "python3.11" / "venv" / "__init__.py").unlink(), "lacks venv"),
    ],
)
def test_a_runtime_that_cannot_work_is_refused(
    tmp_path: Path, change: object, message: str
) -> None:
    root = make_runtime(tmp_path / "python")
    change(root)  # type: ignore[operator]
    with pytest.raises(BundleError, match=re.escape(message)):
        load_runtime(root, AMD, tmp_path / "work")


def test_runtime_arguments_name_a_bundled_platform() -> None:
    assert parse_runtime_args(["/rt"], [AMD]) == {"linux-amd64": Path("/rt")}
    assert parse_runtime_args(["linux-arm64=/a"], [AMD, ARM]) == {"linux-arm64": Path("/a")}
    with pytest.raises(BundleError, match="say which platform"):
        parse_runtime_args(["/rt"], [AMD, ARM])
    with pytest.raises(BundleError, match="add --platform linux-arm64"):
        parse_runtime_args(["linux-arm64=/a"], [AMD])
    with pytest.raises(BundleError, match="two runtimes"):
        parse_runtime_args(["/a", "linux-amd64=/b"], [AMD])


def bundle_options(plugin_dir: Path, host_dir: Path, pip: FakePip, **kw: object) -> BundleOptions:
    return BundleOptions(
        plugin_dir=plugin_dir,
        out_dir=plugin_dir / "dist",
        platforms=kw.pop("platforms", [AMD, ARM]),  # type: ignore[arg-type]
        pythons=kw.pop("pythons", []),  # type: ignore[arg-type]
        host_binary_dir=host_dir,
        runner=pip,
        **kw,  # type: ignore[arg-type]
    )


def test_the_bundle_ships_the_runtime_and_names_it_in_the_manifest(
    plugin_dir: Path, host_dir: Path, fake_pip: FakePip, tmp_path: Path
) -> None:
    root = make_runtime(tmp_path / "rt")
    logged: list[str] = []
    result = build_bundle(
        bundle_options(
            plugin_dir, host_dir, fake_pip, python_runtimes={"linux-amd64": root}, log=logged.append
        )
    )
    # Without --python, the runtime's version is the bundle's.
    assert [t.key for t in result.targets] == ["cp311-linux-amd64", "cp311-linux-arm64"]
    assert any("no Python runtime for linux-arm64" in m for m in logged)
    with tarfile.open(result.path) as tar:
        members = {m.name.partition("/")[2]: m for m in tar.getmembers() if m.isfile()}
        manifest = json.load(tar.extractfile(f"{tar.getnames()[0]}/plugin.json"))  # type: ignore[arg-type]
    prefix = "python/runtime/linux-amd64/"
    runtime_files = {n.removeprefix(prefix) for n in members if n.startswith(prefix)}
    assert runtime_files == {*KEPT, "lib/libcopied.so.1"}
    assert members[prefix + "bin/python3.11"].mode == 0o755
    assert members[prefix + "lib/python3.11/os.py"].mode == 0o644
    assert not any(m.issym() for m in members.values())
    assert manifest["props"]["python"]["runtimes"] == [
        {
            "platform": "linux-amd64",
            "python": "3.11",
            "executable": "python/runtime/linux-amd64/bin/python3.11",
        }
    ]


def test_the_runtime_must_be_a_bundled_python(
    plugin_dir: Path, host_dir: Path, fake_pip: FakePip, tmp_path: Path
) -> None:
    root = make_runtime(tmp_path / "rt", minor="3.12")
    opts = bundle_options(
        plugin_dir,
        host_dir,
        fake_pip,
        pythons=[PythonVersion(3, 11)],
        python_runtimes={"linux-amd64": root},
    )
    with pytest.raises(BundleError, match=r"is Python 3\.12, .* add --python 3\.12"):
        build_bundle(opts)


def test_a_runtime_for_a_mac_is_refused(tmp_path: Path) -> None:
    root = make_runtime(tmp_path / "rt")
    with pytest.raises(BundleError, match="Linux servers only"):
        load_runtime(root, PLATFORMS["darwin-arm64"], tmp_path / "work")


def test_no_runtime_file_is_a_link_after_unpacking(tmp_path: Path) -> None:
    root = make_runtime(tmp_path / "rt")
    rt = load_runtime(root, AMD, tmp_path / "work")
    for rel, src in rt.files:
        assert not os.path.islink(src) or rel == "lib/libcopied.so.1"
