"""Build the ``mmplugin-host`` platform wheels from cross-compiled host binaries.

Used by ``make host-wheels``::

    python -m mmplugin.bundle.hostwheel --version 0.1.0 --out dist/host-wheels \\
        linux-amd64=bin/host/mmplugin-host-linux-amd64 linux-arm64=...

Each wheel is ``mmplugin_host-<version>-py3-none-<platform tags>.whl`` and holds one static
binary, so ``pip install mmplugin-host`` gives an author their own platform's binary and
``mmplugin bundle`` can ``pip download`` the others.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import BundleError
from .host import HOST_DIST, HOST_PACKAGE, binary_name, check_binary
from .platforms import get_platform
from .wheels import WheelFile, write_wheel

_INIT = '''"""The mmplugin-host binary for Mattermost Python plugins (used by mmplugin bundle)."""

from pathlib import Path


def binary_path(platform: str) -> Path:
    """The host binary for a platform such as "linux-amd64" (only this wheel's is present)."""
    return Path(__file__).parent / "bin" / f"mmplugin-host-{platform}"
'''


def build_host_wheel(binary: Path, platform_name: str, version: str, out_dir: Path) -> Path:
    platform = get_platform(platform_name)
    check_binary(binary, platform)
    files = [
        WheelFile(f"{HOST_PACKAGE}/__init__.py", _INIT.encode()),
        WheelFile(
            f"{HOST_PACKAGE}/bin/{binary_name(platform)}", binary.read_bytes(), executable=True
        ),
    ]
    return write_wheel(
        out_dir,
        name=HOST_DIST,
        version=version,
        tag=f"py3-none-{platform.host_wheel_tag}",
        files=files,
        metadata={"Summary": f"mmplugin-host binary for {platform.name} (Mattermost plugins)"},
        purelib=False,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mmplugin.bundle.hostwheel", description=__doc__)
    ap.add_argument("--version", required=True, help="the SDK version the binaries belong to")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("binaries", nargs="+", metavar="PLATFORM=PATH")
    args = ap.parse_args(argv)
    try:
        for item in args.binaries:
            name, sep, path = item.partition("=")
            if not sep:
                ap.error(f"{item}: expected PLATFORM=PATH")
            wheel = build_host_wheel(Path(path), name, args.version, args.out)
            print(wheel)
    except (BundleError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
