"""Typed plugin configuration: ``self.config``, refreshed on every configuration change.

A plugin declares its settings as a class, the way a Go plugin declares a ``configuration``
struct, and annotates ``config`` with it::

    class GreeterSettings(mmplugin.Settings):
        greeting: str = "Hello"              # matches the manifest key "Greeting"
        max_greetings: int = 3               # matches "MaxGreetings"
        channels: list[str] = []             # mutable defaults are copied, not shared
        api_token: str = setting(key="APIToken", secret=True)

    class Greeter(mmplugin.Plugin):
        config: GreeterSettings

Keys are matched like Go's ``json.Unmarshal`` plus Mattermost's lower-casing of plugin setting
keys: case-insensitively, ignoring ``_`` and ``-`` (``max_greetings`` ⇄ ``MaxGreetings`` ⇄
``maxgreetings``); ``setting(key=...)`` names a key explicitly. Missing keys keep the default;
unknown keys are ignored. A value of the wrong type raises ``ConfigurationError`` naming the key,
the field and what was expected. A ``validate(self)`` method on the class runs after loading.

Without a ``Settings`` annotation, a plugin whose ``plugin.json`` has a ``settings_schema`` gets
``ManifestConfig``: a read-only mapping of the schema's keys (case-insensitive) to the current
values, defaults included.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, Union

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    try:
        from typing import dataclass_transform
    except ImportError:  # Python 3.10

        def dataclass_transform(**_: object) -> Callable[[type], type]:
            return lambda cls: cls


_S = TypeVar("_S", bound="Settings")
_KEY = "mmplugin.key"
_SECRET = "mmplugin.secret"


class ConfigurationError(ValueError):
    """The plugin's configuration does not fit its ``Settings`` class.

    ``key`` is the configuration key (as the server sent it, or the expected one), ``field`` the
    Python attribute.
    """

    def __init__(self, message: str, *, key: str = "", field: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.field = field


def setting(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    key: str | None = None,
    secret: bool = False,
) -> Any:
    """Options for one setting: an explicit configuration ``key`` and whether it is ``secret``.

    Secret values are hidden in ``repr()`` (so they stay out of logs and tracebacks).
    """
    metadata = {_KEY: key, _SECRET: secret}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(
            default_factory=default_factory, metadata=metadata, repr=not secret
        )
    return dataclasses.field(default=default, metadata=metadata, repr=not secret)


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(setting,))
class Settings:
    """Base class of a plugin's typed settings: a frozen keyword-only dataclass.

    Supported field types: ``str``, ``int``, ``float``, ``bool``, ``X | None``, ``list[X]``,
    ``dict[str, X]``, ``Literal[...]``, ``enum.Enum`` subclasses (by value) and ``Any``. A field
    without a default takes the type's zero value (``""``, ``0``, ``False``, ``[]``), as Go does.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = inspect.get_annotations(cls)
        for name in annotations:
            value = cls.__dict__.get(name, dataclasses.MISSING)
            if isinstance(value, (list, dict, set)):
                # A list default must not be shared between instances: copy it per instance.
                setattr(cls, name, setting(default_factory=_copier(value)))
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def from_config(cls: type[_S], raw: Mapping[str, Any] | bytes | str | None) -> _S:
        """Build the settings from the plugin's configuration (a mapping or its JSON)."""
        return load_settings(cls, raw)

    def validate(self) -> None:
        """Override to check values together; raise ``ValueError`` with a helpful message."""


def _copier(value: list[Any] | dict[Any, Any] | set[Any]) -> Callable[[], Any]:
    return lambda: type(value)(value)


