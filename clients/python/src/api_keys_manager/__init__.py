"""Check API keys of a self-hosted API Keys manager from a Python service."""

from ._client import MAX_CACHE_SECONDS, ApiError, AsyncClient, Client, Verdict, VerdictCache

__all__ = ["MAX_CACHE_SECONDS", "ApiError", "AsyncClient", "Client", "Verdict", "VerdictCache"]
