"""The ``vault_secrets`` table: one sealed secret per (kind, owner_id, name)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class VaultSecret(SQLModel, table=True):
    """A sealed secret. Only ciphertext and the wrapped data key are stored, never plaintext."""

    __tablename__ = "vault_secrets"
    __table_args__ = (
        sa.UniqueConstraint("kind", "owner_id", "name", name="uq_vault_secrets_kind_owner_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    owner_id: str = Field(max_length=255)
    name: str = Field(max_length=255)
    key_id: str = Field(max_length=255)
    wrapped_key: bytes = Field(repr=False)
    nonce: bytes = Field(repr=False)
    ciphertext: bytes = Field(repr=False)
    created_at: datetime
    updated_at: datetime


def vault_secrets_table() -> sa.Table:
    """The Core table behind :class:`VaultSecret` (typed for SQLAlchemy Core statements)."""
    table = VaultSecret.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table
