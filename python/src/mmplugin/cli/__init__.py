"""The ``mmplugin`` command: ``new``, ``bundle``, ``check``, ``deploy`` and ``logs``.

Needs the ``cli`` extra (``pip install "mmplugin[cli]"``) for ``httpx`` and ``packaging``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import commands


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mmplugin", description="Build and deploy Mattermost server plugins written in Python."
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_new(sub)
    commands.add_bundle(sub)
    commands.add_check(sub)
    commands.add_deploy(sub)
    commands.add_logs(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except commands.CLIErrors as e:
        print(f"mmplugin {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


__all__ = ["build_parser", "main"]
