"""The subcommands: argument parsing and printing; the work happens in mmplugin.bundle."""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._serverversion import lacks, parse_version
from ..bundle import BundleError, BundleOptions, PythonVersion, build_bundle, get_platform
from ..bundle.host import HOST_BINARY_DIR_ENV, parse_host_binary_args
from ..bundle.manifest import load_manifest, parse_manifest
from ..bundle.platforms import DEFAULT_GLIBC, current_platform
from ..bundle.runtime import parse_runtime_args
from . import check
from .scaffold import scaffold

if TYPE_CHECKING:
    from .server import Client

CLIErrors = (BundleError, ValueError, OSError)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


# --- new ---------------------------------------------------------------------------------------


def add_new(sub: Any) -> None:
    p = sub.add_parser("new", help="create a new plugin from a working template")
    p.add_argument("dir", type=Path, help="directory to create (must be empty or absent)")
    p.add_argument("--id", required=True, help="plugin id, e.g. com.example.greeter")
    p.add_argument("--name", required=True, help='display name, e.g. "Greeter"')
    p.add_argument("--package", help="Python package name (default: from the id's last part)")
    p.set_defaults(func=cmd_new)


def cmd_new(args: argparse.Namespace) -> int:
    files = scaffold(args.dir, args.id, args.name, args.package)
    for f in files:
        print(f)
    _say(
        f"created plugin {args.id} in {args.dir}. Next: cd {args.dir}, then the commands in its "
        'README.md: pip install -e ".[dev]", pytest, mmplugin bundle, mmplugin deploy'
    )
    return 0


# --- bundle ------------------------------------------------------------------------------------


def add_bundle(sub: Any) -> None:
    p = sub.add_parser(
        "bundle",
        help="build the plugin's .tar.gz (code, host binaries, hash-locked wheels)",
        description="Build a Mattermost plugin bundle that installs offline on the server.",
    )
    p.add_argument("dir", nargs="?", type=Path, default=Path("."), help="plugin directory")
    p.add_argument(
        "--platform",
        action="append",
        dest="platforms",
        metavar="OS-ARCH",
        help="server platform to support (repeatable): linux-amd64, linux-arm64, darwin-arm64, "
        "darwin-amd64; default: linux-amd64",
    )
    p.add_argument(
        "--python",
        action="append",
        dest="pythons",
        metavar="X.Y",
        help="server Python version to support (repeatable); default: the running Python's",
    )
    p.add_argument("-o", "--out", type=Path, default=Path("dist"), help="output directory")
    p.add_argument(
        "--glibc",
        default=DEFAULT_GLIBC,
        help=f"oldest glibc of your Linux servers (default {DEFAULT_GLIBC})",
    )
    p.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR|URL",
        help="extra place for pip to find wheels (e.g. dist/host-wheels); repeatable",
    )
    p.add_argument(
        "--sdk-wheel", type=Path, help="use this mmplugin wheel instead of the installed SDK"
    )
    p.add_argument(
        "--host-binary",
        action="append",
        default=[],
        metavar="[OS-ARCH=]PATH",
        help="use this mmplugin-host binary for a platform (development); repeatable",
    )
    p.add_argument(
        "--host-binary-dir",
        type=Path,
        help=f"directory of mmplugin-host-OS-ARCH binaries (default ${HOST_BINARY_DIR_ENV})",
    )
    p.add_argument(
        "--python-runtime",
        action="append",
        default=[],
        metavar="[OS-ARCH=]PATH",
        help="bundle this relocatable CPython for a platform, for servers without Python (a "
        "python-build-standalone install_only .tar.gz or a directory with bin/python3.X, such as "
        "a uv-managed Python); repeatable, one per platform; without --python, the wheels are "
        "for its version",
    )
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files matching this pattern (relative to the plugin directory)",
    )
    p.set_defaults(func=cmd_bundle)


