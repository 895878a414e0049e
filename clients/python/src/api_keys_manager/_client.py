"""The clients: `Client` (sync) and `AsyncClient`, on httpx.

Every call sends the service key as `Authorization: Bearer`, times out
(5 s by default), and is retried on 503 only (the server said it did
nothing: busy, contended), waiting what `Retry-After` says or a growing
backoff; never on a 4xx, and never after a timeout (a verify of a limited
key may have been charged). A refusal raises `ApiError` with the problem's
`code`; an API that cannot be asked raises `ApiUnavailable`. Neither the
service key nor a presented key is ever in an error, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import quote

import httpx

from ._cache import VerdictCache
from ._types import (
    ApiError,
    ApiKey,
    ApiUnavailable,
    CreatedApiKey,
    KeyPage,
    RateLimitAnswer,
    RateLimitAnswers,
    UnexpectedAnswer,
    Verdict,
)

log = logging.getLogger("api_keys_manager")

Json = Any
Params = Mapping[str, Union[str, int]]


def _checked_service_key(service_key: str) -> str:
    """The service key without the whitespace around it (a key read from a
    file ends with a newline), or a `ValueError` that does not repeat it:
    anything else in it would put it in an HTTP library's error."""
    if not isinstance(service_key, str):
        raise TypeError("a service key must be a str")
    key = service_key.strip()
    if not key:
        raise ValueError("a service key is required")
    if not all("!" <= character <= "~" for character in key):
        raise ValueError(
            "the service key holds a space, a control or a non-ASCII character inside it: "
            "it is not a service key (it is not repeated here)"
        )
    return key


def _segment(value: str) -> str:
    """One path segment: an id as text, escaped, so it never leaves its place."""
    return quote(value, safe="")


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    field = body.get("field")
    return ApiError(
        response.status_code,
        str(body.get("code") or "unexpected"),
        str(body.get("detail") or f"the API answered {response.status_code}"),
        field if isinstance(field, str) else None,
    )


def _unreachable(error: httpx.HTTPError) -> ApiUnavailable:
    # The kind of failure only: an httpx error's text may quote a header.
    if isinstance(error, httpx.TimeoutException):
        return ApiUnavailable("the API did not answer in time")
    return ApiUnavailable(f"the API could not be reached ({type(error).__name__})")


def _wait_before_retry(response: httpx.Response, attempt: int) -> float:
    """`Retry-After` (seconds) when given, else 0.2 s doubling; at most 5 s."""
    raw: str = response.headers.get("retry-after", "")
    if raw.isdigit():
        return min(float(raw), 5.0)
    return min(0.2 * 2.0**attempt, 5.0)


@dataclass(frozen=True)
class _Call:
    """One call of the API, as the sync and async clients both send it."""

    method: str
    path: str
    body: Json = None
    params: Optional[Params] = None
    #: `Idempotency-Key`, for the calls that mint a secret (the same on each retry).
    idempotency_key: Optional[str] = None


def _scope(permissions: Optional[str], ip: Optional[str]) -> Optional[str]:
    """What a cached verdict answers: the query, and the address."""
    return permissions if ip is None else f"{permissions or ''}\0{ip}"


#: Which of the identity's named rate limits a verify charges: name to cost.
RateLimits = Mapping[str, int]


def _verify_call(
    key: str, cost: Optional[int], permissions: Optional[str], rate_limits: Optional[RateLimits], ip: Optional[str]
) -> _Call:
    body: dict[str, Json] = {"key": key}
    if ip is not None:
        body["ip"] = ip
    if cost is not None:
        body["cost"] = cost
    if permissions is not None:
        body["permissions"] = permissions
    if rate_limits is not None:
        body["rate_limits"] = [{"name": name, "cost": each} for name, each in rate_limits.items()]
    return _Call("POST", "/v1/verify", body)


def _limit_body(
    namespace: str, identifier: str, cost: Optional[int], limit: Optional[int], duration: Optional[int]
) -> dict[str, Json]:
    body: dict[str, Json] = {"namespace": namespace, "identifier": identifier}
    for name, value in (("cost", cost), ("limit", limit), ("duration", duration)):
        if value is not None:
            body[name] = value
    return body


#: One check of `limit_many`: `{"namespace": ..., "identifier": ..., "cost"?, "limit"?, "duration"?}`.
LimitCheck = Mapping[str, Union[str, int]]


