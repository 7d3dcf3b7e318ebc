"""What a pure mapping may know besides the raw record itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MappingContext:
    """Inputs a mapping needs that are not in the record.

    ``buyer_hash_key`` keys the HMAC that turns a buyer identifier into ``buyer_key`` (one key
    per tenant, so two lenders cannot join their buyers). ``account_currency`` is the account's
    default currency when a record leaves it implicit. ``account_id`` is the connection's
    account at the platform: a record that names another account is refused (a file imported
    into the wrong connection, a token routed to the wrong seller); None skips the check.
    """

    platform: str
    buyer_hash_key: bytes
    account_currency: str | None = None
    account_id: str | None = None