def cmd_bundle(args: argparse.Namespace) -> int:
    platform_names = args.platforms or ["linux-amd64"]
    platforms = [get_platform(n) for n in dict.fromkeys(platform_names)]
    runtimes = parse_runtime_args(args.python_runtime, platforms)
    pythons = sorted({PythonVersion.parse(v) for v in args.pythons or []})
    if not pythons and not runtimes:
        pythons = [PythonVersion.current()]
    if not args.platforms:
        here = current_platform()
        _say(
            "no --platform given: bundling for linux-amd64"
            + (f" (this machine is {here.name})" if here and here.name != "linux-amd64" else "")
        )
    if not args.pythons and not runtimes:
        _say(f"no --python given: bundling for this Python, {pythons[0]}")
    version_warning = check.min_version_warning(args.dir)
    if version_warning:
        _say(version_warning)
    result = build_bundle(
        BundleOptions(
            plugin_dir=args.dir,
            out_dir=args.out,
            platforms=platforms,
            pythons=pythons,
            glibc=args.glibc,
            find_links=args.find_links,
            sdk_wheel=args.sdk_wheel,
            host_binaries=parse_host_binary_args(args.host_binary, platforms),
            host_binary_dir=args.host_binary_dir,
            python_runtimes=runtimes,
            exclude=args.exclude,
            log=_say,
        )
    )
    targets = ", ".join(t.key for t in result.targets)
    bundled = "".join(f", Python runtime {r.python} for {r.platform.name}" for r in result.runtimes)
    _say(
        f"bundle: {result.size / 2**20:.1f} MiB, {result.wheels} wheels, targets {targets}"
        + bundled
    )
    for warning in result.warnings:
        _say(warning)
    print(result.path)
    return 0


# --- check ----------------------------------------------------------------------------------------


