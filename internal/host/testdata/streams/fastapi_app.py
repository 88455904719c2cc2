"""A FastAPI app served through mmplugin.http.asgi: path parameters, query, JSON bodies,
status codes, response headers and the Mattermost user id."""

from __future__ import annotations

import mmplugin.http
from fastapi import FastAPI, HTTPException, Request, Response
from mmplugin import Plugin
from pydantic import BaseModel

app = FastAPI()
items: dict[int, dict[str, object]] = {}


class Item(BaseModel):
    name: str
    qty: int


@app.post("/items/{item_id}", status_code=201)
def create_item(
    item_id: int, item: Item, request: Request, response: Response, tag: str = "none"
) -> dict[str, object]:
    stored = {
        "id": item_id,
        "name": item.name,
        "qty": item.qty,
        "tag": tag,
        "user": mmplugin.http.user_id(request),
    }
    items[item_id] = stored
    response.headers["X-Item-Id"] = str(item_id)
    return stored


@app.get("/items/{item_id}")
async def get_item(item_id: int) -> dict[str, object]:
    if item_id not in items:
        raise HTTPException(404, f"item {item_id} not found")
    return items[item_id]


class TestPlugin(Plugin):
    serve_http = mmplugin.http.asgi(app)
