"""The one HTTP client and its parts: auth, paginators, retry, rate limits."""

from connectors.http.auth import (
    MemoryTokenStore,
    OAuthFlow,
    PlatformAuth,
    TokenManager,
    TokenStore,
)
from connectors.http.client import PlatformClient
from connectors.http.paginators import NextTokenPaginator, StartingAfterPaginator
from connectors.http.ratelimit import BUDGETS, RateBudget, RateBudgetRegistry, budget_for
from connectors.http.retry import RetryPolicy

__all__ = [
    "BUDGETS",
    "MemoryTokenStore",
    "NextTokenPaginator",
    "OAuthFlow",
    "PlatformAuth",
    "PlatformClient",
    "RateBudget",
    "RateBudgetRegistry",
    "RetryPolicy",
    "StartingAfterPaginator",
    "TokenManager",
    "TokenStore",
    "budget_for",
]
