"""Fixtures created through the server's REST API as the system admin (never through a probe,
so both probes see equivalent data they did not make themselves).

Kinds and their options ("$ref" values are resolved first):
    user      teams, channels: lists of ids to join; roles ("system_user system_admin")
    team      private: bool
    channel   team (default $team.id), private: bool, members: user ids
    post      channel (default $channel.id), message, root (reply to), props, files (ids)
    bot       (owned by the admin)
    direct    users: two user ids
    group     users: three or more user ids (a group message channel)
    file      channel (default $channel.id), name, content (text)
    command   team (default $team.id), trigger
    reaction  post, emoji (default "smile"), user (default $admin.id)
    emoji     (a custom emoji by the admin, a 1x1 PNG)
    id        no object: {"id": a fresh id}, for calls that take a caller-chosen id
    name      no object: {"name": a fresh name}, for objects a call or trigger creates
Every name a fixture gets has a random part, so fixtures made for the Go and the Python run
differ only in ids, names and times, which the comparison maps back to "<fixture.field>".
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from mmtest.api import JSON, MattermostAPI

from confrun.refs import resolve

PASSWORD = "Conformance-1aA-" + secrets.token_hex(8)


def unique(prefix: str) -> str:
    return prefix + secrets.token_hex(5)


def create(api: MattermostAPI, kind: str, options: dict[str, Any], values: dict[str, Any]) -> JSON:
    """One fixture of ``kind``; ``values`` holds the fixtures made so far (for defaults)."""
    opts = resolve(options, values)
    maker = _MAKERS.get(kind)
    if maker is None:
        raise ValueError(f"unknown fixture kind {kind!r}; known: {sorted(_MAKERS)}")
    return maker(api, opts, values)


def _user(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    name = unique("u")
    user: JSON = api.post(
        "/users",
        {
            "username": name,
            "email": f"{name}@example.com",
            "password": PASSWORD,
            "first_name": "First",
            "last_name": "Last",
            "nickname": "nick",
        },
    )
    for team_id in opts.get("teams", []):
        api.add_team_member(team_id, user["id"])
    for channel_id in opts.get("channels", []):
        api.add_channel_member(channel_id, user["id"])
    if "roles" in opts:
        api.call("PUT", f"/users/{user['id']}/roles", json={"roles": opts["roles"]})
        user = api.get(f"/users/{user['id']}")
    return user


def _team(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    name = unique("t")
    return api.create_team(name, f"Team {name}", open_=not opts.get("private", False))


def _channel(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    name = unique("c")
    team_id = opts.get("team") or values["team"]["id"]
    channel = api.create_channel(
        team_id, name, f"Channel {name}", private=opts.get("private", False)
    )
    for user_id in opts.get("members", []):
        api.add_channel_member(channel["id"], user_id)
    return channel


def _post(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    body: dict[str, Any] = {
        "channel_id": opts.get("channel") or values["channel"]["id"],
        "message": opts.get("message", "a conformance post"),
    }
    if "root" in opts:
        body["root_id"] = opts["root"]
    if "props" in opts:
        body["props"] = opts["props"]
    if "files" in opts:
        body["file_ids"] = opts["files"]
    post: JSON = api.post("/posts", body)
    return post


def _bot(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    name = unique("b")
    bot: JSON = api.post(
        "/bots",
        {"username": name, "display_name": f"Bot {name}", "description": "a conformance bot"},
    )
    return bot


def _direct(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    channel: JSON = api.post("/channels/direct", opts["users"])
    return channel


def _group(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    channel: JSON = api.post("/channels/group", opts["users"])
    return channel


def _file(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    channel_id = opts.get("channel") or values["channel"]["id"]
    name = opts.get("name", unique("f") + ".txt")
    response = api.call(
        "POST",
        "/files",
        data={"channel_id": channel_id},
        files={"files": (name, opts.get("content", "conformance").encode(), "text/plain")},
    )
    info: JSON = response.json()["file_infos"][0]
    return info


def _command(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    command: JSON = api.post(
        "/commands",
        {
            "team_id": opts.get("team") or values["team"]["id"],
            "trigger": opts.get("trigger", unique("cmd")),
            "method": "P",
            "url": "http://127.0.0.1:9/conformance",
            "display_name": "conformance",
        },
    )
    return command


def _reaction(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    reaction: JSON = api.post(
        "/reactions",
        {
            "user_id": opts.get("user") or values["admin"]["id"],
            "post_id": opts.get("post") or values["post"]["id"],
            "emoji_name": opts.get("emoji", "smile"),
        },
    )
    return reaction


PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def _emoji(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    emoji = {"creator_id": values["admin"]["id"], "name": unique("e")}
    response = api.call(
        "POST",
        "/emoji",
        data={"emoji": json.dumps(emoji)},
        files={"image": ("e.png", PNG_1X1, "image/png")},
    )
    created: JSON = response.json()
    return created


def _new_id(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    """A fresh id for an object the call itself creates with a caller-chosen id."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return {"id": "".join(secrets.choice(alphabet) for _ in range(26))}


def _name(api: MattermostAPI, opts: dict[str, Any], values: dict[str, Any]) -> JSON:
    """A fresh name (lowercase, starts with a letter) for an object a trigger creates."""
    return {"name": unique("n")}


_MAKERS = {
    "id": _new_id,
    "name": _name,
    "emoji": _emoji,
    "user": _user,
    "team": _team,
    "channel": _channel,
    "post": _post,
    "bot": _bot,
    "direct": _direct,
    "group": _group,
    "file": _file,
    "command": _command,
    "reaction": _reaction,
}

# What every scenario can use without declaring it: made once per probe.
BASE: dict[str, dict[str, Any]] = {
    "team": {"kind": "team"},
    "channel": {"kind": "channel"},
    "private": {"kind": "channel", "private": True},
    "user": {"kind": "user", "teams": ["$team.id"], "channels": ["$channel.id"]},
    "user2": {"kind": "user", "teams": ["$team.id"]},
    "post": {"kind": "post", "message": "the base post"},
    "reply": {"kind": "post", "root": "$post.id", "message": "a reply"},
    "bot": {"kind": "bot"},
    "dm": {"kind": "direct", "users": ["$admin.id", "$user.id"]},
    "file": {"kind": "file", "name": "base.txt", "content": "base file"},
}


def make_all(
    api: MattermostAPI, specs: dict[str, dict[str, Any]], values: dict[str, Any]
) -> dict[str, Any]:
    """Create ``specs`` in order into a copy of ``values``; returns the copy."""
    out = dict(values)
    for name, spec in specs.items():
        options = {k: v for k, v in spec.items() if k != "kind"}
        out[name] = create(api, spec["kind"], options, out)
    return out