def _create_call(
    application_id: str,
    arx_id: str,
    name: Optional[str],
    expires_at: Optional[str],
    limits: Optional[Mapping[str, Json]],
    permissions: Optional[Sequence[str]],
    external_id: Optional[str],
    meta: Optional[Mapping[str, Json]],
    idempotency_key: Optional[str],
) -> _Call:
    body: dict[str, Json] = {"application_id": application_id, "arx_id": arx_id}
    given = {"name": name, "expires_at": expires_at, "limits": limits, "external_id": external_id, "meta": meta}
    body.update({field: value for field, value in given.items() if value is not None})
    if permissions is not None:
        body["permissions"] = list(permissions)
    return _Call("POST", "/v1/api-keys", body, idempotency_key=idempotency_key or str(uuid.uuid4()))


def _list_call(**filters: Union[str, int, bool, None]) -> _Call:
    params: dict[str, Union[str, int]] = {}
    for name, value in filters.items():
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif value is not None:
            params[name] = value
    return _Call("GET", "/v1/api-keys", params=params)


def _rotate_call(
    key_id: str,
    grace_seconds: Optional[int],
    permissions: Optional[Sequence[str]],
    idempotency_key: Optional[str] = None,
) -> _Call:
    body: dict[str, Json] = {}
    if grace_seconds is not None:
        body["grace_seconds"] = grace_seconds
    if permissions is not None:
        body["permissions"] = list(permissions)
    key = idempotency_key or str(uuid.uuid4())
    return _Call("POST", f"/v1/api-keys/{_segment(key_id)}/rotate", body, idempotency_key=key)


class _Base:
    def __init__(
        self,
        base_url: str,
        service_key: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        cache_seconds: Optional[float] = None,
    ):
        self._base_url = base_url.rstrip("/")
        self.__service_key = _checked_service_key(service_key)
        self._timeout = timeout
        self._retries = max(0, retries)
        self._cache = VerdictCache(cache_seconds) if cache_seconds else None
        self._fails_open: dict[str, bool] = {}

    def __repr__(self) -> str:
        # Never the service key.
        return f"{type(self).__name__}({self._base_url!r}, service_key=<redacted>)"

    def _headers(self, call: _Call) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.__service_key}", "accept": "application/json"}
        if call.idempotency_key is not None:
            headers["idempotency-key"] = call.idempotency_key
        return headers

    @staticmethod
    def _answer(response: httpx.Response) -> tuple[Json, int]:
        if response.status_code >= 400:
            raise _problem(response)
        if response.status_code == 204:
            return None, 204
        try:
            return response.json(), response.status_code
        except ValueError:
            raise UnexpectedAnswer("JSON", response.status_code) from None

    # A cost or named rate limits are a charge the caller chose: never answered from memory.
    def _cached(self, key: str, charge: bool, permissions: Optional[str]) -> Optional[Verdict]:
        return self._cache.get(key, permissions) if self._cache and not charge else None

    def _keep(self, key: str, charge: bool, permissions: Optional[str], verdict: Verdict) -> Verdict:
        if self._cache and not charge:
            self._cache.put(key, verdict, permissions)
        return verdict

    def _remember(self, namespace: str, answer: RateLimitAnswer) -> RateLimitAnswer:
        """Keeps the namespace's rule for when the API cannot be asked."""
        if len(self._fails_open) >= 1000 and namespace not in self._fails_open:
            self._fails_open.clear()
        self._fails_open[namespace] = answer.fail_open
        return answer

    def fails_open(self, namespace: str, fallback: bool = False) -> bool:
        """Whether a request may go on when `namespace` cannot be checked:
        the namespace's own rule as its last answer in this process said,
        else `fallback` (closed: refuse, unless you say otherwise)."""
        return self._fails_open.get(namespace, fallback)


