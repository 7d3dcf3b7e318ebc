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
from vault.keys import KeyProvider, WrappedKey
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

    @classmethod
    def from_aad(cls, aad: bytes) -> SecretRef | None:
        """The reference whose :meth:`aad` is ``aad``, or None if it is not one of ours."""
        if not aad.startswith(AAD_PREFIX):
            return None
        try:
            parts = aad[len(AAD_PREFIX) :].decode("utf-8").split("|")
        except UnicodeDecodeError:
            return None
        if len(parts) != 3:
            return None
        try:
            return cls(*parts)
        except ValueError:
            return None


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

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def provider(self) -> KeyProvider:
        """The provider that seals new secrets and opens stored ones."""
        return self._provider

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
        sealed = self.sealed(ref)
        if sealed is None:
            raise SecretNotFound(f"no secret stored for {ref}")
        return open_sealed(sealed, ref.aad(), self._provider)

    def sealed(self, ref: SecretRef) -> Sealed | None:
        """The stored (still sealed) columns of ``ref``, or None if there is no such row."""
        t = self._table
        query = sa.select(t.c.key_id, t.c.wrapped_key, t.c.nonce, t.c.ciphertext).where(
            self._match(ref)
        )
        with self._engine.begin() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        return Sealed(
            key_id=row.key_id,
            wrapped_key=bytes(row.wrapped_key),
            nonce=bytes(row.nonce),
            ciphertext=bytes(row.ciphertext),
        )

    def swap_wrapped_key(self, ref: SecretRef, expected: Sealed, new: WrappedKey) -> bool:
        """Replace the wrapped data key of ``ref`` if the row still holds ``expected``.

        A compare-and-swap: a row saved or deleted since ``expected`` was read is left alone
        (False). The ciphertext, nonce and ``updated_at`` do not change: the secret did not.
        """
        t = self._table
        stmt = (
            t.update()
            .where(
                self._match(ref),
                t.c.key_id == expected.key_id,
                t.c.wrapped_key == expected.wrapped_key,
                t.c.nonce == expected.nonce,
            )
            .values(key_id=new.key_id, wrapped_key=new.blob)
        )
        with self._engine.begin() as conn:
            result = conn.execute(stmt)
        return result.rowcount == 1

    def key_usage(self) -> dict[str, int]:
        """How many rows are wrapped under each key id."""
        t = self._table
        query = sa.select(t.c.key_id, sa.func.count()).group_by(t.c.key_id).order_by(t.c.key_id)
        with self._engine.begin() as conn:
            return {key_id: int(count) for key_id, count in conn.execute(query).all()}

    def refs_not_under(self, key_id: str) -> list[SecretRef]:
        """The references whose data key is wrapped under another key than ``key_id``."""
        t = self._table
        query = (
            sa.select(t.c.kind, t.c.owner_id, t.c.name)
            .where(t.c.key_id != key_id)
            .order_by(t.c.kind, t.c.owner_id, t.c.name)
        )
        with self._engine.begin() as conn:
            rows = conn.execute(query).all()
        return [SecretRef(r.kind, r.owner_id, r.name) for r in rows]

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
