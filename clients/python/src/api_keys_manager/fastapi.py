"""A FastAPI (Starlette) dependency that lets a request through only with a
good key: read from `x-api-key` or `Authorization: Bearer`, verified, and
answered 401 (no key, or not one of ours), 403 (known, but disabled, expired
or deleted) or 429 (over its limits, with `Retry-After`) before the route
runs. The route gets the `Verdict`. When the key manager cannot be asked
(down, unreachable, timed out, or refusing the service key) the request is
answered 503 with `Retry-After: 5`: the key was not checked, so it is not
let in, and the caller is told to come back rather than that its key is bad.

    from api_keys_manager import AsyncClient
    from api_keys_manager.fastapi import require_key

    keys = AsyncClient(API_URL, service_key=SERVICE_KEY)
    app = FastAPI()

    @app.get("/documents")
    async def documents(verdict: Verdict = Depends(require_key(keys))):
        return {"for": verdict.application_id}
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Awaitable, Callable, Optional

from fastapi import HTTPException, Request, Response

from ._cache import _seconds_until
from ._client import AsyncClient
from ._types import ApiError, RateLimitAnswer, Verdict

log = logging.getLogger("api_keys_manager")

#: What a protected route answers when the key manager cannot be asked.
UNAVAILABLE_RETRY_AFTER = "5"

#: Refusals by verdict code: the status a protected route answers with.
REFUSED_WITH = {
    "MALFORMED": 401,
    "NOT_FOUND": 401,
    "EXPIRED": 403,
    "DELETED": 403,
    "DISABLED": 403,
    "INSUFFICIENT_PERMISSIONS": 403,
    "ADDRESS_NOT_ALLOWED": 403,
    "RATE_LIMITED": 429,
    "USAGE_EXCEEDED": 429,
}


def presented_key(request: Request) -> Optional[str]:
    """The key a request carries: `x-api-key`, else a bearer credential."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return None


def client_address(request: Request) -> Optional[str]:
    """The end user's address, for a key's allowlist: the connection's peer
    as the server reports it. Behind proxies you run, let the server rewrite
    it from their headers (uvicorn's `--proxy-headers --forwarded-allow-ips`,
    its `ProxyHeadersMiddleware`); a header as the client sent it is never read
    here. Not an address (a test client's name): none."""
    host = request.client.host if request.client else None
    if host is None:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def require_key(
    client: AsyncClient, cost: Optional[int] = None, permissions: Optional[str] = None
) -> Callable[[Request], Awaitable[Verdict]]:
    """A dependency verifying the request's key with `client` (charging
    `cost`; asking `permissions`, a query such as `reports.read OR admin`)."""

    async def dependency(request: Request) -> Verdict:
        key = presented_key(request)
        if key is None:
            raise HTTPException(401, "an API key is required (x-api-key or Authorization: Bearer)", {"www-authenticate": "Bearer"})
        try:
            verdict = await client.verify(key, cost, permissions, ip=client_address(request))
        except ApiError as error:
            # The code only: never the key, never the service key.
            log.warning("a key could not be checked: %s %s", error.status, error.code)
            raise HTTPException(
                503, "the key could not be checked now; try again", {"retry-after": UNAVAILABLE_RETRY_AFTER}
            ) from None
        if verdict.valid:
            return verdict
        status = REFUSED_WITH.get(verdict.code, 401)
        headers: dict[str, str] = {}
        wait = _seconds_until(verdict.reset_at) if status == 429 and verdict.reset_at else None
        if wait is not None:
            headers["retry-after"] = str(max(1, int(wait) + 1))
        # The verdict's code only: never the key.
        raise HTTPException(status, f"the API key was refused: {verdict.code}", headers or None)

    return dependency


def rate_limited(
    client: AsyncClient,
    namespace: str,
    identify: Callable[[Request], Optional[str]] = client_address,
    cost: Optional[int] = None,
    fail_open: bool = False,
) -> Callable[[Request, Response], Awaitable[Optional[RateLimitAnswer]]]:
    """A dependency limiting a route by `identify(request)` (the client's
    address by default; a header, a user id) in `namespace`: within its
    limit the route runs, with the IETF draft's `RateLimit-Policy` and
    `RateLimit` headers on its answer; over it the request is answered 429
    with `Retry-After`. `None` from `identify` is not checked. When the API
    cannot be asked, the namespace's own rule (`fail_open`, as its last
    answer said) decides, else `fail_open`; closed is 503."""

    async def dependency(request: Request, response: Response) -> Optional[RateLimitAnswer]:
        identifier = identify(request)
        if identifier is None:
            return None
        try:
            answer = await client.limit(namespace, identifier, cost)
        except ApiError as error:
            # The code only: never the identifier.
            log.warning("a rate limit could not be checked: %s %s", error.status, error.code)
            if client.fails_open(namespace, fail_open):
                return None
            raise HTTPException(
                503, "the request could not be checked now; try again", {"retry-after": UNAVAILABLE_RETRY_AFTER}
            ) from None
        headers = answer.headers(namespace)
        if not answer.success:
            raise HTTPException(429, "too many requests; try again later", headers)
        response.headers.update(headers)
        return answer

    return dependency
