"""Build Mattermost plugin bundles for Python plugins (``mmplugin bundle``).

A bundle is a standard Mattermost ``.tar.gz``: the plugin's code, the ``mmplugin-host`` binary
for each target platform, and a wheelhouse with hash-locked requirements per (Python version x
platform), so the server installs the dependencies offline and verified. See docs/bundling.md.
"""

from __future__ import annotations

from .build import BundleOptions, BundleResult, build_bundle
from .errors import BundleError
from .platforms import PLATFORMS, Platform, PythonVersion, Target, get_platform

__all__ = [
    "PLATFORMS",
    "BundleError",
    "BundleOptions",
    "BundleResult",
    "Platform",
    "PythonVersion",
    "Target",
    "build_bundle",
    "get_platform",
]
