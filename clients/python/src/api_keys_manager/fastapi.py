"""A FastAPI (Starlette) dependency that lets a request through only with a
good key: read from `x-api-key` or `Authorization: Bearer`, verified, and
answered 401 (no key, or not one of ours), 403 (known, but disabled, expired
or deleted) or 429 (over its limits, with `Retry-After`) before the route
runs. The route gets the `Verdict`.

    from api_keys_manager import AsyncClient
    from api_keys_manager.fastapi import require_key

    keys = AsyncClient(API_URL, service_key=SERVICE_KEY)
    app = FastAPI()

    @app.get("/documents")
    async def documents(verdict: Verdict = Depends(require_key(keys))):
        return {"for": verdict.application_id}
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Awaitable, Callable

from fastapi import HTTPException, Request

from ._client import AsyncClient, Verdict

#: Refusals by verdict code: the status a protected route answers with.
REFUSED_WITH = {
    "MALFORMED": 401,
    "NOT_FOUND": 401,
    "EXPIRED": 403,
    "DELETED": 403,
    "DISABLED": 403,
    "INSUFFICIENT_PERMISSIONS": 403,
    "RATE_LIMITED": 429,
    "USAGE_EXCEEDED": 429,
}


def presented_key(request: Request) -> str | None:
    """The key a request carries: `x-api-key`, else a bearer credential."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return None


def require_key(
    client: AsyncClient, cost: int | None = None, permissions: str | None = None
) -> Callable[[Request], Awaitable[Verdict]]:
    """A dependency verifying the request's key with `client` (charging
    `cost`; asking `permissions`, a query such as `reports.read OR admin`)."""

    async def dependency(request: Request) -> Verdict:
        key = presented_key(request)
        if key is None:
            raise HTTPException(401, "an API key is required (x-api-key or Authorization: Bearer)", {"www-authenticate": "Bearer"})
        verdict = await client.verify(key, cost, permissions)
        if verdict.valid:
            return verdict
        status = REFUSED_WITH.get(verdict.code, 401)
        headers = {}
        if status == 429 and verdict.reset_at:
            reset = datetime.fromisoformat(verdict.reset_at.replace("Z", "+00:00"))
            headers["retry-after"] = str(max(1, int((reset - datetime.now(timezone.utc)).total_seconds()) + 1))
        # The verdict's code only: never the key.
        raise HTTPException(status, f"the API key was refused: {verdict.code}", headers or None)

    return dependency
