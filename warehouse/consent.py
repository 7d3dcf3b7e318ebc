"""How long a seller's consent lasts, and telling ops before it runs out.

Some platforms make the seller approve access again after a fixed time: Amazon requires a
public app to be re-authorized every 365 days
(https://developer-docs.amazon.com/sp-api/docs/renew-authorizations). Each platform's lifetime
is declared in its ``OAuthFacts.consent_lifetime_days``; a connection's consent runs from its
``consented_at`` (set again by every new consent). Health reports ``consent_expiring`` from
``SELLERHUB_CONSENT_WARNING_DAYS`` (default 30) days ahead and ``consent_expired`` after; a
``sync_events`` row records each of the two once per consent.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, select
from sqlmodel import Session

from warehouse.tables import Connection, SyncEvent, table_of, utcnow

CONSENT_WARNING_ENV = "SELLERHUB_CONSENT_WARNING_DAYS"
DEFAULT_WARNING_DAYS = 30

ConsentLevel = Literal["unlimited", "ok", "expiring", "expired"]
LifetimeOf = Callable[[str], int | None]  # platform -> consent lifetime in days (None: no limit)


def warning_days(environ: Mapping[str, str] | None = None) -> int:
    """Days of warning before a consent expires, from ``SELLERHUB_CONSENT_WARNING_DAYS``."""
    raw = (os.environ if environ is None else environ).get(CONSENT_WARNING_ENV, "").strip()
    if not raw:
        return DEFAULT_WARNING_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(
            f"{CONSENT_WARNING_ENV} must be a whole number of days, not {raw!r}"
        ) from None
    if days < 0:
        raise ValueError(f"{CONSENT_WARNING_ENV} must not be negative")
    return days


def platform_consent_lifetime(platform: str) -> int | None:
    """The platform's declared consent lifetime (None when unlimited or unknown)."""
    from connectors.registry import get_connector  # the declarations live with the connectors

    try:
        return get_connector(platform).facts.oauth.consent_lifetime_days
    except LookupError:
        return None


@dataclass(frozen=True)
class ConsentState:
    level: ConsentLevel
    expires_at: datetime | None = None

    @property
    def health(self) -> str | None:
        """The health value this state imposes (None: consent says nothing)."""
        if self.level == "expiring":
            return "consent_expiring"
        if self.level == "expired":
            return "consent_expired"
        return None

    def message(self, platform: str, now: datetime) -> str | None:
        if self.expires_at is None or self.level in ("unlimited", "ok"):
            return None
        day = self.expires_at.strftime("%Y-%m-%d")
        if self.level == "expired":
            return (
                f"the seller's {platform} consent expired on {day}; the seller must authorize again"
            )
        left = max(math.ceil((self.expires_at - now) / timedelta(days=1)), 0)
        return (
            f"the seller's {platform} consent expires on {day} (in {left} days); "
            "ask the seller to authorize again before then"
        )


def consent_state(
    connection: Connection,
    *,
    now: datetime | None = None,
    warn_days: int | None = None,
    lifetime_of: LifetimeOf = platform_consent_lifetime,
) -> ConsentState:
    lifetime = lifetime_of(connection.platform)
    if lifetime is None:
        return ConsentState("unlimited")
    current = now or utcnow()
    expires_at = connection.consented_at + timedelta(days=lifetime)
    if current >= expires_at:
        return ConsentState("expired", expires_at)
    warn = warning_days() if warn_days is None else warn_days
    if current >= expires_at - timedelta(days=warn):
        return ConsentState("expiring", expires_at)
    return ConsentState("ok", expires_at)


def note_consent(
    engine: Engine,
    connection: Connection,
    *,
    now: datetime | None = None,
    warn_days: int | None = None,
    lifetime_of: LifetimeOf = platform_consent_lifetime,
) -> ConsentState:
    """Compute the consent state and record a ``consent_expiring`` / ``consent_expired`` event
    the first time it is seen for the current consent (events after ``consented_at``)."""
    current = now or utcnow()
    state = consent_state(connection, now=current, warn_days=warn_days, lifetime_of=lifetime_of)
    kind = state.health
    message = state.message(connection.platform, current)
    if kind is None or message is None:
        return state
    events = table_of(SyncEvent)
    with Session(engine) as session:
        seen = session.execute(
            select(events.c.id)
            .where(events.c.connection_id == connection.id)
            .where(events.c.kind == kind)
            .where(events.c.created_at >= connection.consented_at)
            .limit(1)
        ).first()
        if seen is None:
            session.add(
                SyncEvent(
                    connection_id=connection.id, kind=kind, message=message, created_at=current
                )
            )
            session.commit()
    return state
