"""What every emulator world has in common, and what the admin router needs from it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

from sandbox.common.clock import Clock
from sandbox.common.config import WorldConfig
from sandbox.common.faults import FaultQueue
from sandbox.common.grants import GrantStore, TokenFormat
from sandbox.common.mutations import MutationLog
from sandbox.common.ratelimit import Limit, RateLimiter
from sandbox.common.stats import Stats

LimitsMode = Literal["sandbox", "production"]


@dataclass
class Settings:
    """Knobs a test (or ``POST /_sandbox/config``) may turn."""

    access_token_lifetime: int | None = 3600  # seconds; None: tokens never expire
    before_margin: float = 120.0  # "...Before must be at least two minutes before now"
    release_delay: float = 0.0  # Amazon finances: lag of recent transactions, seconds
    draft_app: bool = False  # Amazon: the app is in Draft, so consent needs version=beta
    # every refresh returns a new refresh token and the old one answers invalid_grant from then
    # on: Square's PKCE refresh tokens are single-use (specs/square ObtainTokenResponse), and
    # Shopify replaces expiring offline tokens' refresh token on every refresh
    # (https://shopify.dev/changelog/offline-access-tokens-now-support-expiry-and-refresh)
    rotate_refresh_tokens: bool = False

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        for key, value in values.items():
            setattr(self, key, value)

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class WorldCore:
    platform: str
    config: WorldConfig
    clock: Clock
    grants: GrantStore
    limiter: RateLimiter
    mutations: MutationLog
    settings: Settings
    faults: FaultQueue = field(default_factory=FaultQueue)
    stats: Stats = field(default_factory=Stats)

    @classmethod
    def create(
        cls,
        platform: str,
        config: WorldConfig,
        state_dir: Path,
        tokens: TokenFormat,
        limits: dict[str, Limit],
        default_limit: Limit,
        settings: Settings,
        clock: Clock | None = None,
    ) -> WorldCore:
        clock = clock or Clock()
        return cls(
            platform=platform,
            config=config,
            clock=clock,
            grants=GrantStore(state_dir / f"{platform}_grants.json", clock, tokens),
            limiter=RateLimiter(clock, limits, default_limit),
            mutations=MutationLog(state_dir / f"{platform}_mutations.json"),
            settings=settings,
        )

    @property
    def anchor(self) -> date:
        return self.config.anchor


class PlatformWorld(Protocol):
    """An emulator's in-process state, as the admin endpoints and the server see it."""

    @property
    def core(self) -> WorldCore: ...

    def accounts(self) -> list[dict[str, Any]]: ...

    def truth(self) -> dict[str, Any]: ...

    def add_activity(self, account: str, orders: int) -> list[str]: ...

    def set_order_status(self, order_id: str, status: str) -> dict[str, Any]: ...
