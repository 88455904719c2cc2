"""``mmplugin bundle``: plugin code + host binaries + hash-locked wheelhouse → ``.tar.gz``."""

from __future__ import annotations

import importlib.metadata
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .collect import plugin_files
from .errors import BundleError
from .host import bundle_path, find_host_binaries
from .lock import LockedWheel, render_lock
from .manifest import BundledRuntime, BundledTarget, bundled_manifest, load_manifest
from .pip import PipRunner, download, run_pip
from .platforms import DEFAULT_GLIBC, Platform, PythonVersion, Target
from .requirements import plugin_requirements
from .runtime import Runtime, load_runtime
from .sdk import SDK_NAME, sdk_version, sdk_wheel
from .tarball import Entry, size_warning, write_tarball
from .wheels import parse_wheel_name, sha256_file

WHEELHOUSE = "python/wheels"
LOCKS = "python/locks"


@dataclass
class BundleOptions:
    plugin_dir: Path
    out_dir: Path
    platforms: Sequence[Platform]
    pythons: Sequence[PythonVersion]
    glibc: str = DEFAULT_GLIBC
    find_links: Sequence[str] = ()
    sdk_wheel: Path | None = None
    host_binaries: dict[str, Path] = field(default_factory=dict)
    host_binary_dir: Path | None = None
    # platform name → relocatable CPython (directory or install_only .tar.gz) to bundle
    python_runtimes: dict[str, Path] = field(default_factory=dict)
    exclude: Sequence[str] = ()
    runner: PipRunner = run_pip
    log: Callable[[str], None] = lambda _msg: None


@dataclass
class BundleResult:
    path: Path
    size: int
    targets: list[Target]
    wheels: int
    warnings: list[str]
    runtimes: list[Runtime] = field(default_factory=list)


def build_bundle(opts: BundleOptions) -> BundleResult:
    plugin_dir = opts.plugin_dir.resolve()
    manifest = load_manifest(plugin_dir)
    version = sdk_version()

    with tempfile.TemporaryDirectory(prefix="mmplugin-bundle-") as tmp:
        work = Path(tmp)
        runtimes = _load_runtimes(opts, work)
        # Without --python, a bundled runtime says which Python the wheels are for.
        pythons = list(opts.pythons) or sorted({rt.python for rt in runtimes})
        if not opts.platforms or not pythons:
            raise BundleError("give at least one --platform and one --python")
        for py in pythons:
            manifest.check_python(py)
        for rt in runtimes:
            if rt.python not in pythons:
                raise BundleError(
                    f"the Python runtime for {rt.platform.name} ({rt.source}) is Python "
                    f"{rt.python}, but the bundle targets Python "
                    f"{', '.join(map(str, pythons))}: add --python {rt.python}"
                )
        targets = [Target(py, p) for py in pythons for p in opts.platforms]
        sdk = sdk_wheel(work / "sdk", opts.sdk_wheel)
        sdk_sha = sha256_file(sdk)
        opts.log(f"SDK: {sdk.name}")
        reqs = plugin_requirements(plugin_dir)
        opts.log(f"plugin requirements: {reqs.describe()}")

        wheelhouse: dict[str, tuple[Path, str]] = {}  # file name → (path, sha256)
        locks: list[tuple[Target, str]] = []
        for t in targets:
            opts.log(f"resolving wheels for {t.key}")
            wheels = download(
                t,
                [str(sdk), *reqs.pip_args()],
                work / "download" / t.key,
                glibc=opts.glibc,
                find_links=opts.find_links,
                runner=opts.runner,
            )
            locked = [LockedWheel.from_file(w) for w in wheels]
            sdk_locked = [w for w in locked if w.name == SDK_NAME]
            if [w.sha256 for w in sdk_locked] != [sdk_sha]:
                raise BundleError(
                    f"the resolution for {t.key} did not use the SDK wheel {sdk.name}: check "
                    "that the plugin's requirements accept mmplugin "
                    f"{version} (found {[w.filename for w in sdk_locked]})"
                )
            for w, path in zip(locked, wheels, strict=True):
                known = wheelhouse.get(w.filename)
                if known is not None and known[1] != w.sha256:
                    raise BundleError(
                        f"two different files named {w.filename} were downloaded: the index "
                        "changed during the build; run the bundler again"
                    )
                wheelhouse[w.filename] = (path, w.sha256)
            locks.append((t, render_lock(t, locked)))

        installer = _installer_wheel(work / "installer", opts)
        installer_sha = sha256_file(installer)
        hosts = find_host_binaries(
            opts.platforms,
            version,
            work,
            overrides=opts.host_binaries,
            binary_dir=opts.host_binary_dir,
            find_links=opts.find_links,
            runner=opts.runner,
        )
        for name, (path, source) in sorted(hosts.items()):
            opts.log(f"host binary for {name}: {path} ({source})")

        entries: list[Entry] = []
        out_dir = opts.out_dir.resolve()
        for rel, src in plugin_files(plugin_dir, exclude=opts.exclude, skip=[out_dir]):
            if rel in ("plugin.json", "plugin.yaml", "plugin.yml"):
                continue
            entries.append(Entry(rel, src, executable=bool(src.stat().st_mode & 0o111)))
        executables: dict[str, str] = {}
        for p in opts.platforms:
            executables[p.name] = bundle_path(p)
            entries.append(Entry(bundle_path(p), hosts[p.name][0], executable=True))
        for filename, (path, _sha) in sorted(wheelhouse.items()):
            entries.append(Entry(f"{WHEELHOUSE}/{filename}", path))
        entries.append(Entry(f"{WHEELHOUSE}/{installer.name}", installer))
        for rt in runtimes:
            for rel, src in rt.files:
                entries.append(Entry(f"{rt.bundle_dir}/{rel}", src, rel in rt.executables))
        bundled: list[BundledTarget] = []
        for t, text in locks:
            lock_path = f"{LOCKS}/{t.key}.txt"
            entries.append(Entry(lock_path, text.encode()))
            bundled.append(BundledTarget(t, lock_path))
        final_manifest = bundled_manifest(
            manifest,
            executables=executables,
            sdk_version=version,
            wheelhouse=WHEELHOUSE,
            installer=(f"{WHEELHOUSE}/{installer.name}", installer_sha),
            targets=bundled,
            runtimes=[
                BundledRuntime(rt.platform.name, str(rt.python), rt.bundle_interpreter)
                for rt in runtimes
            ],
        )
        entries.append(Entry("plugin.json", (json.dumps(final_manifest, indent=2) + "\n").encode()))

        out = out_dir / f"{manifest.id}-{manifest.version}.tar.gz"
        size = write_tarball(out, manifest.id, entries)
    return BundleResult(
        path=out,
        size=size,
        targets=targets,
        wheels=len(wheelhouse) + 1,
        warnings=[
            w
            for w in (
                _entry_point_warning(manifest.entry_point, manifest.python_path, entries),
                size_warning(size, len(targets), len(opts.platforms), len(runtimes)),
            )
            if w
        ],
        runtimes=runtimes,
    )


