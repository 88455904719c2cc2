"""Teams, channels and users over REST; a post arrives as a `posted` WebSocket event."""

from __future__ import annotations

import json

from mmtest.api import JSON, MattermostAPI
from mmtest.server import MattermostServer, NewUser
from mmtest.ws import EventStream


def test_post_reaches_another_member_over_websocket(
    mm_server: MattermostServer,
    admin_api: MattermostAPI,
    new_user: NewUser,
    team: JSON,
    channel: JSON,
    unique: str,
) -> None:
    alice, alice_api = new_user()
    bob, _ = new_user()
    for user in (alice, bob):
        admin_api.add_team_member(team["id"], user.user_id)
        admin_api.add_channel_member(channel["id"], user.user_id)

    with EventStream(mm_server.ws_url, bob.token) as bob_events:
        message = f"hello from alice {unique}"
        post = alice_api.create_post(channel["id"], message)
        event = bob_events.wait_for(
            "posted", lambda e: json.loads(e["data"]["post"])["id"] == post["id"]
        )

    received = json.loads(event["data"]["post"])
    assert received["message"] == message
    assert received["user_id"] == alice.user_id
    assert event["broadcast"]["channel_id"] == channel["id"]
    assert event["data"]["channel_name"] == channel["name"]
