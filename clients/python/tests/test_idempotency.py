"""Creates and rotations carry an Idempotency-Key: a repeat under the same
key makes no second key and raises `KeyReplayed`, whose text and repr never
hold the secret; the key with another body is refused (422)."""

import uuid

import pytest

from api_keys_manager import ApiError, Client, KeyReplayed


def test_a_repeat_under_its_key_makes_no_second_key_and_shows_no_secret(server):
    key = str(uuid.uuid4())
    with Client(server.url, service_key=server.service_key("developer")) as client:
        name = f"python retried {key}"
        created = client.create_key(server.app_id, server.arx_id, name=name, idempotency_key=key)
        with pytest.raises(KeyReplayed) as replayed:
            client.create_key(server.app_id, server.arx_id, name=name, idempotency_key=key)
        assert replayed.value.api_key.id == created.api_key.id
        secret = created.access_key.split("_")[2]
        assert secret not in str(replayed.value) and secret not in repr(replayed.value)
        with pytest.raises(ApiError) as reused:
            client.create_key(server.app_id, server.arx_id, name="another", idempotency_key=key)
        assert reused.value.status == 422 and reused.value.code == "idempotency_key_reused"
        # Without a key of yours, each call is a request of its own.
        one = client.create_key(server.app_id, server.arx_id, name=name)
        two = client.create_key(server.app_id, server.arx_id, name=name)
        assert one.api_key.id != two.api_key.id
        rotated = client.rotate_key(one.api_key.id, 0, idempotency_key=f"{key}-rotate")
        with pytest.raises(KeyReplayed) as again:
            client.rotate_key(one.api_key.id, 0, idempotency_key=f"{key}-rotate")
        assert again.value.api_key.id == rotated.api_key.id
