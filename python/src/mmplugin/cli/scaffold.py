"""``mmplugin new``: a working plugin to start from.

The files are the templates in ``templates/`` (``string.Template``, ``${name}`` placeholders)
plus ``plugin.json``, written here. The plugin is what ``examples/hello`` shows: typed settings
from the manifest's ``settings_schema``, a bot, a slash command with a sub-command in its
autocomplete list, a ``message_will_be_posted`` filter, ``self.log``; its tests use the
harness, and its README lists the commands from install to deploy (tested end to end by
e2e/tests/test_author_path.py).
"""

from __future__ import annotations

import json
import keyword
import re
import string
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import mmplugin

from ..bundle.errors import BundleError
from ..bundle.manifest import parse_manifest

# Names a plugin package must not take: they would shadow what the plugin imports.
_RESERVED = {"mmplugin", "mmplugin_host", "grpc", "google", "tests", "test", "plugin"}

MIN_SERVER_VERSION = "7.1.0"
"""The oldest server the scaffolded plugin runs on: its newest API method, EnsureBotUser, is 7.1."""

# Mattermost usernames: 3 to 22 characters of a-z, 0-9, '.', '-', '_', starting with a letter.
_USERNAME_MAX = 22


@dataclass(frozen=True)
class Names:
    plugin_id: str
    display_name: str
    package: str  # top-level Python package of the plugin
    class_name: str

    @property
    def trigger(self) -> str:
        """The slash command: the package name with dashes (``my_bot`` → ``/my-bot``)."""
        return self.package.replace("_", "-")

    @property
    def bot_username(self) -> str:
        name = self.trigger.lower().strip("-")
        if not name[:1].isalpha():
            name = "bot-" + name
        if len(name) < 3:
            name += "-bot"
        return name[:_USERNAME_MAX].rstrip("-_.")


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
        # EnsureBotUser (self.ensure_bot) is the newest API method the plugin uses: Mattermost 7.1.
        "min_server_version": MIN_SERVER_VERSION,
        "server": {
            # Rewritten by 'mmplugin bundle' for the --platform values it is given.
            "executables": {"linux-amd64": "server/dist/mmplugin-host-linux-amd64"}
        },
        "settings_schema": {
            "header": f"{n.display_name} greets people and keeps spoilers out of the channels.",
            "settings": [
                {
                    "key": "Greeting",
                    "display_name": "Greeting",
                    "type": "text",
                    "help_text": f"What /{n.trigger} says before the name.",
                    "default": "Hello",
                },
                {
                    "key": "BannedWord",
                    "display_name": "Banned word",
                    "type": "text",
                    "help_text": "Posts containing this word are rejected.",
                    "default": "spoiler",
                },
            ],
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


def _template(name: str, n: Names) -> str:
    text = (resources.files(__package__) / "templates" / name).read_text(encoding="utf-8")
    return string.Template(text).substitute(
        plugin_id=n.plugin_id,
        display_name=n.display_name,
        package=n.package,
        distribution=n.package.replace("_", "-"),
        class_name=n.class_name,
        settings_class=n.class_name.removesuffix("Plugin") + "Settings",
        trigger=n.trigger,
        bot_username=n.bot_username,
        sdk_version=mmplugin.__version__,
    )


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
        "pyproject.toml": _template("pyproject.toml.tmpl", names),
        "README.md": _template("README.md.tmpl", names),
        ".gitignore": _template("gitignore", names),
        f"{names.package}/__init__.py": f'"""{names.display_name}: a Mattermost plugin."""\n',
        f"{names.package}/plugin.py": _template("plugin.py.tmpl", names),
        "tests/test_plugin.py": _template("test_plugin.py.tmpl", names),
    }
    written = []
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
