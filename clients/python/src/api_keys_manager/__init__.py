"""Check API keys of a self-hosted API Keys manager from a Python service."""

from ._cache import MAX_CACHE_SECONDS, VerdictCache
from ._client import AsyncClient, Client
from ._types import (
    ApiError,
    ApiKey,
    ApiUnavailable,
    CreatedApiKey,
    KeyPage,
    KeyReplayed,
    LimitLeft,
    RateLimitAnswer,
    RateLimitAnswers,
    UnexpectedAnswer,
    Verdict,
    VerifiedIdentity,
)

__all__ = [
    "MAX_CACHE_SECONDS",
    "ApiError",
    "ApiKey",
    "ApiUnavailable",
    "AsyncClient",
    "Client",
    "CreatedApiKey",
    "KeyPage",
    "KeyReplayed",
    "LimitLeft",
    "RateLimitAnswer",
    "RateLimitAnswers",
    "UnexpectedAnswer",
    "Verdict",
    "VerdictCache",
    "VerifiedIdentity",
]
