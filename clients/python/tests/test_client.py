"""The clients against a real dev server: verdicts, errors, retries on 503
only, the opt-in cache and its TTL, the key lifecycle, and no key ever in
an error, a repr or a log line."""

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Optional

import httpx
import pytest

from api_keys_manager import (
    ApiError,
    ApiKey,
    ApiUnavailable,
    AsyncClient,
    Client,
    CreatedApiKey,
    KeyPage,
    UnexpectedAnswer,
    VerdictCache,
)


class FaultInjector(httpx.BaseTransport):
    """Answers the first `failures` requests 503 itself, then passes each on
    to the real server; counts what it saw."""

    def __init__(self, failures: int, retry_after: str = "0"):
        self.inner = httpx.HTTPTransport()
        self.failures = failures
        self.retry_after = retry_after
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.failures:
            return httpx.Response(503, headers={"retry-after": self.retry_after}, json={"code": "busy", "detail": "busy"})
        return self.inner.handle_request(request)


def test_a_verifier_service_key_verifies_keys(server):
    _, key = server.access_key(name="python verify")
    with Client(server.url, server.service_key()) as client:
        verdict = client.verify(key)
        assert verdict.valid and verdict.code == "VALID"
        assert verdict.application_id == server.app_id and verdict.arx_id == server.arx_id
        assert client.verify("akm_garbage").code == "MALFORMED"
        assert not client.verify(key[:-1] + ("A" if key[-1] != "A" else "B")).valid


def test_a_permission_query_is_answered_and_cached_per_query(server):
    _, key = server.access_key(
        name="python permissions", permissions=["documents.read"], external_id="acme-py", meta={"plan": "pro"}
    )
    with Client(server.url, server.service_key(), cache_seconds=10) as client:
        valid = client.verify(key, permissions="documents.read OR admin")
        assert valid.code == "VALID"
        assert valid.permissions == ("documents.read",)
        assert valid.external_id == "acme-py" and valid.meta == {"plan": "pro"}
        for _ in range(2):
            assert client.verify(key, permissions="documents.write").code == "INSUFFICIENT_PERMISSIONS"
        assert client.verify(key).code == "VALID"
        with pytest.raises(ApiError) as bad:
            client.verify(key, permissions="documents.read AND")
        assert bad.value.status == 400 and bad.value.field == "permissions"


def test_the_async_client_verifies_too(server):
    _, key = server.access_key(name="python async")

    async def check():
        async with AsyncClient(server.url, server.service_key()) as client:
            return await client.verify(key)

    assert asyncio.run(check()).code == "VALID"


def test_refusals_carry_the_problem_code_and_never_a_key(server, caplog):
    caplog.set_level(logging.DEBUG)
    _, key = server.access_key(name="python refused")
    good = server.service_key()
    # Its last two characters changed (to ones they are not), so its checksum fails.
    bad_service_key = good[:-2] + ("yy" if good.endswith("zz") else "zz")
    client = Client(server.url, bad_service_key)
    with pytest.raises(ApiError) as refused:
        client.verify(key)
    assert refused.value.status == 401 and refused.value.code == "unauthenticated"
    # A developer's service key may not verify: 403 forbidden.
    with pytest.raises(ApiError) as forbidden:
        Client(server.url, server.service_key("developer")).verify(key)
    assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
    secret = bad_service_key.split("_")[2]
    for shown in [str(refused.value), repr(refused.value), repr(client), caplog.text, str(forbidden.value)]:
        assert secret not in shown
        assert key.split("_")[2] not in shown


def test_a_503_is_retried_as_retry_after_says_and_a_4xx_never(server):
    _, key = server.access_key(name="python retried")
    injector = FaultInjector(failures=2)
    client = Client(server.url, server.service_key(), retries=2, transport=injector)
    assert client.verify(key).code == "VALID"
    assert injector.seen == 3, "two 503s, then the real answer"
    # Out of retries: the 503 is the caller's, with its code.
    stubborn = FaultInjector(failures=5)
    with pytest.raises(ApiError) as busy:
        Client(server.url, server.service_key(), retries=1, transport=stubborn).verify(key)
    assert (busy.value.status, busy.value.code, stubborn.seen) == (503, "busy", 2)
    # A 4xx is never retried.
    counted = FaultInjector(failures=0)
    with pytest.raises(ApiError):
        Client(server.url, "akmsk_not_a_service_key", retries=3, transport=counted).verify(key)
    assert counted.seen == 1


