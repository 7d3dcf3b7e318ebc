"""The vault: sealed secrets in the ``vault_secrets`` table, one short transaction per call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vault.envelope import Sealed, open_sealed, seal
from vault.errors import SecretNotFound, VaultError
from vault.keys import KeyProvider
from vault.table import vault_secrets_table

AAD_PREFIX = b"sellerhub/v1|"
_MAX_LENGTHS = {"kind": 64, "owner_id": 255, "name": 255}


@dataclass(frozen=True, order=True)
class SecretRef:
    """Names one secret. Its identity is the associated data that binds the ciphertext."""

    kind: str
    owner_id: str
    name: str

    def __post_init__(self) -> None:
        for field, limit in _MAX_LENGTHS.items():
            value = getattr(self, field)
            if not isinstance(value, str) or not value:
                raise ValueError(f"SecretRef.{field} must be a non-empty string")
            if "|" in value:
                # "|" separates the parts of the AAD; allowing it would let two refs share one.
                raise ValueError(f"SecretRef.{field} must not contain '|'")
            if len(value) > limit:
                raise ValueError(f"SecretRef.{field} is longer than {limit} characters")

    def aad(self) -> bytes:
        return AAD_PREFIX + f"{self.kind}|{self.owner_id}|{self.name}".encode()

    def __str__(self) -> str:
        return f"{self.kind}/{self.owner_id}/{self.name}"


class Vault:
    """Stores secrets sealed by :func:`vault.envelope.seal`. Works on SQLite and PostgreSQL.

    Synchronous by design; async callers use ``asyncio.to_thread``.
    """

    def __init__(self, engine: sa.Engine, provider: KeyProvider) -> None:
        self._engine = engine
        self._provider = provider
        self._table = vault_secrets_table()

    def __repr__(self) -> str:
        return f"Vault(engine={self._engine!r}, provider={self._provider!r})"

    def ensure_table(self) -> None:
        """Create ``vault_secrets`` if it is absent (migrations do this in production)."""
        self._table.create(self._engine, checkfirst=True)

    def put(self, ref: SecretRef, plaintext: bytes) -> None:
        """Seal ``plaintext`` under a fresh data key and insert or replace the row for ``ref``."""
        sealed = seal(plaintext, ref.aad(), self._provider)
        now = datetime.now(UTC)
        values = {
            "kind": ref.kind,
            "owner_id": ref.owner_id,
            "name": ref.name,
            "key_id": sealed.key_id,
            "wrapped_key": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "created_at": now,
            "updated_at": now,
        }
        changed = {k: values[k] for k in ("key_id", "wrapped_key", "nonce", "ciphertext")}
        changed["updated_at"] = now
        with self._engine.begin() as conn:
            dialect = conn.dialect.name
            if dialect in ("sqlite", "postgresql"):
                insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
                stmt = (
                    insert(self._table)
                    .values(values)
                    .on_conflict_do_update(
                        index_elements=["kind", "owner_id", "name"], set_=changed
                    )
                )
                conn.execute(stmt)
                return
            updated = conn.execute(self._table.update().where(self._match(ref)).values(changed))
            if updated.rowcount == 0:
                conn.execute(self._table.insert().values(values))

    def get(self, ref: SecretRef) -> bytes:
        """The plaintext for ``ref``; ``SecretNotFound`` if absent, ``VaultDecryptError`` if bad."""
        t = self._table
        query = sa.select(t.c.key_id, t.c.wrapped_key, t.c.nonce, t.c.ciphertext).where(
            self._match(ref)
        )
        with self._engine.begin() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise SecretNotFound(f"no secret stored for {ref}")
        sealed = Sealed(
            key_id=row.key_id,
            wrapped_key=bytes(row.wrapped_key),
            nonce=bytes(row.nonce),
            ciphertext=bytes(row.ciphertext),
        )
        return open_sealed(sealed, ref.aad(), self._provider)

    def delete(self, ref: SecretRef) -> bool:
        """Delete the secret; True if a row was removed."""
        with self._engine.begin() as conn:
            result = conn.execute(self._table.delete().where(self._match(ref)))
        return result.rowcount > 0

    def refs(self, kind: str | None = None) -> list[SecretRef]:
        """The references stored, optionally of one kind, sorted."""
        t = self._table
        query = sa.select(t.c.kind, t.c.owner_id, t.c.name).order_by(
            t.c.kind, t.c.owner_id, t.c.name
        )
        if kind is not None:
            query = query.where(t.c.kind == kind)
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
        return [SecretRef(r.kind, r.owner_id, r.name) for r in rows]

    def put_json(self, ref: SecretRef, obj: Mapping[str, Any]) -> None:
        """Store a JSON object (e.g. a token dict). NaN/Infinity and non-JSON types are refused."""
        text = json.dumps(dict(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        self.put(ref, text.encode("utf-8"))

    def get_json(self, ref: SecretRef) -> dict[str, Any]:
        """Load a JSON object stored by :meth:`put_json`."""
        try:
            obj = json.loads(self.get(ref).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise VaultError(f"secret {ref} is not JSON") from None
        if not isinstance(obj, dict):
            raise VaultError(f"secret {ref} is JSON but not an object")
        return obj

    def _match(self, ref: SecretRef) -> sa.ColumnElement[bool]:
        t = self._table
        return sa.and_(t.c.kind == ref.kind, t.c.owner_id == ref.owner_id, t.c.name == ref.name)
