"""A Flask app served through mmplugin.http.wsgi: path parameters, query, JSON bodies,
status codes, response headers and the Mattermost user id."""

from __future__ import annotations

from typing import Any

import mmplugin.http
from flask import Flask, abort, request
from mmplugin import Plugin

app = Flask(__name__)
items: dict[int, dict[str, Any]] = {}


@app.post("/items/<int:item_id>")
def create_item(item_id: int) -> Any:
    body = request.get_json()  # invalid JSON: Flask answers 400
    if not isinstance(body, dict) or not isinstance(body.get("qty"), int):
        abort(400, "qty must be an integer")
    stored = {
        "id": item_id,
        "name": body.get("name"),
        "qty": body["qty"],
        "tag": request.args.get("tag", "none"),
        "user": mmplugin.http.user_id(request),
    }
    items[item_id] = stored
    return stored, 201, {"X-Item-Id": str(item_id)}


@app.get("/items/<int:item_id>")
def get_item(item_id: int) -> Any:
    if item_id not in items:
        abort(404, f"item {item_id} not found")
    return items[item_id]


class TestPlugin(Plugin):
    serve_http = mmplugin.http.wsgi(app)
