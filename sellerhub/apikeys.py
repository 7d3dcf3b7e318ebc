"""Tenant API keys: ``shk_<id>_<secret>``; the database keeps only the secret's SHA-256.

The secret is 256 random bits, so a fast hash is enough (no password stretching needed); the
comparison is constant-time. The key is shown once, when created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from warehouse.tables import ApiKey, utcnow

PREFIX = "shk"
SCOPES = frozenset({"read", "connect", "admin"})


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    tenant_id: str
    scopes: frozenset[str]
    plaintext: str

    def __repr__(self) -> str:
        return (
            f"IssuedKey(key_id={self.key_id!r}, tenant_id={self.tenant_id!r}, plaintext=<redacted>)"
        )


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant, through one of its keys, with these scopes."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]


class InvalidApiKey(Exception):
    """The key is missing, malformed, unknown or revoked (the reason is not told to callers)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(
    engine: Engine, tenant_id: str, scopes: frozenset[str] = frozenset({"read"}), label: str = ""
) -> IssuedKey:
    unknown = scopes - SCOPES
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {sorted(SCOPES)}, got {sorted(scopes)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with Session(engine) as session:
        session.add(
            ApiKey(
                id=key_id,
                tenant_id=tenant_id,
                secret_hash=_digest(secret),
                scopes=" ".join(sorted(scopes)),
                label=label,
            )
        )
        session.commit()
    return IssuedKey(key_id, tenant_id, scopes, f"{PREFIX}_{key_id}_{secret}")


def authenticate(engine: Engine, presented: str) -> Principal:
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise InvalidApiKey("malformed")
    key_id, secret = parts[1], parts[2]
    with Session(engine) as session:
        row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        raise InvalidApiKey("unknown or revoked")
    if not hmac.compare_digest(row.secret_hash, _digest(secret)):
        raise InvalidApiKey("wrong secret")
    return Principal(row.tenant_id, row.id, frozenset(row.scopes.split()))


def revoke_key(engine: Engine, key_id: str) -> bool:
    with Session(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        return True
