"""``HotRoute`` (the lean handler of create and award) answers every request as FastAPI's own handler
would: the same status, the same body, for good requests and for every kind of bad one."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from server.api.app import AuthError, HotRoute, ORJSONResponse, hot, install_error_handlers


class Body(BaseModel):
    instrument: str = Field(min_length=9, max_length=12)
    quantity: int = Field(gt=0)
    side: str | None = None
    tags: list[int] = Field(default_factory=list, max_length=3)


async def who(request: Request) -> str:
    key = request.headers.get("authorization")
    if key != "Bearer good":
        raise AuthError("unknown API key", field="Authorization")
    return "client-1"


Who = Annotated[str, Depends(who)]


def build(route_class: type[APIRoute]) -> FastAPI:
    r = APIRouter(route_class=route_class)

    @r.post("/things/{thing_id}/do", status_code=201)
    @hot
    async def do(thing_id: str, body: Body, call: Who) -> Any:
        return ORJSONResponse({"thing": thing_id, "who": call, "body": repr(body.model_dump())}, 201)

    @r.post("/bare")
    @hot
    async def bare(call: Who) -> Any:
        return ORJSONResponse({"who": call})

    app = FastAPI(default_response_class=ORJSONResponse)
    app.router.routes.extend(r.routes)
    install_error_handlers(app)  # the venue's own
    return app


HOT, PLAIN = build(HotRoute), build(APIRoute)
GOOD = {"authorization": "Bearer good"}
JSON = {**GOOD, "content-type": "application/json"}


async def both(method: str, path: str, **kw: Any) -> tuple[httpx.Response, httpx.Response]:
    out = []
    for app in (HOT, PLAIN):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            out.append(await c.request(method, path, **kw))
    return out[0], out[1]


CASES: list[tuple[str, dict[str, Any]]] = [
    ("good", {"json": {"instrument": "037833100", "quantity": 5}, "headers": GOOD}),
    ("good, charset", {"content": b'{"instrument": "037833100", "quantity": 5}',
                       "headers": {**GOOD, "content-type": "application/json; charset=utf-8"}}),
    ("vendor json", {"content": b'{"instrument": "037833100", "quantity": 5}',
                     "headers": {**GOOD, "content-type": "application/vnd.rfqsim+json"}}),
    ("malformed json", {"content": b'{"instrument": ', "headers": JSON}),
    ("malformed json, bad key", {"content": b"{nope", "headers": {"content-type": "application/json"}}),
    ("no body", {"headers": GOOD}),
    ("empty body", {"content": b"", "headers": JSON}),
    ("no content type", {"content": b'{"instrument": "037833100", "quantity": 5}', "headers": GOOD}),
    ("text content type", {"content": b'{"instrument": "037833100", "quantity": 5}',
                           "headers": {**GOOD, "content-type": "text/plain"}}),
    ("not an object", {"json": [1, 2], "headers": GOOD}),
    ("null", {"content": b"null", "headers": JSON}),
    ("invalid fields", {"json": {"instrument": "x", "quantity": -1, "tags": [1, 2, 3, 4]}, "headers": GOOD}),
    ("missing field", {"json": {"quantity": 5}, "headers": GOOD}),
    ("wrong types", {"json": {"instrument": 12, "quantity": "many", "tags": "x"}, "headers": GOOD}),
    ("huge integer", {"content": b'{"instrument": "037833100", "quantity": 100000000000000000001}',
                      "headers": JSON}),
    ("NaN", {"content": b'{"instrument": "037833100", "quantity": NaN}', "headers": JSON}),
    ("Infinity", {"content": b'{"instrument": "037833100", "quantity": 1e400}', "headers": JSON}),
    ("lone surrogate", {"content": b'{"instrument": "\\ud800abcdefghij", "quantity": 5}', "headers": JSON}),
    ("not UTF-8", {"content": b'{"instrument": "\xff\xfeabcdefghij", "quantity": 5}', "headers": JSON}),
    ("trailing garbage", {"content": b'{"instrument": "037833100", "quantity": 5} x', "headers": JSON}),
    ("duplicate key", {"content": b'{"instrument": "037833100", "quantity": 5, "quantity": 7}', "headers": JSON}),
    ("no auth", {"json": {"instrument": "037833100", "quantity": 5}}),
    ("no auth, invalid body", {"json": {"quantity": "x"}}),
    ("no auth, malformed json", {"content": b"[", "headers": {"content-type": "application/json"}}),
]


@pytest.mark.parametrize(("name", "kw"), CASES, ids=[c[0] for c in CASES])
async def test_hot_route_answers_as_fastapi_does(name: str, kw: dict[str, Any]) -> None:
    hot_r, plain_r = await both("POST", "/things/T-1/do", **kw)
    assert (hot_r.status_code, hot_r.json()) == (plain_r.status_code, plain_r.json()), name
    assert hot_r.headers.get("www-authenticate") == plain_r.headers.get("www-authenticate")


async def test_a_hot_endpoint_without_a_body() -> None:
    for kw in ({"headers": GOOD}, {}, {"json": {"x": 1}, "headers": GOOD}):
        hot_r, plain_r = await both("POST", "/bare", **kw)
        assert (hot_r.status_code, hot_r.json()) == (plain_r.status_code, plain_r.json())


@settings(max_examples=60, deadline=None)
@given(body=st.recursive(st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=14),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                             st.sampled_from(["instrument", "quantity", "side", "tags", "other"]), inner, max_size=5),
                         max_leaves=12))
async def test_hot_route_validates_any_json_as_fastapi_does(body: Any) -> None:
    content = json.dumps(body).encode()  # NaN and Infinity as the standard library writes them
    hot_r, plain_r = await both("POST", "/things/T-2/do", content=content, headers=JSON)
    assert (hot_r.status_code, hot_r.json()) == (plain_r.status_code, plain_r.json())


def test_a_hot_endpoint_must_keep_to_what_the_lean_handler_serves() -> None:
    r = APIRouter(route_class=HotRoute)
    with pytest.raises(TypeError, match="hot endpoint"):
        @r.post("/q")
        @hot
        async def with_query(call: Who, limit: int = 5) -> Any:
            return None
