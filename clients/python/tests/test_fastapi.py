"""The README's FastAPI example (examples/fastapi_service.py), run as is
against the dev server: 401, 403 and 429 answered by the dependency, the
verdict handed to the route."""

import importlib.util
import os
import pathlib

from fastapi.testclient import TestClient

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "fastapi_service.py"


def load_example(server):
    os.environ["SERVICE_KEY"] = server.service_key()
    spec = importlib.util.spec_from_file_location("fastapi_service", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_example_service_lets_in_good_keys_only(server):
    app = load_example(server)
    key_id, key = server.access_key(name="python fastapi")
    _, limited = server.access_key(name="python fastapi limited", limits={"credits": {"remaining": 1}})
    with TestClient(app) as http:
        assert http.get("/documents").status_code == 401
        good = http.get("/documents", headers={"x-api-key": key})
        assert good.status_code == 200 and good.json() == {"application": server.app_id, "arx": server.arx_id}
        assert http.get("/documents", headers={"authorization": f"Bearer {key}"}).status_code == 200
        assert http.get("/documents", headers={"x-api-key": "akm_not_a_key"}).status_code == 401
        assert http.get("/documents", headers={"x-api-key": limited}).status_code == 200
        spent = http.get("/documents", headers={"x-api-key": limited})
        assert spent.status_code == 429 and "USAGE_EXCEEDED" in spent.text
        server.call("admin", "POST", f"/v1/api-keys/{key_id}/disable")
        refused = http.get("/documents", headers={"x-api-key": key})
        assert refused.status_code == 403 and key not in refused.text
        # /reports needs `reports.read`: a good key without it is 403, saying why.
        _, plain = server.access_key(name="python fastapi plain")
        lacking = http.get("/reports", headers={"x-api-key": plain})
        assert lacking.status_code == 403 and "INSUFFICIENT_PERMISSIONS" in lacking.text
        _, reader = server.access_key(name="python fastapi reader", permissions=["reports.read"], external_id="acme-py")
        read = http.get("/reports", headers={"x-api-key": reader})
        assert read.status_code == 200 and read.json() == {"owner": "acme-py", "permissions": ["reports.read"]}


def test_a_key_manager_that_cannot_be_asked_is_503_with_retry_after(server):
    from fastapi import Depends, FastAPI

    from api_keys_manager import AsyncClient, Verdict
    from api_keys_manager.fastapi import require_key

    _, key = server.access_key(name="python fastapi down")
    down = AsyncClient("http://127.0.0.1:9", service_key=server.service_key(), timeout=2)
    app = FastAPI()

    @app.get("/documents")
    async def documents(verdict: Verdict = Depends(require_key(down))):
        return {"application": verdict.application_id}

    with TestClient(app) as http:
        answer = http.get("/documents", headers={"x-api-key": key})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert key not in answer.text


def test_the_dependency_passes_the_peer_address_and_a_forged_header_never_gets_in(server):
    """Behind no proxy, the connection's address decides (a forged
    X-Forwarded-For is not read); behind one trusted proxy (uvicorn's
    ProxyHeadersMiddleware), the address that proxy reports does."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    app = load_example(server)

    def from_loopback(inner):
        async def asgi(scope, receive, send):
            if scope["type"] == "http":
                scope = {**scope, "client": ("127.0.0.1", 50000)}
            await inner(scope, receive, send)

        return asgi

    _, outside = server.access_key(name="python fastapi allowlist", allowlist={"entries": ["203.0.113.0/24"]})
    _, loopback = server.access_key(name="python fastapi loopback", allowlist={"entries": ["127.0.0.0/8"]})
    forged = {"x-forwarded-for": "203.0.113.7"}
    with TestClient(from_loopback(app)) as http:
        refused = http.get("/documents", headers={"x-api-key": outside, **forged})
        assert refused.status_code == 403 and "ADDRESS_NOT_ALLOWED" in refused.text
        assert http.get("/documents", headers={"x-api-key": loopback, **forged}).status_code == 200
    # A fresh service: its async client belongs to the event loop it ran in.
    behind_one = from_loopback(ProxyHeadersMiddleware(load_example(server), trusted_hosts="127.0.0.1"))
    with TestClient(behind_one) as http:
        assert http.get("/documents", headers={"x-api-key": outside, **forged}).status_code == 200
        assert http.get("/documents", headers={"x-api-key": loopback, **forged}).status_code == 403
