from __future__ import annotations

from pathlib import Path

from mmplugin.bundle.collect import plugin_files


def test_only_plugin_files_are_shipped(tmp_path: Path) -> None:
    for rel in [
        "plugin.json",
        "greeter/plugin.py",
        "greeter/__pycache__/plugin.cpython-311.pyc",
        "greeter/old.pyc",
        "assets/icon.svg",
        "webapp/dist/main.js",  # a nested dist/ is the author's
        "dist/com.example.x-0.1.0.tar.gz",
        "build/junk",
        "tests/test_plugin.py",
        ".git/config",
        ".venv/bin/python",
        "venv/lib/x.py",
        "server/dist/mmplugin-host-linux-amd64",
        "python/wheels/old.whl",
        "docs/notes.md",
        "out/bundle.tar.gz",
    ]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    (tmp_path / "link.py").symlink_to(tmp_path / "greeter" / "plugin.py")
    got = [rel for rel, _ in plugin_files(tmp_path, exclude=["docs/*"], skip=[tmp_path / "out"])]
    assert got == [
        "assets/icon.svg",
        "greeter/plugin.py",
        "link.py",
        "plugin.json",
        "webapp/dist/main.js",
    ]
