"""The opt-in verdict cache: verdicts reused in process for a short TTL."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Optional

from ._types import Verdict

#: The longest a verdict may be reused in process: past this a revoked key
#: would be let in for longer than the server's own caches allow.
MAX_CACHE_SECONDS = 30.0


def _seconds_until(timestamp: str) -> Optional[float]:
    """Seconds from now to an RFC 3339 time (negative once past); `None`
    when it cannot be read (then the verdict is not kept)."""
    try:
        at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return (at - datetime.now(timezone.utc)).total_seconds()


class VerdictCache:
    """Verdicts reused for `ttl` seconds (at most 30), keyed by an HMAC of
    the presented key under a random key of this process: the cache never
    holds a key. The trade-off: a key revoked on the server is still let in
    here until its verdict's TTL ends. A verdict never outlives the key's own
    `expires_at`. A limited key's verdicts (they carry `remaining`) are never
    kept, since each verify must be charged, nor are refusals that change on
    their own (`RATE_LIMITED`, `USAGE_EXCEEDED`)."""

    def __init__(self, ttl: float, capacity: int = 10_000):
        if not 0 < ttl <= MAX_CACHE_SECONDS:
            raise ValueError(f"a verdict cache's ttl must be above 0 and at most {MAX_CACHE_SECONDS} seconds")
        self._ttl = ttl
        self._capacity = capacity
        self._secret = secrets.token_bytes(32)
        # fingerprint -> (monotonic time it stops being good, verdict)
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
            good_until, verdict = entry
            if time.monotonic() >= good_until:
                del self._entries[fingerprint]
                return None
            return verdict

    def put(self, key: str, verdict: Verdict, permissions: Optional[str] = None) -> None:
        if verdict.remaining is not None or verdict.code in ("RATE_LIMITED", "USAGE_EXCEEDED"):
            return
        ttl = self._ttl
        if verdict.expires_at is not None:
            left = _seconds_until(verdict.expires_at)
            if left is None or left <= 0:
                return
            ttl = min(ttl, left)
        with self._lock:
            if len(self._entries) >= self._capacity:
                self._entries.clear()
            self._entries[self._fingerprint(key, permissions)] = (time.monotonic() + ttl, verdict)
