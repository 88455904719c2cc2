"""FakeAPI: the server behaviour plugins rely on, and honest failures for the rest."""

from __future__ import annotations

import inspect

import pytest

from mmplugin.api import API, AsyncAPI
from mmplugin.errors import BadRequestError, NotFoundError
from mmplugin.models import Channel, PluginKVSetOptions, Post, Reaction, User
from mmplugin.testing import FakeAPI, FakeAsyncAPI, NotSupportedByFake


def test_implemented_methods_keep_the_api_signatures() -> None:
    # Plugins call the fake with keywords too: parameter names must match the real client.
    for name, fn in vars(FakeAPI).items():
        real = getattr(API, name, None)
        if name.startswith("_") or not inspect.isfunction(fn) or real is None:
            continue
        assert list(inspect.signature(fn).parameters) == list(inspect.signature(real).parameters), (
            name
        )


def test_unsupported_methods_name_themselves_and_say_how_to_patch(mm_fake: FakeAPI) -> None:
    with pytest.raises(NotSupportedByFake) as info:
        mm_fake.get_team_icon("t1")
    message = str(info.value)
    assert "FakeAPI does not implement get_team_icon (Go API.GetTeamIcon)" in message
    assert "monkeypatch.setattr(fake, 'get_team_icon'" in message
    assert isinstance(info.value, NotImplementedError)
    mm_fake.get_team_icon = lambda team_id: b"icon"  # type: ignore[method-assign]
    assert mm_fake.get_team_icon("t1") == b"icon"


async def test_the_async_fake_covers_every_async_method(mm_fake: FakeAPI) -> None:
    fake = FakeAsyncAPI(mm_fake)
    names = [n for n, f in vars(AsyncAPI).items() if inspect.isfunction(f) and n[0] != "_"]
    assert all(inspect.iscoroutinefunction(getattr(fake, n)) for n in names)
    user = await fake.create_user(User(username="Zoe", email="zoe@example.com"))
    assert (await fake.get_user_by_username("zoe")).id == user.id
    with pytest.raises(NotSupportedByFake, match="get_team_icon"):
        await fake.get_team_icon("t")


def test_users_are_unique_and_lookups_fail_like_the_server(mm_fake: FakeAPI) -> None:
    bob = mm_fake.add_user("bob")
    assert len(bob.id) == 26 and bob.create_at > 0 and bob.roles == "system_user"
    with pytest.raises(BadRequestError, match="username already exists"):
        mm_fake.create_user(User(username="BOB", email="other@example.com"))
    with pytest.raises(NotFoundError) as missing:
        mm_fake.get_user("nobody")
    assert missing.value.status_code == 404 and missing.value.where == "GetUser"
    assert mm_fake.get_user_by_email("BOB@example.com").id == bob.id
    assert [u.username for u in mm_fake.get_users_by_ids([bob.id, "x"])] == ["bob"]


def test_returned_objects_are_copies(mm_fake: FakeAPI) -> None:
    bob = mm_fake.add_user("bob")
    bob.username = "mallory"
    assert mm_fake.get_user(bob.id).username == "bob"


def test_channel_membership_needs_the_team_and_direct_channels_are_reused(
    mm_fake: FakeAPI,
) -> None:
    team = mm_fake.add_team("team")
    town = mm_fake.add_channel(team, "town-square")
    a, b = mm_fake.add_user("a"), mm_fake.add_user("b")
    with pytest.raises(BadRequestError, match="not a member of the channel's team"):
        mm_fake.add_channel_member(town.id, a.id)
    mm_fake.add_to_team(a, team)
    mm_fake.add_channel_member(town.id, a.id)
    assert [u.username for u in mm_fake.get_users_in_channel(town.id, "", 0, 10)] == ["a"]
    dm = mm_fake.get_direct_channel(a.id, b.id)
    assert dm.type == "D" and dm.name == "__".join(sorted([a.id, b.id]))
    assert mm_fake.get_direct_channel(b.id, a.id).id == dm.id
    with pytest.raises(BadRequestError, match="already exists"):
        mm_fake.create_channel(Channel(team_id=team.id, name="town-square", type="O"))