def test_the_cache_reuses_a_verdict_for_its_ttl_and_never_a_limited_keys(server):
    key_id, key = server.access_key(name="python cached")
    with pytest.raises(ValueError):
        VerdictCache(31)
    service_key = server.service_key()
    client = Client(server.url, service_key, cache_seconds=1.5)
    assert client.verify(key).code == "VALID"
    cached_at = time.monotonic()
    server.call("developer", "DELETE", f"/v1/api-keys/{key_id}", {"confirm": key_id})
    # The trade-off, as documented: within the TTL this process still says VALID.
    assert client.verify(key).code == "VALID"
    assert time.monotonic() - cached_at < 1.5, "the delete outlasted the TTL"
    time.sleep(1.6)
    assert client.verify(key).code == "DELETED"
    # A limited key is charged on every verify, cache or not.
    _, limited = server.access_key(name="python limited", limits={"credits": {"remaining": 2}})
    codes = [client.verify(limited).code for _ in range(3)]
    assert codes == ["VALID", "VALID", "USAGE_EXCEEDED"]
    # Neither the client nor its cache prints a key it holds or has seen.
    for shown in (repr(client), repr(client._cache)):
        assert service_key.split("_")[2] not in shown and key.split("_")[2] not in shown


def test_the_key_lifecycle_with_developer_and_admin_service_keys(server):
    developer = Client(server.url, server.service_key("developer"))
    admin = Client(server.url, server.service_key("platform_admin"))
    created = developer.create_key(server.app_id, server.arx_id, name="made by a machine", permissions=["docs.read"])
    key_id = created.api_key.id
    assert isinstance(created, CreatedApiKey) and isinstance(created.api_key, ApiKey)
    assert created.access_key.startswith("akm_") and created.api_key.permissions == ("docs.read",)
    # The access key is shown once: never in what the object prints as.
    assert created.access_key not in repr(created) and created.access_key not in str(created)
    assert developer.get_key(key_id).created_by.startswith("service-key:svckey--")
    page = developer.list_keys(limit=100, include_deleted=False)
    assert isinstance(page, KeyPage) and any(item.id == key_id for item in page.items)
    assert page.counts["total"] >= 1
    assert admin.disable_key(key_id).status == "disabled"
    assert admin.enable_key(key_id).status == "active"
    rotated = developer.rotate_key(key_id, grace_seconds=0)
    assert rotated.api_key.rotated_from == key_id
    developer.delete_key(rotated.api_key.id)
    assert developer.get_key(rotated.api_key.id).status == "deleted"
    with pytest.raises(ApiError) as refused:
        developer.disable_key(key_id)
    assert refused.value.code == "forbidden"


class Recorder(httpx.BaseTransport):
    """Passes each request on to the real server, keeping the raw paths sent;
    or answers `status` with `content` itself (a broken proxy)."""

    def __init__(self, status: Optional[int] = None, content: bytes = b""):
        self.inner = httpx.HTTPTransport()
        self.paths: list[bytes] = []
        self.status = status
        self.content = content

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path)
        if self.status is not None:
            return httpx.Response(self.status, content=self.content, headers={"content-type": "application/json"})
        return self.inner.handle_request(request)


def test_a_key_id_stays_one_path_segment(server):
    recorder = Recorder()
    client = Client(server.url, server.service_key("developer"), transport=recorder)
    for hostile in ["../applications", "x?limit=1", "a/b#c", "apikey--01 2"]:
        with pytest.raises(ApiError) as refused:
            client.get_key(hostile)
        assert refused.value.status in (400, 404), refused.value
    assert recorder.paths == [
        b"/v1/api-keys/..%2Fapplications",
        b"/v1/api-keys/x%3Flimit%3D1",
        b"/v1/api-keys/a%2Fb%23c",
        b"/v1/api-keys/apikey--01%202",
    ]