class Client(_Base):
    """A blocking client; one per process is enough (it keeps connections)."""

    def __init__(
        self,
        base_url: str,
        service_key: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        cache_seconds: Optional[float] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ):
        super().__init__(base_url, service_key, timeout=timeout, retries=retries, cache_seconds=cache_seconds)
        # A transport of the caller's (a proxy, a fault injector in tests).
        self._http = httpx.Client(base_url=self._base_url, timeout=self._timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, call: _Call) -> tuple[Json, int]:
        for attempt in range(self._retries + 1):
            try:
                response = self._http.request(
                    call.method, call.path, json=call.body, params=call.params, headers=self._headers(call)
                )
            except httpx.HTTPError as error:
                raise _unreachable(error) from None
            if response.status_code != 503 or attempt == self._retries:
                return self._answer(response)
            wait = _wait_before_retry(response, attempt)
            log.info("the API is busy (503); retrying %s %s in %.1f s", call.method, call.path, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def verify(
        self,
        key: str,
        cost: Optional[int] = None,
        permissions: Optional[str] = None,
        rate_limits: Optional[RateLimits] = None,
        ip: Optional[str] = None,
    ) -> Verdict:
        """The verdict on `key`, charging a limited key and its identity
        `cost` (1 by default), for a request that needs what `permissions`
        asks (`documents.read AND (billing.write OR admin)`): a good key that
        lacks it is `INSUFFICIENT_PERMISSIONS`, and is not charged.
        `rate_limits` names the identity's rate limits to charge, each at its
        own cost (`{"tokens": 1200}`; none given: every one, at `cost`).
        `ip` is the end user's address as your server saw the connection (or
        as a proxy you run reports it), what a key's allowlist is judged by:
        never a header the client could write."""
        charge = cost is not None or rate_limits is not None
        scope = _scope(permissions, ip)
        cached = self._cached(key, charge, scope)
        if cached is not None:
            return cached
        verdict = Verdict.of(*self._send(_verify_call(key, cost, permissions, rate_limits, ip)))
        return self._keep(key, charge, scope, verdict)

    def limit(
        self,
        namespace: str,
        identifier: str,
        cost: Optional[int] = None,
        limit: Optional[int] = None,
        duration: Optional[int] = None,
    ) -> RateLimitAnswer:
        """Is `identifier` (an address, an e-mail, a user id) within its
        limit in `namespace`? Counted when `success`; `cost` 0 peeks;
        `limit` and `duration` replace the namespace's limit for this check.
        The identifier is sent once, never kept, logged or put in an error.
        Raises `ApiUnavailable` when the API cannot be asked (see
        `fails_open`)."""
        body = _limit_body(namespace, identifier, cost, limit, duration)
        answer = RateLimitAnswer.of(*self._send(_Call("POST", "/v1/ratelimit", body)))
        return self._remember(namespace, answer)

    def limit_many(self, checks: Sequence[LimitCheck]) -> RateLimitAnswers:
        """Several checks at once, all or nothing: each counted, or none."""
        answers = RateLimitAnswers.of(*self._send(_Call("POST", "/v1/ratelimit/many", {"checks": list(checks)})))
        for check, answer in zip(checks, answers.results):
            self._remember(str(check["namespace"]), answer)
        return answers

    # The key lifecycle, for a service key of the developer or admin role.
    def create_key(
        self,
        application_id: str,
        arx_id: str,
        *,
        name: Optional[str] = None,
        expires_at: Optional[str] = None,
        limits: Optional[Mapping[str, Json]] = None,
        permissions: Optional[Sequence[str]] = None,
        external_id: Optional[str] = None,
        meta: Optional[Mapping[str, Json]] = None,
        idempotency_key: Optional[str] = None,
    ) -> CreatedApiKey:
        """A new key, sent with an `Idempotency-Key` (a new one unless given;
        the same on a retry after a 503): a repeat makes no second key, and
        raises `KeyReplayed` (its answer holds no secret)."""
        call = _create_call(
            application_id, arx_id, name, expires_at, limits, permissions, external_id, meta, idempotency_key
        )
        return CreatedApiKey.of(*self._send(call))

    def list_keys(
        self,
        *,
        application_id: Optional[str] = None,
        arx_id: Optional[str] = None,
        status: Optional[str] = None,
        include_deleted: Optional[bool] = None,
        name: Optional[str] = None,
        external_id: Optional[str] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> KeyPage:
        call = _list_call(
            application_id=application_id, arx_id=arx_id, status=status, include_deleted=include_deleted,
            name=name, external_id=external_id, order=order, limit=limit, cursor=cursor,
        )  # fmt: skip
        return KeyPage.of(*self._send(call))

    def get_key(self, key_id: str) -> ApiKey:
        return ApiKey.of(*self._send(_Call("GET", f"/v1/api-keys/{_segment(key_id)}")))

    def rotate_key(
        self,
        key_id: str,
        grace_seconds: Optional[int] = None,
        permissions: Optional[Sequence[str]] = None,
        idempotency_key: Optional[str] = None,
    ) -> CreatedApiKey:
        call = _rotate_call(key_id, grace_seconds, permissions, idempotency_key)
        return CreatedApiKey.of(*self._send(call))

    def disable_key(self, key_id: str) -> ApiKey:
        return ApiKey.of(*self._send(_Call("POST", f"/v1/api-keys/{_segment(key_id)}/disable")))

    def enable_key(self, key_id: str) -> ApiKey:
        return ApiKey.of(*self._send(_Call("POST", f"/v1/api-keys/{_segment(key_id)}/enable")))

    def delete_key(self, key_id: str) -> None:
        self._send(_Call("DELETE", f"/v1/api-keys/{_segment(key_id)}", {"confirm": key_id}))


class AsyncClient(_Base):
    """The same, for asyncio (FastAPI, Starlette)."""

    def __init__(
        self,
        base_url: str,
        service_key: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        cache_seconds: Optional[float] = None,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ):
        super().__init__(base_url, service_key, timeout=timeout, retries=retries, cache_seconds=cache_seconds)
        self._http = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _send(self, call: _Call) -> tuple[Json, int]:
        for attempt in range(self._retries + 1):
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.body, params=call.params, headers=self._headers(call)
                )
            except httpx.HTTPError as error:
                raise _unreachable(error) from None
            if response.status_code != 503 or attempt == self._retries:
                return self._answer(response)
            wait = _wait_before_retry(response, attempt)
            log.info("the API is busy (503); retrying %s %s in %.1f s", call.method, call.path, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def verify(
        self,
        key: str,
        cost: Optional[int] = None,
        permissions: Optional[str] = None,
        rate_limits: Optional[RateLimits] = None,
        ip: Optional[str] = None,
    ) -> Verdict:
        """As `Client.verify`."""
        charge = cost is not None or rate_limits is not None
        scope = _scope(permissions, ip)
        cached = self._cached(key, charge, scope)
        if cached is not None:
            return cached
        verdict = Verdict.of(*await self._send(_verify_call(key, cost, permissions, rate_limits, ip)))
        return self._keep(key, charge, scope, verdict)

    async def limit(
        self,
        namespace: str,
        identifier: str,
        cost: Optional[int] = None,
        limit: Optional[int] = None,
        duration: Optional[int] = None,
    ) -> RateLimitAnswer:
        """As `Client.limit`."""
        body = _limit_body(namespace, identifier, cost, limit, duration)
        answer = RateLimitAnswer.of(*await self._send(_Call("POST", "/v1/ratelimit", body)))
        return self._remember(namespace, answer)

    async def limit_many(self, checks: Sequence[LimitCheck]) -> RateLimitAnswers:
        """As `Client.limit_many`."""
        call = _Call("POST", "/v1/ratelimit/many", {"checks": list(checks)})
        answers = RateLimitAnswers.of(*await self._send(call))
        for check, answer in zip(checks, answers.results):
            self._remember(str(check["namespace"]), answer)
        return answers

    async def create_key(
        self,
        application_id: str,
        arx_id: str,
        *,
        name: Optional[str] = None,
        expires_at: Optional[str] = None,
        limits: Optional[Mapping[str, Json]] = None,
        permissions: Optional[Sequence[str]] = None,
        external_id: Optional[str] = None,
        meta: Optional[Mapping[str, Json]] = None,
        idempotency_key: Optional[str] = None,
    ) -> CreatedApiKey:
        """A new key, sent with an `Idempotency-Key` (a new one unless given;
        the same on a retry after a 503): a repeat makes no second key, and
        raises `KeyReplayed` (its answer holds no secret)."""
        call = _create_call(
            application_id, arx_id, name, expires_at, limits, permissions, external_id, meta, idempotency_key
        )
        return CreatedApiKey.of(*await self._send(call))

    async def list_keys(
        self,
        *,
        application_id: Optional[str] = None,
        arx_id: Optional[str] = None,
        status: Optional[str] = None,
        include_deleted: Optional[bool] = None,
        name: Optional[str] = None,
        external_id: Optional[str] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> KeyPage:
        call = _list_call(
            application_id=application_id, arx_id=arx_id, status=status, include_deleted=include_deleted,
            name=name, external_id=external_id, order=order, limit=limit, cursor=cursor,
        )  # fmt: skip
        return KeyPage.of(*await self._send(call))

    async def get_key(self, key_id: str) -> ApiKey:
        return ApiKey.of(*await self._send(_Call("GET", f"/v1/api-keys/{_segment(key_id)}")))

    async def rotate_key(
        self,
        key_id: str,
        grace_seconds: Optional[int] = None,
        permissions: Optional[Sequence[str]] = None,
        idempotency_key: Optional[str] = None,
    ) -> CreatedApiKey:
        call = _rotate_call(key_id, grace_seconds, permissions, idempotency_key)
        return CreatedApiKey.of(*await self._send(call))

    async def disable_key(self, key_id: str) -> ApiKey:
        return ApiKey.of(*await self._send(_Call("POST", f"/v1/api-keys/{_segment(key_id)}/disable")))

    async def enable_key(self, key_id: str) -> ApiKey:
        return ApiKey.of(*await self._send(_Call("POST", f"/v1/api-keys/{_segment(key_id)}/enable")))

    async def delete_key(self, key_id: str) -> None:
        await self._send(_Call("DELETE", f"/v1/api-keys/{_segment(key_id)}", {"confirm": key_id}))
