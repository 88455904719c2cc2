"""``mmplugin new``: a working plugin to start from."""

from __future__ import annotations

import json
import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import mmplugin

from ..bundle.errors import BundleError
from ..bundle.manifest import parse_manifest

# Names a plugin package must not take: they would shadow what the plugin imports.
_RESERVED = {"mmplugin", "mmplugin_host", "grpc", "google", "tests", "test", "plugin"}


@dataclass(frozen=True)
class Names:
    plugin_id: str
    display_name: str
    package: str  # top-level Python package of the plugin
    class_name: str


def derive_names(plugin_id: str, display_name: str, package: str | None = None) -> Names:
    """Package from the id's last part ("com.example.greeter" → "greeter"), class from the name."""
    if package is None:
        last = plugin_id.rsplit(".", 1)[-1].lower()
        package = re.sub(r"\W+", "_", last).strip("_") or "plugin"
        if package[0].isdigit():
            package = "plugin_" + package
        if package in _RESERVED or package in sys.stdlib_module_names or keyword.iskeyword(package):
            package += "_plugin"
    if not package.isidentifier() or keyword.iskeyword(package):
        raise BundleError(f"--package {package!r} is not a valid Python package name")
    words = re.findall(r"[A-Za-z0-9]+", display_name)
    class_name = "".join(w[:1].upper() + w[1:] for w in words) or "My"
    if class_name[0].isdigit():
        class_name = "Plugin" + class_name
    if not class_name.endswith("Plugin"):
        class_name += "Plugin"
    return Names(plugin_id, display_name, package, class_name)


def _manifest(n: Names) -> str:
    manifest = {
        "id": n.plugin_id,
        "name": n.display_name,
        "description": f"{n.display_name}: a Mattermost plugin written in Python.",
        "version": "0.1.0",
        "server": {
            # Rewritten by 'mmplugin bundle' for the --platform values it is given.
            "executables": {"linux-amd64": "server/dist/mmplugin-host-linux-amd64"}
        },
        "props": {
            "python": {
                "entry_point": f"{n.package}.plugin:{n.class_name}",
                "requires_python": ">=3.10",
                "path": ["."],
            }
        },
    }
    return json.dumps(manifest, indent=2) + "\n"


def _pyproject(n: Names) -> str:
    return f"""[project]
name = "{n.package.replace("_", "-")}"
version = "0.1.0"
description = "{n.display_name}: a Mattermost plugin written in Python"
requires-python = ">=3.10"
# The plugin's runtime dependencies: 'mmplugin bundle' puts wheels of all of them (and of their
# dependencies) into the bundle for every --platform and --python you target.
dependencies = ["mmplugin>={mmplugin.__version__}"]

[project.optional-dependencies]
dev = ["pytest"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
"""


def _plugin_py(n: Names) -> str:
    return f'''"""{n.display_name}: a Mattermost plugin written in Python."""

from __future__ import annotations

import dataclasses
import logging

from mmplugin import Context, Plugin
from mmplugin.models import Post

log = logging.getLogger(__name__)


class {n.class_name}(Plugin):
    """Adds a wave to every post that says hello."""

    def on_activate(self) -> None:
        # Runs when the plugin starts; raise an exception to refuse to start.
        log.info("{n.display_name} is active")

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:
        # Runs before every post is saved: return a changed post, or None to keep it as it is.
        if "hello" in post.message.lower():
            return dataclasses.replace(post, message=post.message + " :wave:")
        return None
'''


def _test_py(n: Names) -> str:
    return f"""from mmplugin import Context
from mmplugin.models import Post

from {n.package}.plugin import {n.class_name}


def test_hello_gets_a_wave() -> None:
    plugin = {n.class_name}()
    changed = plugin.message_will_be_posted(Context(), Post(message="Hello there"))
    assert changed is not None
    assert changed.message == "Hello there :wave:"


def test_other_posts_are_kept() -> None:
    plugin = {n.class_name}()
    assert plugin.message_will_be_posted(Context(), Post(message="good night")) is None
"""


def _readme(n: Names) -> str:
    return f"""# {n.display_name}

A Mattermost server plugin written in Python with [mmplugin](https://github.com/mmplugin/mmplugin).

```sh
pip install -e ".[dev]"      # or: pip install pytest
pytest                       # the plugin's tests, no server needed
mmplugin bundle --platform linux-amd64 --python 3.11 -o dist/
mmplugin deploy dist/{n.plugin_id}-0.1.0.tar.gz --url https://chat.example.com
```

`deploy` reads the admin token from `MM_ADMIN_TOKEN` (or `--token`).
"""


_GITIGNORE = "dist/\nvenv/\n.venv/\n__pycache__/\n*.pyc\n.pytest_cache/\n"


def scaffold(
    target: Path, plugin_id: str, display_name: str, package: str | None = None
) -> list[Path]:
    """Write the plugin skeleton into ``target`` (which must be empty or absent)."""
    names = derive_names(plugin_id, display_name, package)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BundleError(f"{target} already exists and is not empty: choose a new directory")
    manifest = _manifest(names)
    parse_manifest(json.loads(manifest), "the new plugin.json")  # validates the id
    files = {
        "plugin.json": manifest,
        "pyproject.toml": _pyproject(names),
        "README.md": _readme(names),
        ".gitignore": _GITIGNORE,
        f"{names.package}/__init__.py": f'"""{names.display_name}."""\n',
        f"{names.package}/plugin.py": _plugin_py(names),
        "tests/test_plugin.py": _test_py(names),
    }
    written = []
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
