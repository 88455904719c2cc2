"""The testing fake against the real server: each scenario also runs on ``mmplugin.testing``'s
``FakeAPI`` (in this process, a fresh fake per scenario, fixtures made with its ``add_*``
helpers and API) and its answer is compared with the Go probe's on the real server.

A scenario the fake supports is one whose method and setup calls the fake implements and whose
fixtures it can make (kinds: user, team, channel, post, bot, direct, reaction, id, name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmplugin.models import Bot, Post, Reaction
from mmplugin.testing import FakeAPI
from pyprobe.canon import encode
from pyprobe.plugin import call

from confrun import compare, fixtures
from confrun.refs import resolve
from confrun.run import Outcome

PLUGIN_ID = "com.mmplugin.conformance.fake"


class Unsupported(Exception):
    """The fake cannot run this scenario."""


@dataclass
class FakeOutcome:
    scenario_name: str
    answer: dict[str, Any] = field(default_factory=dict)
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)


def _make(fake: FakeAPI, kind: str, o: dict[str, Any], values: dict[str, Any]) -> Any:
    if kind == "user":
        name = fixtures.unique("u")
        user = fake.add_user(name, first_name="First", last_name="Last", nickname="nick")
        for team_id in o.get("teams", []):
            fake.add_to_team(user.id, team_id)
        for channel_id in o.get("channels", []):
            fake.add_to_channel(user.id, channel_id)
        return user
    if kind == "team":
        name = fixtures.unique("t")
        team = fake.add_team(
            name, display_name=f"Team {name}", type="I" if o.get("private") else "O"
        )
        fake.add_to_team(values["admin"]["id"], team.id)  # the creator joins, as on the server
        return team
    if kind == "channel":
        name = fixtures.unique("c")
        channel = fake.add_channel(
            o.get("team") or values["team"]["id"],
            name,
            display_name=f"Channel {name}",
            type="P" if o.get("private") else "O",
        )
        fake.add_to_channel(values["admin"]["id"], channel.id)
        for user_id in o.get("members", []):
            fake.add_to_channel(user_id, channel.id)
        return channel
    if kind == "post":
        post = Post(
            channel_id=o.get("channel") or values["channel"]["id"],
            user_id=values["admin"]["id"],
            message=o.get("message", "a conformance post"),
            root_id=o.get("root", ""),
            props=o.get("props"),
        )
        return fake.create_post(post)
    if kind == "bot":
        name = fixtures.unique("b")
        return fake.create_bot(
            Bot(
                username=name,
                display_name=f"Bot {name}",
                description="a conformance bot",
                owner_id=values["admin"]["id"],
            )
        )
    if kind == "direct":
        return fake.get_direct_channel(*o["users"])
    if kind == "reaction":
        return fake.add_reaction(
            Reaction(
                user_id=o.get("user") or values["admin"]["id"],
                post_id=o.get("post") or values["post"]["id"],
                emoji_name=o.get("emoji", "smile"),
            )
        )
    if kind in ("id", "name"):
        return fixtures.create(None, kind, o, values)  # type: ignore[arg-type]
    raise Unsupported(f"fixture kind {kind}")


def _values(
    fake: FakeAPI, specs: dict[str, dict[str, Any]], values: dict[str, Any]
) -> dict[str, Any]:
    out = dict(values)
    for name, spec in specs.items():
        opts = resolve({k: v for k, v in spec.items() if k != "kind"}, out)
        try:
            made = _make(fake, spec["kind"], opts, out)
        except Unsupported:
            raise
        except Exception as exc:
            raise Unsupported(f"fixture {name}: {exc}") from exc
        out[name] = made if isinstance(made, dict) else encode(made)
    return out


def _checked(answer: dict[str, Any], what: str) -> dict[str, Any]:
    problem = str(answer.get("probe_error", ""))
    if "NotSupportedByFake" in problem:
        raise Unsupported(f"{what} is not implemented by the fake")
    if problem:
        raise Unsupported(f"{what}: {problem}")
    return answer


def run(outcome: Outcome, base: dict[str, dict[str, Any]]) -> FakeOutcome | None:
    """The fake's answer to ``outcome``'s scenario compared with the Go answer, or None when
    the fake does not support the scenario (or the Go side did not run cleanly)."""
    scenario = outcome.scenario
    if outcome.problem or not outcome.go_values:
        return None
    fake = FakeAPI(plugin_id=PLUGIN_ID)
    admin = fake.add_user("admin", roles="system_admin system_user")
    base = {k: v for k, v in base.items() if v["kind"] != "file"}  # no uploads on the fake
    try:
        values = _values(fake, base, {"admin": encode(admin), "plugin": {"id": PLUGIN_ID}})
        values = _values(fake, scenario.fixtures, values)
        for step in scenario.setup:
            answer = _checked(
                call(fake, step["method"], resolve(step.get("args", []), values)),
                f"setup {step['method']}",
            )
            if "result" not in answer:
                raise Unsupported(f"setup {step['method']} failed on the fake: {answer}")
            values[step.get("as", step["method"])] = answer
        answer = _checked(
            call(fake, scenario.method, resolve(scenario.args, values)), scenario.method
        )
    except (Unsupported, KeyError):
        return None
    result = FakeOutcome(scenario.name, answer)
    go_n = compare.normalize(outcome.go, outcome.go_values, scenario.ignore, scenario.unordered)
    fake_n = compare.normalize(answer, values, scenario.ignore, scenario.unordered)
    if scenario.compare == "outcome":
        go_n, fake_n = compare.outcome(go_n), compare.outcome(fake_n)
    result.diffs = compare.differences(go_n, fake_n)
    return result
