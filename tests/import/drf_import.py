"""Keys made by djangorestframework-api-key itself, imported and verified.

A real Django project (an SQLite database in a temporary folder) makes keys
with the package's own manager, as a team's service did: `create_key`
(its SHA-512 hasher, `sha512$$…`), and, as versions before 2 stored them,
Django's own salted hashers over a `prefix.secret` key (PBKDF2, the default;
argon2 and bcrypt_sha256, which teams turned on). What its database holds
(the `prefix` and `hashed_key` columns, and `revoked`) is read with SQL,
written as one CSV file, checked with a dry run, imported through the API,
and then each original key verifies VALID (a wrong one does not, a revoked
one is DISABLED), and its old hash was replaced by ours at that first
verify (the audit log's `api_key_rehashed`, once per key).

Run by tests/clients.sh against a dev server: API_URL, OWNER_TOKEN, APP_ID
and ARX_ID come from the server's dev.env.
"""

import csv
import io
import os
import sqlite3
import sys
import tempfile

import django
import httpx
from django.conf import settings

folder = tempfile.mkdtemp()
settings.configure(
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "rest_framework_api_key",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{folder}/db.sqlite3"}},
    # The project's hashers, as a team's settings list them.
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    ],
    USE_TZ=True,
)
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_api_key.crypto import KeyGenerator  # noqa: E402
from rest_framework_api_key.models import APIKey  # noqa: E402

call_command("migrate", verbosity=0)

# Keys as the package makes them today, and as older versions stored them.
keys: dict[str, str] = {}
for n in range(3):
    api_key, key = APIKey.objects.create_key(name=f"service {n}")
    keys[api_key.prefix] = key
revoked, revoked_key = APIKey.objects.create_key(name="revoked service", revoked=True)
keys[revoked.prefix] = revoked_key
for hasher in ["pbkdf2_sha256", "argon2", "bcrypt_sha256"]:
    key, prefix, _ = KeyGenerator().generate()
    APIKey.objects.create(
        id=f"{prefix}.{hasher}", prefix=prefix, hashed_key=make_password(key, hasher=hasher),
        name=f"old {hasher}",
    )
    keys[prefix] = key

database = sqlite3.connect(f"{folder}/db.sqlite3")
rows = database.execute(
    "SELECT prefix, hashed_key, name, revoked FROM rest_framework_api_key_apikey ORDER BY name"
).fetchall()
stored_as = sorted({hashed.split("$", 1)[0] for _, hashed, _, _ in rows})
assert stored_as == ["argon2", "bcrypt_sha256", "pbkdf2_sha256", "sha512"], stored_as

file = io.StringIO()
writer = csv.writer(file)
writer.writerow(["prefix", "hash", "name", "status"])
for prefix, hashed, name, was_revoked in rows:
    writer.writerow([prefix, hashed, name, "disabled" if was_revoked else "active"])

api = os.environ["API_URL"]
owner = {"authorization": f"Bearer {os.environ['OWNER_TOKEN']}"}
query = {"application_id": os.environ["APP_ID"], "arx_id": os.environ["ARX_ID"], "scheme": "django"}
csv_headers = {**owner, "content-type": "text/csv"}
with httpx.Client(base_url=api, timeout=60) as client:
    dry = client.post("/v1/api-keys/import", params={**query, "dry_run": "true"},
                      content=file.getvalue(), headers=csv_headers)
    assert dry.status_code == 200, dry.text
    assert dry.json()["accepted"] == len(rows) and dry.json()["refused"] == 0, dry.text

    imported = client.post("/v1/api-keys/import", params=query, content=file.getvalue(),
                           headers=csv_headers)
    assert imported.status_code == 200, imported.text
    answer = imported.json()
    assert answer["accepted"] == len(rows), answer
    ids = {name: item["api_key"]["id"] for (_, _, name, _), item in zip(rows, answer["items"])}
    for key in keys.values():
        assert key not in imported.text, "a key was repeated"

    service = client.post("/v1/service-keys", headers=owner,
                          json={"name": "drf import", "role": "verifier"}).json()
    verifier = {"authorization": f"Bearer {service['secret']}"}

    def verify(key: str) -> dict:
        answer = client.post("/v1/verify", headers=verifier, json={"key": key})
        assert answer.status_code == 200, answer.text
        return answer.json()

    for prefix, _, name, was_revoked in rows:
        key = keys[prefix]
        expected = "DISABLED" if was_revoked else "VALID"
        verdict = verify(key)
        assert verdict["code"] == expected, (name, verdict)
        wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
        assert verify(wrong)["code"] == "NOT_FOUND", name
        assert verify(key)["code"] == expected, (name, "after the rehash")
        events = client.get("/v1/audit-events", headers=owner,
                            params={"object_id": ids[name], "action": "api_key_rehashed"}).json()
        assert len(events["items"]) == 1, (name, events)

    again = client.post("/v1/api-keys/import", params=query, content=file.getvalue(),
                        headers=csv_headers).json()
    assert again["refused"] == len(rows), again
    assert {item["code"] for item in again["items"]} == {"already_imported"}, again

print(f"djangorestframework-api-key: {len(rows)} keys stored as {', '.join(stored_as)} "
      "imported from its database, each VALID (the revoked one DISABLED) and rehashed once")
sys.exit(0)
