"""The clients against a real dev server: verdicts, errors, retries on 503
only, the opt-in cache and its TTL, the key lifecycle, and no key ever in
an error, a repr or a log line."""

import asyncio
import logging
import time

import httpx
import pytest

from api_keys_manager import ApiError, AsyncClient, Client, VerdictCache


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
    bad_service_key = server.service_key()[:-2] + "zz"
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
    created = developer.create_key(server.app_id, server.arx_id, name="made by a machine")
    key_id = created["api_key"]["id"]
    assert created["access_key"].startswith("akm_")
    assert developer.get_key(key_id)["created_by"].startswith("service-key:svckey--")
    assert any(item["id"] == key_id for item in developer.list_keys(limit=100)["items"])
    assert admin.disable_key(key_id)["status"] == "disabled"
    assert admin.enable_key(key_id)["status"] == "active"
    rotated = developer.rotate_key(key_id, grace_seconds=0)
    assert rotated["api_key"]["rotated_from"] == key_id
    developer.delete_key(rotated["api_key"]["id"])
    assert developer.get_key(rotated["api_key"]["id"])["status"] == "deleted"
    with pytest.raises(ApiError) as refused:
        developer.disable_key(key_id)
    assert refused.value.code == "forbidden"