def test_a_service_key_read_from_a_file_works_and_a_broken_one_is_never_repeated(server, tmp_path):
    _, key = server.access_key(name="python service key file")
    path = tmp_path / "service-key"
    path.write_text(server.service_key() + "\n")
    with Client(server.url, path.read_text()) as client:
        assert client.verify(key).code == "VALID"
    secret = server.service_key()
    for broken in [secret[:20] + "\n" + secret[20:], secret + "\0", secret[:20] + " " + secret[20:], "é" + secret]:
        with pytest.raises(ValueError) as refused:
            Client(server.url, broken)
        assert secret[20:40] not in str(refused.value) and secret[20:40] not in repr(refused.value)
    for empty in ["", " \n"]:
        with pytest.raises(ValueError):
            AsyncClient(server.url, empty)


def test_an_answer_of_another_shape_is_unexpected_never_half_read(server):
    _, key = server.access_key(name="python odd answers")
    for status, content in [(204, b""), (200, b"null"), (200, b"[]"), (200, b'{"valid": "yes", "code": "VALID"}'), (200, b"<html>")]:
        client = Client(server.url, server.service_key(), transport=Recorder(status, content))
        with pytest.raises(UnexpectedAnswer) as odd:
            client.verify(key)
        assert isinstance(odd.value, ApiError) and odd.value.code == "unavailable"
    with pytest.raises(ApiUnavailable) as down:
        Client("http://127.0.0.1:9", server.service_key(), timeout=2).verify(key)
    assert down.value.status == 0 and key.split("_")[2] not in str(down.value)


def test_a_cached_verdict_never_outlives_the_keys_expiry(server):
    soon = (datetime.now(timezone.utc) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, key = server.access_key(name="python expiring", expires_at=soon)
    client = Client(server.url, server.service_key(), cache_seconds=30)
    assert client.verify(key).code == "VALID"
    expiry = datetime.fromisoformat(soon.replace("Z", "+00:00"))
    time.sleep(max(0.0, (expiry - datetime.now(timezone.utc)).total_seconds()) + 0.5)
    assert client.verify(key).code == "EXPIRED", "the cache kept a verdict past the key's expiry"


def test_a_verdict_names_the_identity_and_roles_and_named_rate_limits_are_charged(server):
    import os

    owner = f"py-identity-{os.getpid()}"
    role = f"py-reader-{os.getpid()}"
    server.call("owner", "POST", "/v1/roles", {"name": role, "permissions": ["documents.read"]})
    identity = server.call(
        "owner",
        "POST",
        "/v1/identities",
        {"external_id": owner, "meta": {"tier": "gold"},
         "limits": {"rate_limits": [{"name": "tokens", "requests": 100, "per_seconds": 3600}]}},
    )
    _, key = server.access_key(name="python identity", external_id=owner, roles=[role])
    with Client(server.url, server.service_key(), cache_seconds=10) as client:
        valid = client.verify(key, permissions="documents.read", rate_limits={"tokens": 60})
        assert valid.valid and valid.roles == (role,)
        assert valid.identity is not None and valid.identity.id == identity["id"]
        assert valid.identity.meta == {"tier": "gold"}
        assert [(limit.name, limit.remaining) for limit in valid.limits] == [("tokens", 40)]
        refused = client.verify(key, rate_limits={"tokens": 41})
        assert refused.code == "RATE_LIMITED"
        assert refused.limited_by is not None
        assert (refused.limited_by.owner, refused.limited_by.kind, refused.limited_by.remaining) == ("identity", "rate", 40)


def test_a_check_names_the_address_an_allowlist_judges_cached_per_address(server):
    _, key = server.access_key(name="python allowlist", allowlist={"entries": ["203.0.113.0/24"]})
    with Client(server.url, server.service_key(), cache_seconds=10) as client:
        for _ in range(2):
            assert client.verify(key, ip="203.0.113.7").code == "VALID"
            assert client.verify(key, ip="192.0.2.1").code == "ADDRESS_NOT_ALLOWED"
        assert client.verify(key).code == "ADDRESS_NOT_ALLOWED"
