"""Running pip (the author's) to fetch wheels for other platforms and Python versions."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import BundleError
from .platforms import Platform, Target


@dataclass(frozen=True)
class PipResult:
    returncode: int
    output: str  # stdout and stderr, interleaved


PipRunner = Callable[[Sequence[str]], PipResult]
"""Runs ``pip <args>``; replaceable in tests."""


def run_pip(args: Sequence[str]) -> PipResult:
    """``python -m pip ARGS`` with the Python running the bundler.

    The author's pip configuration (index URL, proxy, certificates) is honoured: bundling is the
    one step that is allowed to reach an index.
    """
    if importlib.util.find_spec("pip") is None:
        raise BundleError(
            f"pip is not installed for {sys.executable}: the bundler downloads wheels with pip; "
            "install it with 'python -m ensurepip' or 'uv pip install pip'"
        )
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        check=False,
    )
    return PipResult(proc.returncode, proc.stdout)


def platform_args(platform: Platform, glibc: str) -> list[str]:
    args: list[str] = []
    for tag in platform.pip_platforms(glibc):
        args += ["--platform", tag]
    return args


def target_args(target: Target, glibc: str) -> list[str]:
    """pip's cross-download options for one target: binary wheels only, CPython ABI."""
    return [
        "--only-binary=:all:",
        *platform_args(target.platform, glibc),
        "--python-version",
        str(target.python),
        "--implementation",
        "cp",
        "--abi",
        target.python.abi,
    ]


def find_links_args(find_links: Sequence[str]) -> list[str]:
    args: list[str] = []
    for fl in find_links:
        args += ["--find-links", fl]
    return args


_NO_DIST = re.compile(r"No matching distribution found for ([^\s;]+)")
_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement ([^\s;]+)")


def tail(output: str, lines: int = 15) -> str:
    kept = [line for line in output.strip().splitlines() if line.strip()]
    return "\n".join("    " + line for line in kept[-lines:])


def download_error(target: Target, glibc: str, result: PipResult) -> BundleError:
    """Turn a failed ``pip download`` into an error that names the package without a wheel."""
    m = _NO_DIST.search(result.output) or _NO_VERSION.search(result.output)
    where = (
        f"CPython {target.python} on {target.platform.name} "
        f"({target.python.abi}, {', '.join(target.platform.pip_platforms(glibc)[:1])}…)"
    )
    if m:
        pkg = m.group(1)
        return BundleError(
            f"{pkg} has no wheel for {where}. Bundles carry wheels only (the server installs "
            f"offline and never builds from source): choose a version of {pkg} that publishes "
            f"a wheel for this target, or drop --python {target.python} / --platform "
            f"{target.platform.name}.\npip said:\n{tail(result.output)}"
        )
    return BundleError(
        f"pip could not download the dependencies for {where} "
        f"(exit {result.returncode}):\n{tail(result.output)}"
    )


def download(
    target: Target,
    requirements: Sequence[str],
    dest: Path,
    *,
    glibc: str,
    find_links: Sequence[str] = (),
    runner: PipRunner = run_pip,
    no_deps: bool = False,
) -> list[Path]:
    """Download the wheels of ``requirements`` (and their dependencies) for one target."""
    dest.mkdir(parents=True, exist_ok=True)
    args = [
        "download",
        "--progress-bar",
        "off",
        "--dest",
        str(dest),
        *target_args(target, glibc),
        *find_links_args(find_links),
        *(["--no-deps"] if no_deps else []),
        *requirements,
    ]
    result = runner(args)
    if result.returncode != 0:
        raise download_error(target, glibc, result)
    wheels = sorted(dest.glob("*.whl"))
    others = sorted(p.name for p in dest.iterdir() if p.is_file() and p.suffix != ".whl")
    if others:  # --only-binary should make this impossible; never ship an sdist
        raise BundleError(
            f"pip downloaded files that are not wheels for {target.key}: {', '.join(others)}"
        )
    return wheels