def test_posts_threads_reactions_and_plugin_marks(mm_fake: FakeAPI) -> None:
    team = mm_fake.add_team("team")
    ch = mm_fake.add_channel(team, "c")
    u = mm_fake.add_user("u")
    root = mm_fake.create_post(Post(channel_id=ch.id, user_id=u.id, message="root"))
    assert (root.props or {})["from_plugin"] == "true"
    reply = mm_fake.submit_post(Post(channel_id=ch.id, user_id=u.id, message="re", root_id=root.id))
    assert mm_fake.get_post(root.id).reply_count == 1
    thread = mm_fake.get_post_thread(reply.id)
    assert thread.order == [reply.id, root.id]
    with pytest.raises(BadRequestError, match="Invalid RootId"):
        mm_fake.submit_post(Post(channel_id=ch.id, user_id=u.id, message="x", root_id=reply.id))
    mm_fake.add_reaction(Reaction(post_id=root.id, user_id=u.id, emoji_name="+1"))
    assert mm_fake.get_post(root.id).has_reactions
    mm_fake.remove_reaction(Reaction(post_id=root.id, user_id=u.id, emoji_name="+1"))
    assert mm_fake.get_reactions(root.id) == [] and not mm_fake.get_post(root.id).has_reactions
    edited = mm_fake.update_post(Post(id=root.id, message="root v2"))
    assert edited.message == "root v2" and edited.edit_at > 0
    mm_fake.delete_post(root.id)
    with pytest.raises(NotFoundError):
        mm_fake.get_post(root.id)
    assert mm_fake.get_posts_for_channel(ch.id, 0, 10).order == [reply.id]


def test_kv_atomic_semantics_match_the_sql_store(mm_fake: FakeAPI) -> None:
    atomic = PluginKVSetOptions(atomic=True)
    assert mm_fake.kv_set_with_options("k", b"1", atomic) is True
    assert mm_fake.kv_set_with_options("k", b"2", atomic) is False  # exists
    assert mm_fake.kv_compare_and_set("k", b"1", b"2") is True
    assert mm_fake.kv_compare_and_delete("k", b"1") is False
    assert mm_fake.kv_compare_and_delete("k", None) is False
    assert mm_fake.kv_compare_and_delete("k", b"2") is True
    with pytest.raises(BadRequestError, match="old_value needs atomic"):
        mm_fake.kv_set_with_options("k", b"1", PluginKVSetOptions(old_value=b"0"))
    mm_fake.kv_set_with_expiry("e", b"x", 10)
    mm_fake.advance_time(11)
    assert mm_fake.kv_get("e") is None and mm_fake.kv_list(0, 0) == []
    # An expired value counts as missing for compare-and-set, too.
    assert mm_fake.kv_set_with_options("e", b"y", atomic) is True


def test_config_as_the_server_loads_it(mm_fake: FakeAPI) -> None:
    mm_fake.manifest = {"settings_schema": {"settings": [{"key": "Mode", "default": "a"}]}}
    mm_fake.set_plugin_config({"Other": 1})
    assert mm_fake.load_plugin_configuration() == {"mode": "a", "other": 1}
    mm_fake.set_plugin_config({"MODE": "b"})
    assert mm_fake.load_plugin_configuration() == {"mode": "b"}
    config = mm_fake.get_config()
    assert config is not None and config.service_settings.site_url == "http://localhost:8065"


def test_events_logs_and_ephemeral_posts_are_recorded(mm_fake: FakeAPI) -> None:
    mm_fake.publish_web_socket_event("refresh", {"n": 1}, None)
    mm_fake.log_warn("careful", user_id="u1")
    sent = mm_fake.send_ephemeral_post("u1", Post(channel_id="c", message="psst"))
    assert sent is not None and sent.type == "system_ephemeral"
    assert [(e.event, e.payload) for e in mm_fake.websocket_events] == [("refresh", {"n": 1})]
    assert [(log.level, log.message, log.fields) for log in mm_fake.logs] == [
        ("warn", "careful", {"user_id": "u1"})
    ]
    mm_fake.delete_ephemeral_post("u1", sent.id)
    assert mm_fake.ephemeral_posts == []