def _load_runtimes(opts: BundleOptions, work: Path) -> list[Runtime]:
    names = {p.name: p for p in opts.platforms}
    runtimes = []
    for name, path in sorted(opts.python_runtimes.items()):
        if name not in names:
            raise BundleError(f"--python-runtime {name}={path}: {name} is not a bundled platform")
        rt = load_runtime(path, names[name], work)
        opts.log(
            f"Python runtime for {name}: Python {rt.python} from {path}, "
            f"{rt.size() / 2**20:.1f} MiB in {len(rt.files)} files "
            f"({rt.dropped_bytes / 2**20:.1f} MiB left out: tests, caches, headers, Tk, …)"
        )
        runtimes.append(rt)
    without = [n for n in names if runtimes and n not in opts.python_runtimes]
    if without:
        opts.log(
            f"no Python runtime for {', '.join(without)}: servers of that platform need their own "
            "Python (pass --python-runtime PLATFORM=PATH for each platform to bundle one)"
        )
    return runtimes


def _entry_point_warning(entry_point: str, path: list[str], entries: list[Entry]) -> str | None:
    """Warn when the entry point's module is not among the bundled files.

    Only a warning: the module may come from one of the bundled wheels.
    """
    module = entry_point.partition(":")[0].replace(".", "/")
    shipped = {e.path for e in entries}
    for d in path:
        prefix = "" if d in (".", "./") else d.strip("/") + "/"
        if f"{prefix}{module}.py" in shipped or f"{prefix}{module}/__init__.py" in shipped:
            return None
    return (
        f"warning: props.python.entry_point {entry_point!r}: no {module}.py or "
        f"{module}/__init__.py in the bundle below props.python.path {path}; unless a bundled "
        "wheel provides it, the plugin will fail to start: check the entry point and the path"
    )


def _installer_wheel(dest: Path, opts: BundleOptions) -> Path:
    """pip's own wheel, run from the wheelhouse to install offline on the server.

    Bundling the installer means the server needs only a Python with the venv module: no
    ensurepip (missing from Debian's python3 without python3-venv) and no system pip, and the
    flags the host passes are known to work.
    """
    version = importlib.metadata.version("pip")
    dest.mkdir(parents=True, exist_ok=True)
    args = ["download", "--progress-bar", "off", "--no-deps", "--only-binary=:all:"]
    args += ["--dest", str(dest), f"pip=={version}"]
    result = opts.runner(args)
    wheels = sorted(dest.glob("pip-*.whl"))
    if result.returncode != 0 or not wheels:
        raise BundleError(
            f"cannot download pip {version}'s wheel (the offline installer):\n"
            f"{result.output.strip()[-800:]}"
        )
    if parse_wheel_name(wheels[0]).name != "pip":
        raise BundleError(f"unexpected installer wheel {wheels[0].name}")
    return wheels[0]