def parse_config_json(raw: Mapping[str, Any] | bytes | str | None) -> dict[str, Any]:
    """The configuration as a dict: ``raw`` may be a mapping, JSON text/bytes, or None."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    text = raw.decode() if isinstance(raw, bytes) else raw
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigurationError(f"the plugin configuration is not valid JSON: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"the plugin configuration must be a JSON object, got {type(data).__name__}"
        )
    return data


def load_settings(cls: type[_S], raw: Mapping[str, Any] | bytes | str | None) -> _S:
    """Convert the configuration into ``cls``, naming the key of any value that does not fit."""
    settings: _S = _build(cls, parse_config_json(raw), None)
    try:
        settings.validate()
    except ConfigurationError:
        raise
    except ValueError as e:
        raise ConfigurationError(f"invalid plugin configuration: {e}") from e
    return settings


@dataclasses.dataclass(frozen=True)
class _Where:
    """Where a value sits: its key path, the attribute it fills, the top-level key/field."""

    path: str
    owner: str
    key: str
    field: str

    def __str__(self) -> str:
        return f'plugin setting "{self.path}" ({self.owner})'

    def at(self, suffix: str) -> _Where:
        return dataclasses.replace(self, path=self.path + suffix)


def _build(cls: type, data: Mapping[str, Any], where: _Where | None) -> Any:
    """A dataclass (a Settings class, or a plain dataclass nested in one) from a JSON object."""
    by_norm: dict[str, str] = {}
    for k in data:
        by_norm.setdefault(_norm(k), k)
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        explicit = f.metadata.get(_KEY)
        key = by_norm.get(_norm(explicit)) if explicit else by_norm.get(_norm(f.name))
        if key is None:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                values[f.name] = _zero(hints[f.name])
            continue
        owner = f"{cls.__name__}.{f.name}"
        sub = (
            _Where(key, owner, key, f.name)
            if where is None
            else _Where(f"{where.path}.{key}", owner, where.key, where.field)
        )
        values[f.name] = _convert(data[key], hints[f.name], sub)
    return cls(**values)


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as e:
        raise TypeError(
            f"cannot read the field types of {cls.__qualname__}: {type(e).__name__}: {e} "
            "(define the Settings class at module level and import the types it uses)"
        ) from None


def _expected(tp: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if tp in names:
        return names[tp]
    if typing.get_args(tp):  # list[str], dict[str, int], X | None: spell out the parameters
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _got(value: Any) -> str:
    return f"{json.dumps(value) if _jsonable(value) else repr(value)} ({type(value).__name__})"


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _fail(where: _Where, tp: Any, value: Any) -> ConfigurationError:
    return ConfigurationError(
        f"{where}: expected {_expected(tp)}, got {_got(value)}; fix it in the System Console "
        "(Plugins > this plugin) or in config.json PluginSettings.Plugins",
        key=where.key,
        field=where.field,
    )


def _not_one_of(where: _Where, choices: str, value: Any) -> ConfigurationError:
    return ConfigurationError(
        f"{where}: expected one of {choices}, got {_got(value)}", key=where.key, field=where.field
    )


def _zero(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType) and type(None) in typing.get_args(tp):
        return None
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    base = origin or tp
    if base in (list, dict, set, str, int, float, bool):
        return base()
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return next(iter(base))
    return None


def _convert(value: Any, tp: Any, where: _Where) -> Any:
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except ConfigurationError:
                continue
        raise _fail(where, tp, value)
    if origin is typing.Literal:
        if value in args:
            return value
        choices = ", ".join(json.dumps(a) if _jsonable(a) else repr(a) for a in args)
        raise _not_one_of(where, choices, value)
    if origin in (list, set, frozenset, tuple) or tp in (list, set):
        if not isinstance(value, list):
            raise _fail(where, tp, value)
        item = args[0] if args else Any
        items = [_convert(v, item, where.at(f"[{i}]")) for i, v in enumerate(value)]
        return (origin or tp)(items)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _fail(where, tp, value)
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, vt, where.at(f".{k}")) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(json.dumps(m.value) for m in tp)
            raise _not_one_of(where, choices, value) from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _fail(where, tp, value)
        return _build(tp, value, where)
    return _scalar(value, tp, where)


def _scalar(value: Any, tp: Any, where: _Where) -> Any:
    # Admin-console text settings hold strings; accept the obvious spellings of numbers and
    # booleans in them, but never silently truncate (2.5 is not an int) or guess.
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                f = float(value.strip())
            except ValueError:
                pass
            else:
                if math.isfinite(f):
                    return f
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(
            f"{where}: unsupported setting type {_expected(tp)}; use str, int, float, bool, "
            "X | None, list[X], dict[str, X], Literal[...], an Enum or a dataclass"
        )
    raise _fail(where, tp, value)


class ManifestConfig(Mapping[str, Any]):
    """The configuration of a plugin without a ``Settings`` class: the manifest's
    ``settings_schema`` keys with their defaults, overlaid with the current values.

    Lookups ignore case (the server lower-cases plugin setting keys); iteration yields the keys
    as the manifest spells them, then any other keys the server sent.
    """

    def __init__(self, raw: Mapping[str, Any] | bytes | str | None, manifest: Mapping[str, Any]):
        schema = manifest.get("settings_schema") or {}
        values: dict[str, Any] = {}
        self._keys: dict[str, str] = {}
        for s in schema.get("settings") or ():
            k = s.get("key")
            if k:
                self._keys[k.lower()] = k
                values[k.lower()] = s.get("default")
        for k, v in parse_config_json(raw).items():
            self._keys.setdefault(k.lower(), k)
            values[k.lower()] = v
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"ManifestConfig({dict(self.items())!r})"


def manifest_has_settings(manifest: Mapping[str, Any] | None) -> bool:
    """Whether a manifest declares plugin settings (so the SDK loads them)."""
    schema = (manifest or {}).get("settings_schema") or {}
    return bool(schema.get("settings"))


__all__ = [
    "ConfigurationError",
    "ManifestConfig",
    "Settings",
    "load_settings",
    "manifest_has_settings",
    "parse_config_json",
    "setting",
]
