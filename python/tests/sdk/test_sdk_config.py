"""Typed settings: key matching like Go + Mattermost, conversions, errors naming the key."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Literal

import pytest

from mmplugin.config import ConfigurationError, ManifestConfig, Settings, load_settings, setting


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class S(Settings):
    greeting: str = "Hello"
    max_items: int = 3
    ratio: float = 0.5
    enabled: bool = False
    channels: list[str] = setting(default_factory=list)
    limits: dict[str, int] = {}  # noqa: RUF012  (copied per instance, see below)
    nickname: str | None = None
    mode: Literal["fast", "slow"] = "fast"
    color: Color = Color.RED
    api_token: str = setting(key="APIToken", default="", secret=True)
    required_without_default: int


def test_keys_match_case_and_underscore_insensitively_like_the_server_sends_them() -> None:
    # The server lower-cases plugin setting keys; Go's json.Unmarshal ignores case.
    raw = {"greeting": "Hi", "maxitems": 7, "Enabled": True, "apitoken": "s3cret"}
    s = S.from_config(raw)
    assert (s.greeting, s.max_items, s.enabled, s.api_token) == ("Hi", 7, True, "s3cret")
    assert s.required_without_default == 0  # Go's zero value, not a TypeError


def test_json_bytes_and_defaults() -> None:
    s = S.from_config(json.dumps({"MaxItems": 9}).encode())
    assert s.max_items == 9 and s.greeting == "Hello" and s.ratio == 0.5
    assert S.from_config(None) == S.from_config(b"null") == S.from_config("")


def test_mutable_defaults_are_not_shared() -> None:
    a, b = S.from_config({}), S.from_config({})
    a.channels.append("x")
    a.limits["x"] = 1  # a plain `= {}` default is copied per instance too
    assert b.channels == [] and b.limits == {}


def test_admin_console_strings_are_accepted_for_numbers_and_booleans() -> None:
    s = S.from_config({"max_items": "12", "ratio": "2", "enabled": "true"})
    assert (s.max_items, s.ratio, s.enabled) == (12, 2.0, True)


def test_containers_literals_enums_and_optionals() -> None:
    s = S.from_config(
        {
            "channels": ["a", "b"],
            "limits": {"x": 1},
            "mode": "slow",
            "color": "blue",
            "nickname": None,
        }
    )
    assert s.channels == ["a", "b"] and s.limits == {"x": 1}
    assert s.mode == "slow" and s.color is Color.BLUE and s.nickname is None


@pytest.mark.parametrize(
    ("raw", "path", "field", "expected"),
    [
        ({"MaxItems": "ten"}, "MaxItems", "max_items", "expected an integer"),
        ({"maxitems": 2.5}, "maxitems", "max_items", "expected an integer"),
        ({"enabled": "yes"}, "enabled", "enabled", "expected true or false"),
        ({"channels": "a,b"}, "channels", "channels", "expected list[str]"),
        ({"channels": ["a", 1]}, "channels[1]", "channels", "expected a string"),
        ({"mode": "medium"}, "mode", "mode", 'expected one of "fast", "slow"'),
        ({"color": "green"}, "color", "color", 'expected one of "red", "blue"'),
        ({"limits": {"x": "many"}}, "limits.x", "limits", "expected an integer"),
    ],
)
def test_a_bad_value_names_the_key_the_field_and_what_was_expected(
    raw: dict[str, object], path: str, field: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        S.from_config(raw)
    message = str(info.value)
    assert f'plugin setting "{path}" (S.{field})' in message
    assert expected in message
    assert "System Console" in message or "expected one of" in message
    assert info.value.key == path.split("[")[0].split(".")[0] and info.value.field == field


def test_secret_values_stay_out_of_repr() -> None:
    s = S.from_config({"APIToken": "hunter2"})
    assert "hunter2" not in repr(s)
    assert s.api_token == "hunter2"


def test_validate_runs_after_loading_and_its_error_becomes_configuration_error() -> None:
    class Range(Settings):
        low: int = 0
        high: int = 10

        def validate(self) -> None:
            if self.low > self.high:
                raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")

    assert Range.from_config({"low": 2}).low == 2
    with pytest.raises(ConfigurationError, match=r"low \(20\) must not exceed high \(10\)"):
        Range.from_config({"low": 20})


def test_settings_are_frozen() -> None:
    s = S.from_config({})
    with pytest.raises(AttributeError):
        s.greeting = "x"  # type: ignore[misc]


def test_invalid_json_and_non_objects_are_explained() -> None:
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_settings(S, b"{nope")
    with pytest.raises(ConfigurationError, match="must be a JSON object, got list"):
        load_settings(S, b"[1]")


def test_manifest_config_overlays_values_on_schema_defaults() -> None:
    manifest = {
        "settings_schema": {
            "settings": [
                {"key": "Greeting", "type": "text", "default": "Hello"},
                {"key": "Enabled", "type": "bool", "default": True},
            ]
        }
    }
    config = ManifestConfig({"greeting": "Hi", "extra": 1}, manifest)
    assert config["GREETING"] == "Hi" and config["enabled"] is True
    assert list(config) == ["Greeting", "Enabled", "extra"]
    assert len(config) == 3


@dataclasses.dataclass
class Greeting:
    team_name: str = ""
    message: list[str] = dataclasses.field(default_factory=list)
    delay_in_seconds: int = 0


class Nested(Settings):
    welcome_messages: list[Greeting] = setting(default_factory=list)


def test_nested_dataclasses_like_a_go_plugins_struct_slices() -> None:
    # welcomebot's config.json shape: a list of structs with Go field names.
    raw = {
        "welcomemessages": [{"TeamName": "eng", "Message": ["Hi", "there"], "DelayInSeconds": 3}]
    }
    assert Nested.from_config(raw).welcome_messages == [Greeting("eng", ["Hi", "there"], 3)]
    with pytest.raises(ConfigurationError) as info:
        Nested.from_config({"WelcomeMessages": [{"TeamName": "a"}, {"DelayInSeconds": "soon"}]})
    assert str(info.value).startswith(
        'plugin setting "WelcomeMessages[1].DelayInSeconds" (Greeting.delay_in_seconds): '
        'expected an integer, got "soon" (str)'
    )
    assert (info.value.key, info.value.field) == ("WelcomeMessages", "welcome_messages")