def add_check(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="list the API methods and hooks the plugin's code uses that a server version lacks",
        description="Read the plugin's Python code (statically) and list the API methods and "
        "hooks it uses that Mattermost X.Y does not have, with the min_server_version it needs.",
    )
    p.add_argument("dir", nargs="?", type=Path, default=Path("."), help="plugin directory")
    p.add_argument(
        "--server-version",
        metavar="X.Y",
        help="the server version to check against (default: plugin.json's min_server_version)",
    )
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when the server has everything the code uses, 1 when it lacks something."""
    report = check.scan(args.dir)
    declared = check.manifest_min_version(args.dir)
    server = args.server_version or declared
    if not server:
        raise ValueError(
            "give --server-version X.Y (plugin.json has no min_server_version to check against)"
        )
    parse_version(server)  # a clear error for a malformed version
    lacking = report.lacking(server)
    needed = report.needed_version
    print(
        f"{args.dir}: {report.files} files, {len(report.uses)} uses of API methods and hooks; "
        f"checked against Mattermost {server}"
    )
    for use in lacking:
        needs = f"needs Mattermost {use.min_version}"
        print(f"  {use.where}: {use.kind} {use.name} {needs} ({use.effect})")
    for where in report.guarded:
        print(f"  {where}: marked {check.GUARD_COMMENT!r}: not counted")
    if not lacking:
        print(f"Mattermost {server} has every API method and hook the code uses.")
    if needed:
        verdict = (
            "covers it"
            if declared and not lacks(needed, declared)
            else f'set "min_server_version": "{check.suggested(needed)}"'
        )
        print(
            f"The code needs Mattermost {needed}; plugin.json's min_server_version is "
            f"{declared or 'not set'}: {verdict}."
        )
    return 1 if lacking else 0


# --- deploy and logs ---------------------------------------------------------------------------


def _add_connection(p: argparse.ArgumentParser) -> None:
    from .server import SOCKET_ENV, TOKEN_ENV, URL_ENV

    g = p.add_argument_group("server")
    g.add_argument("--url", help=f"the server's site URL (default ${URL_ENV})")
    g.add_argument(
        "--token",
        help=f"a system admin's personal access token (default ${TOKEN_ENV}; prefer the "
        "variable: command-line arguments are visible to other local users)",
    )
    g.add_argument(
        "--local-socket",
        metavar="PATH",
        help=f"use local mode over this unix socket (on the server's machine; ${SOCKET_ENV})",
    )
    g.add_argument(
        "--local",
        action="store_true",
        help="use local mode over the default socket /var/tmp/mattermost_local.socket",
    )


def _client(args: argparse.Namespace) -> Client:
    from .server import Client, Connection

    conn = Connection.from_args(args.url, args.token, args.local_socket, args.local)
    client = Client(conn)
    client.login()
    return client


def _manifest_of_bundle(bundle: Path) -> dict[str, Any]:
    try:
        with tarfile.open(bundle, "r:gz") as tar:
            names = [m for m in tar.getmembers() if m.isfile()]
            candidates = [m for m in names if m.name.count("/") <= 1]
            for m in candidates:
                if m.name.split("/")[-1] == "plugin.json":
                    f = tar.extractfile(m)
                    if f is not None:
                        data: dict[str, Any] = json.loads(f.read())
                        return data
    except (tarfile.TarError, ValueError, EOFError, zlib.error, OSError) as e:
        # EOFError: a truncated .tar.gz; zlib.error/OSError (BadGzipFile): a corrupt one.
        why = "the file is truncated" if isinstance(e, EOFError) else str(e) or type(e).__name__
        raise BundleError(
            f"{bundle} is not a readable plugin bundle (.tar.gz): {why}; build it again with "
            "'mmplugin bundle'"
        ) from None
    raise BundleError(f"{bundle} has no plugin.json at its top")


def add_deploy(sub: Any) -> None:
    p = sub.add_parser(
        "deploy", help="upload a bundle to a server, enable it and wait until it runs"
    )
    p.add_argument(
        "bundle",
        nargs="?",
        type=Path,
        help="the .tar.gz (default: the newest in dist/)",
    )
    _add_connection(p)
    p.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the plugin to run (default 60; 0: do not wait)",
    )
    p.set_defaults(func=cmd_deploy)


def _default_bundle() -> Path:
    found = sorted(Path("dist").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise BundleError("no bundle given and none in dist/: run 'mmplugin bundle' first")
    return found[-1]


def cmd_deploy(args: argparse.Namespace) -> int:
    from .server import (
        ServerError,
        failure_report,
        last_activation_failure,
        log_snapshot,
        wait_running,
    )

    bundle: Path = args.bundle or _default_bundle()
    manifest = parse_manifest(_manifest_of_bundle(bundle), f"{bundle}: plugin.json")
    with _client(args) as client:
        started = time.monotonic()
        # Lines already in the log are not this deploy's: a failure report shows only new ones.
        log_before = log_snapshot(client)
        # Local mode sees a failed start only in the log: remember the last one before.
        failure_before = (
            last_activation_failure(client, manifest.id) if client.conn.local_socket else None
        )
        try:
            client.upload_plugin(bundle, force=True)
            _say(f"uploaded {manifest.id} {manifest.version} to {client.conn.where}")
            client.enable_plugin(manifest.id)
            _say(f"enabled {manifest.id}")
            if args.wait > 0:
                wait_running(client, manifest.id, args.wait, failure_before=failure_before)
                _say(f"{manifest.id} is running ({time.monotonic() - started:.1f}s)")
        except ServerError as e:
            # The server's answer ("Unable to restart plugin on upgrade") rarely says why; the
            # plugin's status and log lines do.
            raise ServerError(failure_report(client, manifest.id, str(e), log_before)) from None
    return 0


def add_logs(sub: Any) -> None:
    p = sub.add_parser("logs", help="show the server log lines of a plugin")
    p.add_argument(
        "dir", nargs="?", type=Path, default=Path("."), help="plugin directory (for its id)"
    )
    p.add_argument("--plugin-id", help="the plugin id (default: from DIR/plugin.json)")
    _add_connection(p)
    p.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--json", action="store_true", help="print the raw JSON log entries")
    p.set_defaults(func=cmd_logs)


def cmd_logs(args: argparse.Namespace) -> int:
    from .server import format_entry, plugin_log_entries

    plugin_id = (args.plugin_id or load_manifest(args.dir).id).lower()

    def show(entry: dict[str, Any]) -> None:
        print(json.dumps(entry) if args.json else format_entry(entry), flush=True)

    with _client(args) as client:
        lines = client.log_lines()
        if not lines:
            # GET /api/v4/logs reads the server's JSON file log; with it off the answer is empty.
            print(
                "mmplugin logs: the server returned no log lines: its file log is probably off; "
                "set LogSettings.EnableFile=true (MM_LOGSETTINGS_ENABLEFILE=true) with "
                "LogSettings.FileJson=true",
                file=sys.stderr,
            )
        entries = plugin_log_entries(lines, plugin_id)
        for e in entries[-args.lines :] if args.lines > 0 else []:
            show(e)
        seen = {json.dumps(e, sort_keys=True) for e in entries}
        while args.follow:
            time.sleep(2)
            for e in plugin_log_entries(client.log_lines(1000), plugin_id):
                key = json.dumps(e, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    show(e)
    return 0
