"""Helpers for the bundler and CLI tests (a unique module name: test directories share sys.path)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mmplugin.bundle.pip import PipResult
from mmplugin.bundle.platforms import Platform
from mmplugin.bundle.wheels import WheelFile, write_wheel

REPO = Path(__file__).resolve().parents[3]


def fake_elf(platform: Platform) -> bytes:
    """The first bytes of an ELF executable for ``platform``, padded."""
    head = bytearray(64)
    head[:4] = b"\x7fELF"
    assert platform.elf_machine is not None
    head[18:20] = platform.elf_machine.to_bytes(2, "little")
    return bytes(head) + b"\0" * 1024


class FakePip:
    """Stands in for pip: records each call and "downloads" made-up wheels.

    For ``pip download`` it copies any local wheel given as a requirement (the SDK wheel) and
    writes one fake wheel per name in ``extra``, tagged for the requested --abi/--platform.
    """

    def __init__(self, extra: Sequence[str] = ("grpcio",), fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.extra = list(extra)
        self.fail = fail

    def __call__(self, args: Sequence[str]) -> PipResult:
        args = list(args)
        self.calls.append(args)
        if self.fail:
            return PipResult(1, self.fail)
        dest = Path(args[args.index("--dest") + 1])
        dest.mkdir(parents=True, exist_ok=True)
        reqs = [a for a in args if a.endswith(".whl")]
        for r in reqs:
            shutil.copy(r, dest / Path(r).name)
        if any(a.startswith("pip==") for a in args):
            write_wheel(dest, name="pip", version="99.0", tag="py3-none-any", files=[])
            return PipResult(0, "")
        abi = args[args.index("--abi") + 1] if "--abi" in args else "none"
        plat = args[args.index("--platform") + 1] if "--platform" in args else "any"
        for name in self.extra:
            write_wheel(
                dest,
                name=name,
                version="1.0",
                tag=f"{abi}-{abi}-{plat}",
                files=[WheelFile(f"{name}/__init__.py", f"# {abi} {plat}\n".encode())],
            )
        return PipResult(0, "Successfully downloaded")


def run(
    cmd: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, check=False, cwd=cwd, env=env
    )
