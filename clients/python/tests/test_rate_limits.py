"""Rate limits for anything against the dev server: `limit` counts exactly,
`limit_many` is all or nothing, the identifier is never in an error or a
repr, and the FastAPI dependency answers 429 with `Retry-After` and the
IETF draft's RateLimit headers, failing open only when the namespace says."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from api_keys_manager import ApiError, AsyncClient, Client, RateLimitAnswer
from api_keys_manager.fastapi import rate_limited

WHO = "someone.py@example.org"


def namespace(server, name: str, limit: int, duration: int = 60, fail_open: bool = False) -> str:
    """A namespace of its own for this run (the server may have served others): its name."""
    name = f"{name}-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "limit": limit, "duration": duration, "fail_open": fail_open}
    server.call("admin", "POST", "/v1/ratelimit-namespaces", body)
    return name


def test_limit_counts_exactly_and_limit_many_is_all_or_nothing(server):
    exports = namespace(server, "py-exports", 3)
    with Client(server.url, service_key=server.service_key()) as client:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: client.limit(exports, WHO), range(10)))
        assert sum(answer.success for answer in answers) == 3
        refused = next(answer for answer in answers if not answer.success)
        assert (refused.limit, refused.duration, refused.remaining) == (3, 60, 0)
        assert 1 <= refused.reset_after <= 60
        assert WHO not in repr(refused)
        assert client.limit(exports, "another", cost=0).remaining == 3
        many = client.limit_many([
            {"namespace": exports, "identifier": "another"},
            {"namespace": exports, "identifier": WHO},
        ])
        assert not many.success and many.results[0].remaining == 3
        with pytest.raises(ApiError) as unknown:
            client.limit("py-nowhere", WHO)
        assert unknown.value.status == 422 and unknown.value.field == "namespace"
        with pytest.raises(ApiError) as too_long:
            client.limit(exports, WHO * 20)
        assert too_long.value.field == "identifier"
        for shown in (str(unknown.value), repr(unknown.value), str(too_long.value), repr(too_long.value)):
            assert WHO not in shown


def user(request: Request) -> Optional[str]:
    return request.headers.get("x-user")


def test_the_dependency_answers_429_with_the_headers_and_fails_as_the_namespace_says(server):
    search_ns = namespace(server, "py-search", 2)
    open_ns = namespace(server, "py-open", 100, fail_open=True)
    key = server.service_key()
    limits = AsyncClient(server.url, service_key=key)
    app = FastAPI()

    @app.get("/search")
    async def search(limited: Optional[RateLimitAnswer] = Depends(rate_limited(limits, search_ns, user))):
        return {"remaining": limited.remaining if limited else None}

    with TestClient(app) as http:
        for left in (1, 0):
            answer = http.get("/search", headers={"x-user": "u1"})
            assert answer.status_code == 200 and answer.json() == {"remaining": left}
            assert answer.headers["ratelimit-policy"] == f'"{search_ns}";q=2;w=60'
            assert answer.headers["ratelimit"].startswith(f'"{search_ns}";r={left};t=')
        refused = http.get("/search", headers={"x-user": "u1"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit"].startswith(f'"{search_ns}";r=0;t=')
        assert http.get("/search", headers={"x-user": "u2"}).status_code == 200, "its own count"
        assert http.get("/search").json() == {"remaining": None}, "no identifier: not checked"

    # Unreachable: closed, unless the namespace's last answer said it fails open.
    class Flaky(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.real, self.up = httpx.AsyncHTTPTransport(), True

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if not self.up:
                raise httpx.ConnectError("down", request=request)
            return await self.real.handle_async_request(request)

    for up_first, expected in ((False, 503), (True, 200)):
        transport = Flaky()
        flaky = AsyncClient(server.url, service_key=key, retries=0, transport=transport)
        guarded = FastAPI()

        @guarded.get("/x")
        async def x(_: Optional[RateLimitAnswer] = Depends(rate_limited(flaky, open_ns, user))):
            return {}

        with TestClient(guarded) as http:
            transport.up = up_first
            if up_first:
                assert http.get("/x", headers={"x-user": "u1"}).status_code == 200
                transport.up = False
            answer = http.get("/x", headers={"x-user": "u1"})
            assert answer.status_code == expected, "closed until the namespace's rule is known, then open"
            if expected == 503:
                assert answer.headers["retry-after"] == "5"
