"""The clients: `Client` (sync) and `AsyncClient`, on httpx.

Every call sends the service key as `Authorization: Bearer`, times out
(5 s by default), and is retried on 503 only (the server said it did
nothing: busy, contended), waiting what `Retry-After` says or a growing
backoff; never on a 4xx, and never after a timeout (a verify of a limited
key may have been charged). A refusal raises `ApiError` with the problem's
`code`. Neither the service key nor a presented key is ever in an error,
a log line or a repr.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import httpx

log = logging.getLogger("api_keys_manager")

#: The longest a verdict may be reused in process: past this a revoked key
#: would be let in for longer than the server's own caches allow.
MAX_CACHE_SECONDS = 30.0


class ApiError(Exception):
    """The API refused a call: its status, its problem `code` and `detail`
    (the server's words; they never repeat a key)."""

    def __init__(self, status: int, code: str, detail: str, field: Optional[str] = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class Verdict:
    """What `POST /v1/verify` said of a key. Only a `VALID` verdict carries
    the key's fields; `remaining` and `reset_at` are there for a limited key."""

    valid: bool
    code: str
    key_id: Optional[str] = None
    application_id: Optional[str] = None
    arx_id: Optional[str] = None
    arx_url: Optional[str] = None
    name: Optional[str] = None
    expires_at: Optional[str] = None
    #: What the key may do (a `VALID` verdict; empty otherwise).
    permissions: tuple[str, ...] = ()
    #: The key's owner in your own system, if it has one.
    external_id: Optional[str] = None
    #: Your own JSON object about the key, if it has one.
    meta: Optional[Mapping[str, Any]] = field(default=None, hash=False)
    remaining: Optional[int] = None
    reset_at: Optional[str] = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> "Verdict":
        known = {name: body.get(name) for name in cls.__dataclass_fields__ if name != "raw"}
        known["permissions"] = tuple(body.get("permissions") or ())
        return cls(**known, raw=dict(body))


class VerdictCache:
    """Verdicts reused for `ttl` seconds (at most 30), keyed by an HMAC of
    the presented key under a random key of this process: the cache never
    holds a key. The trade-off: a key revoked on the server is still let in
    here until its verdict's TTL ends. A limited key's verdicts (they carry
    `remaining`) are never kept, since each verify must be charged, nor are
    refusals that change on their own (`RATE_LIMITED`, `USAGE_EXCEEDED`)."""

    def __init__(self, ttl: float, capacity: int = 10_000):
        if not 0 < ttl <= MAX_CACHE_SECONDS:
            raise ValueError(f"a verdict cache's ttl must be above 0 and at most {MAX_CACHE_SECONDS} seconds")
        self._ttl = ttl
        self._capacity = capacity
        self._secret = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[float, Verdict]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VerdictCache(ttl={self._ttl}, entries={len(self._entries)})"

    def _fingerprint(self, key: str, permissions: Optional[str]) -> bytes:
        # A separator neither a key nor a query holds, then the query: one
        # query's verdict never answers another.
        entry = key if permissions is None else f"{key}\0{permissions}"
        return hmac.new(self._secret, entry.encode(), hashlib.sha256).digest()

    def get(self, key: str, permissions: Optional[str] = None) -> Optional[Verdict]:
        fingerprint = self._fingerprint(key, permissions)
        with self._lock:
            entry = self._entries.get(fingerprint)
            if entry is None:
                return None
            stored_at, verdict = entry
            if time.monotonic() - stored_at >= self._ttl:
                del self._entries[fingerprint]
                return None
            return verdict

    def put(self, key: str, verdict: Verdict, permissions: Optional[str] = None) -> None:
        if verdict.remaining is not None or verdict.code in ("RATE_LIMITED", "USAGE_EXCEEDED"):
            return
        with self._lock:
            if len(self._entries) >= self._capacity:
                self._entries.clear()
            self._entries[self._fingerprint(key, permissions)] = (time.monotonic(), verdict)


def _verify_body(key: str, cost: Optional[int], permissions: Optional[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"key": key}
    if cost is not None:
        body["cost"] = cost
    if permissions is not None:
        body["permissions"] = permissions
    return body


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiError(
        response.status_code,
        str(body.get("code") or "unexpected"),
        str(body.get("detail") or f"the API answered {response.status_code}"),
        body.get("field") if isinstance(body.get("field"), str) else None,
    )


def _wait_before_retry(response: httpx.Response, attempt: int) -> float:
    """`Retry-After` (seconds) when given, else 0.2 s doubling; at most 5 s."""
    raw = response.headers.get("retry-after", "")
    if raw.isdigit():
        return min(float(raw), 5.0)
    return min(0.2 * (2**attempt), 5.0)


class _Base:
    def __init__(
        self,
        base_url: str,
        service_key: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        cache_seconds: Optional[float] = None,
        transport: Any = None,
    ):
        if not service_key:
            raise ValueError("a service key is required")
        self._base_url = base_url.rstrip("/")
        self.__service_key = service_key
        self._timeout = timeout
        self._retries = max(0, retries)
        self._cache = VerdictCache(cache_seconds) if cache_seconds else None
        # An httpx transport of the caller's (a proxy, a fault injector in tests).
        self._transport = transport

    def __repr__(self) -> str:
        # Never the service key.
        return f"{type(self).__name__}({self._base_url!r}, service_key=<redacted>)"

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.__service_key}", "accept": "application/json"}

    def _answer(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise _problem(response)
        return None if response.status_code == 204 else response.json()


class Client(_Base):
    """A blocking client; one per process is enough (it keeps connections)."""

    def __init__(self, base_url: str, service_key: str, **options: Any):
        super().__init__(base_url, service_key, **options)
        self._http = httpx.Client(base_url=self._base_url, timeout=self._timeout, transport=self._transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        for attempt in range(self._retries + 1):
            response = self._http.request(method, path, json=body, params=params, headers=self._headers())
            if response.status_code != 503 or attempt == self._retries:
                return self._answer(response)
            wait = _wait_before_retry(response, attempt)
            log.info("the API is busy (503); retrying %s %s in %.1f s", method, path, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def verify(self, key: str, cost: Optional[int] = None, permissions: Optional[str] = None) -> Verdict:
        """The verdict on `key`, charging a limited key `cost` (1 by default),
        for a request that needs what `permissions` asks
        (`documents.read AND (billing.write OR admin)`): a good key that
        lacks it is `INSUFFICIENT_PERMISSIONS`, and is not charged."""
        if self._cache and cost is None and (cached := self._cache.get(key, permissions)) is not None:
            return cached
        verdict = Verdict.of(self._call("POST", "/v1/verify", _verify_body(key, cost, permissions)))
        if self._cache and cost is None:
            self._cache.put(key, verdict, permissions)
        return verdict

    # The key lifecycle, for a service key of the developer or admin role.
    def create_key(self, application_id: str, arx_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/v1/api-keys", {"application_id": application_id, "arx_id": arx_id, **fields})

    def list_keys(self, **filters: Any) -> dict[str, Any]:
        return self._call("GET", "/v1/api-keys", params=filters)

    def get_key(self, key_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/api-keys/{key_id}")

    def rotate_key(self, key_id: str, grace_seconds: Optional[int] = None) -> dict[str, Any]:
        return self._call("POST", f"/v1/api-keys/{key_id}/rotate", {} if grace_seconds is None else {"grace_seconds": grace_seconds})

    def disable_key(self, key_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/api-keys/{key_id}/disable")

    def enable_key(self, key_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/api-keys/{key_id}/enable")

    def delete_key(self, key_id: str) -> None:
        self._call("DELETE", f"/v1/api-keys/{key_id}", {"confirm": key_id})


class AsyncClient(_Base):
    """The same, for asyncio (FastAPI, Starlette)."""

    def __init__(self, base_url: str, service_key: str, **options: Any):
        super().__init__(base_url, service_key, **options)
        self._http = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout, transport=self._transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        import asyncio

        for attempt in range(self._retries + 1):
            response = await self._http.request(method, path, json=body, params=params, headers=self._headers())
            if response.status_code != 503 or attempt == self._retries:
                return self._answer(response)
            wait = _wait_before_retry(response, attempt)
            log.info("the API is busy (503); retrying %s %s in %.1f s", method, path, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def verify(self, key: str, cost: Optional[int] = None, permissions: Optional[str] = None) -> Verdict:
        """As `Client.verify`."""
        if self._cache and cost is None and (cached := self._cache.get(key, permissions)) is not None:
            return cached
        verdict = Verdict.of(await self._call("POST", "/v1/verify", _verify_body(key, cost, permissions)))
        if self._cache and cost is None:
            self._cache.put(key, verdict, permissions)
        return verdict

    async def create_key(self, application_id: str, arx_id: str, **fields: Any) -> dict[str, Any]:
        return await self._call("POST", "/v1/api-keys", {"application_id": application_id, "arx_id": arx_id, **fields})

    async def list_keys(self, **filters: Any) -> dict[str, Any]:
        return await self._call("GET", "/v1/api-keys", params=filters)

    async def get_key(self, key_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/v1/api-keys/{key_id}")

    async def rotate_key(self, key_id: str, grace_seconds: Optional[int] = None) -> dict[str, Any]:
        return await self._call("POST", f"/v1/api-keys/{key_id}/rotate", {} if grace_seconds is None else {"grace_seconds": grace_seconds})

    async def disable_key(self, key_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/api-keys/{key_id}/disable")

    async def enable_key(self, key_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/v1/api-keys/{key_id}/enable")

    async def delete_key(self, key_id: str) -> None:
        await self._call("DELETE", f"/v1/api-keys/{key_id}", {"confirm": key_id})
