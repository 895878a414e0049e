"""The dev server tests/clients.sh started, and what it printed (dev.env)."""

import os

import httpx
import pytest


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run `bash tests/clients.sh`, which starts a dev server and sets it")
    return value


class Server:
    def __init__(self) -> None:
        self.url = _env("API_URL")
        self.app_id = _env("APP_ID")
        self.arx_id = _env("ARX_ID")
        self.tokens = {role: _env(f"{role.upper()}_TOKEN") for role in ("owner", "admin", "developer")}

    def call(self, role: str, method: str, path: str, body=None):
        answer = httpx.request(method, f"{self.url}{path}", json=body, headers={"authorization": f"Bearer {self.tokens[role]}"})
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def service_key(self, role: str = "verifier") -> str:
        return self.call("owner", "POST", "/v1/service-keys", {"name": f"python {role}", "role": role})["secret"]

    def access_key(self, **fields) -> tuple[str, str]:
        created = self.call("developer", "POST", "/v1/api-keys", {"application_id": self.app_id, "arx_id": self.arx_id, **fields})
        return created["api_key"]["id"], created["access_key"]


@pytest.fixture(scope="session")
def server() -> Server:
    return Server()
