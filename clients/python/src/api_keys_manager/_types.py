"""What the API answers, as typed, frozen dataclasses: `Verdict`, `ApiKey`,
`CreatedApiKey`, `KeyPage`; and the errors a call raises. Each is read
from the answer's JSON by `of`, which checks every field it types: an
answer of another shape (a proxy's page, a JSON `null`) raises
`UnexpectedAnswer` instead of handing out a half-filled object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional


class ApiError(Exception):
    """The API refused a call: its status, its problem `code` and `detail`
    (the server's words; they never repeat a key)."""

    def __init__(self, status: int, code: str, detail: str, field: Optional[str] = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


class ApiUnavailable(ApiError):
    """The API could not be asked: not reached, timed out, or answered
    something that is not its own. Carries no header, body or key: only
    what kind of failure it was (`status` 0 when nothing was answered)."""

    def __init__(self, detail: str, status: int = 0):
        super().__init__(status, "unavailable", detail)


class UnexpectedAnswer(ApiUnavailable):
    """The API answered 2xx with something that is not what the route
    returns (an empty body, JSON `null`, a field of the wrong type)."""

    def __init__(self, what: str, status: int):
        super().__init__(f"the API's answer was not {what}", status)


def _object(body: object, what: str, status: int) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise UnexpectedAnswer(what, status)
    return body


def _text(body: Mapping[str, Any], name: str, what: str, status: int) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise UnexpectedAnswer(what, status)
    return value


def _optional_text(body: Mapping[str, Any], name: str, what: str, status: int) -> Optional[str]:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise UnexpectedAnswer(what, status)
    return value


def _names(body: Mapping[str, Any], what: str, status: int, name: str = "permissions") -> tuple[str, ...]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise UnexpectedAnswer(what, status)
    return tuple(value)


def _list(body: Mapping[str, Any], name: str, what: str, status: int) -> list[Any]:
    value = body.get(name) or []
    if not isinstance(value, list):
        raise UnexpectedAnswer(what, status)
    return value


def _meta(body: Mapping[str, Any], what: str, status: int) -> Optional[Mapping[str, Any]]:
    value = body.get("meta")
    if value is not None and not isinstance(value, dict):
        raise UnexpectedAnswer(what, status)
    return value


@dataclass(frozen=True)
class VerifiedIdentity:
    """The identity (your customer) a key belongs to, as a verdict names it."""

    id: str
    external_id: str
    meta: Optional[Mapping[str, Any]] = field(default=None, hash=False)

    @classmethod
    def of(cls, answer: object, status: int = 200) -> VerifiedIdentity:
        what = "an identity"
        body = _object(answer, what, status)
        return cls(
            id=_text(body, "id", what, status),
            external_id=_text(body, "external_id", what, status),
            meta=_meta(body, what, status),
        )


@dataclass(frozen=True)
class LimitLeft:
    """One limit a verify charged or was refused by: `owner` is `key` or
    `identity`, `kind` is `rate` or `credits`, `name` an identity's rate
    limit's; `remaining` requests of cost 1 it would still pass."""

    owner: str
    kind: str
    remaining: int
    name: Optional[str] = None
    reset_at: Optional[str] = None

    @classmethod
    def of(cls, answer: object, status: int = 200) -> LimitLeft:
        what = "a limit"
        body = _object(answer, what, status)
        remaining = body.get("remaining")
        if not isinstance(remaining, int) or isinstance(remaining, bool):
            raise UnexpectedAnswer(what, status)
        return cls(
            owner=_text(body, "owner", what, status),
            kind=_text(body, "kind", what, status),
            remaining=remaining,
            name=_optional_text(body, "name", what, status),
            reset_at=_optional_text(body, "reset_at", what, status),
        )


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
    #: What the key may do: its own permissions and its roles' (a `VALID` verdict; empty otherwise).
    permissions: tuple[str, ...] = ()
    #: The roles the key has.
    roles: tuple[str, ...] = ()
    #: The key's owner in your own system, if it has one.
    external_id: Optional[str] = None
    #: Your own JSON object about the key, if it has one.
    meta: Optional[Mapping[str, Any]] = field(default=None, hash=False)
    #: The identity (customer) the key belongs to, if one is recorded.
    identity: Optional[VerifiedIdentity] = None
    remaining: Optional[int] = None
    reset_at: Optional[str] = None
    #: Each limit a `VALID` verify charged, and what it has left.
    limits: tuple[LimitLeft, ...] = ()
    #: For `RATE_LIMITED` and `USAGE_EXCEEDED`: the limit that refused.
    limited_by: Optional[LimitLeft] = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, answer: object, status: int = 200) -> Verdict:
        what = "a verdict"
        body = _object(answer, what, status)
        valid = body.get("valid")
        remaining = body.get("remaining")
        if not isinstance(valid, bool) or (
            remaining is not None and (not isinstance(remaining, int) or isinstance(remaining, bool))
        ):
            raise UnexpectedAnswer(what, status)

        def text(name: str) -> Optional[str]:
            return _optional_text(body, name, what, status)

        return cls(
            valid=valid,
            code=_text(body, "code", what, status),
            key_id=text("key_id"),
            application_id=text("application_id"),
            arx_id=text("arx_id"),
            arx_url=text("arx_url"),
            name=text("name"),
            expires_at=text("expires_at"),
            permissions=_names(body, what, status),
            roles=_names(body, what, status, "roles"),
            external_id=text("external_id"),
            meta=_meta(body, what, status),
            identity=None if body.get("identity") is None else VerifiedIdentity.of(body["identity"], status),
            remaining=remaining,
            reset_at=text("reset_at"),
            limits=tuple(LimitLeft.of(limit, status) for limit in _list(body, "limits", what, status)),
            limited_by=None if body.get("limited_by") is None else LimitLeft.of(body["limited_by"], status),
            raw=dict(body),
        )


@dataclass(frozen=True)
class ApiKey:
    """A key's public record (never its secret): what it is for, its state
    and its plain data. Every other field the API sends is in `raw`."""

    id: str
    name: str
    application_id: str
    arx_id: str
    status: str
    created_at: str
    created_by: str
    expires_at: Optional[str] = None
    last_used_at: Optional[str] = None
    rotated_from: Optional[str] = None
    rotated_to: Optional[str] = None
    permissions: tuple[str, ...] = ()
    external_id: Optional[str] = None
    meta: Optional[Mapping[str, Any]] = field(default=None, hash=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, answer: object, status: int = 200) -> ApiKey:
        what = "an API key"
        body = _object(answer, what, status)

        def required(name: str) -> str:
            return _text(body, name, what, status)

        def optional(name: str) -> Optional[str]:
            return _optional_text(body, name, what, status)

        return cls(
            id=required("id"),
            name=required("name"),
            application_id=required("application_id"),
            arx_id=required("arx_id"),
            status=required("status"),
            created_at=required("created_at"),
            created_by=required("created_by"),
            expires_at=optional("expires_at"),
            last_used_at=optional("last_used_at"),
            rotated_from=optional("rotated_from"),
            rotated_to=optional("rotated_to"),
            permissions=_names(body, what, status),
            external_id=optional("external_id"),
            meta=_meta(body, what, status),
            raw=dict(body),
        )


class KeyReplayed(ApiError):
    """A create or rotation sent again under its `Idempotency-Key`: the key
    exists since the first request, whose answer held its secret. This
    answer never does: rotate `api_key` for a secret if the first was lost."""

    def __init__(self, api_key: ApiKey):
        super().__init__(
            200,
            "replayed",
            "this key was made by an earlier request under the same Idempotency-Key; "
            "its secret is not shown again: rotate the key for a new one",
        )
        self.api_key = api_key


@dataclass(frozen=True)
class CreatedApiKey:
    """A key just made (or made by a rotation), with its access key: shown
    this once, so store it now. Its repr never shows the access key."""

    api_key: ApiKey
    access_key: str = field(repr=False)
    arx_url: str

    @classmethod
    def of(cls, answer: object, status: int = 201) -> CreatedApiKey:
        what = "a created API key"
        body = _object(answer, what, status)
        if body.get("replayed") is True:
            raise KeyReplayed(ApiKey.of(body.get("api_key"), status))
        return cls(
            api_key=ApiKey.of(body.get("api_key"), status),
            access_key=_text(body, "access_key", what, status),
            arx_url=_text(body, "arx_url", what, status),
        )


@dataclass(frozen=True)
class KeyPage:
    """A page of the key dashboard: its keys, the cursor of the next page
    (`None` on the last) and the tenant's counts by status."""

    items: tuple[ApiKey, ...]
    next_cursor: Optional[str]
    counts: Mapping[str, int] = field(default_factory=dict, hash=False)

    @classmethod
    def of(cls, answer: object, status: int = 200) -> KeyPage:
        what = "a page of API keys"
        body = _object(answer, what, status)
        items = body.get("items")
        counts = body.get("counts") or {}
        if not isinstance(items, list) or not isinstance(counts, dict):
            raise UnexpectedAnswer(what, status)
        return cls(
            items=tuple(ApiKey.of(item, status) for item in items),
            next_cursor=_optional_text(body, "next_cursor", what, status),
            counts={name: count for name, count in counts.items() if isinstance(count, int)},
        )


def _count(body: Mapping[str, Any], name: str, what: str, status: int) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UnexpectedAnswer(what, status)
    return value


@dataclass(frozen=True)
class RateLimitAnswer:
    """What `POST /v1/ratelimit` said: `success` (admitted and counted),
    `limit` requests per `duration` seconds, `remaining` in this window,
    which ends at `reset_at`, `reset_after` seconds from the answer; and the
    namespace's rule for a client that cannot reach the API (`fail_open`).
    It never holds the identifier."""

    success: bool
    limit: int
    duration: int
    remaining: int
    reset_at: str
    reset_after: int
    fail_open: bool

    @classmethod
    def of(cls, answer: object, status: int = 200) -> RateLimitAnswer:
        what = "a rate-limit answer"
        body = _object(answer, what, status)
        success, fail_open = body.get("success"), body.get("fail_open")
        if not isinstance(success, bool) or not isinstance(fail_open, bool):
            raise UnexpectedAnswer(what, status)
        return cls(
            success=success,
            limit=_count(body, "limit", what, status),
            duration=_count(body, "duration", what, status),
            remaining=_count(body, "remaining", what, status),
            reset_at=_text(body, "reset_at", what, status),
            reset_after=_count(body, "reset_after", what, status),
            fail_open=fail_open,
        )

    def headers(self, namespace: str) -> dict[str, str]:
        """The IETF draft's `RateLimit-Policy` and `RateLimit` fields
        (draft-ietf-httpapi-ratelimit-headers), named by the namespace, and
        `Retry-After` when refused. A namespace name holds no quote: it is a
        structured-field string as it is."""
        headers = {
            "ratelimit-policy": f'"{namespace}";q={self.limit};w={self.duration}',
            "ratelimit": f'"{namespace}";r={self.remaining};t={self.reset_after}',
        }
        if not self.success:
            headers["retry-after"] = str(self.reset_after)
        return headers


@dataclass(frozen=True)
class RateLimitAnswers:
    """What `POST /v1/ratelimit/many` said: all admitted (`success`) or none
    counted, and each check's answer in order."""

    success: bool
    results: tuple[RateLimitAnswer, ...]

    @classmethod
    def of(cls, answer: object, status: int = 200) -> RateLimitAnswers:
        what = "rate-limit answers"
        body = _object(answer, what, status)
        success = body.get("success")
        if not isinstance(success, bool):
            raise UnexpectedAnswer(what, status)
        results = tuple(RateLimitAnswer.of(each, status) for each in _list(body, "results", what, status))
        return cls(success=success, results=results)
