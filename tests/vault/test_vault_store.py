"""Vault on a real database (SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from vault.errors import SecretNotFound, UnknownKeyError, VaultDecryptError, VaultError
from vault.keys import LocalKeyProvider
from vault.store import SecretRef, Vault
from vault.table import vault_secrets_table

REF = SecretRef("connection", "conn-1", "oauth_token")
OTHER = SecretRef("connection", "conn-2", "oauth_token")
TOKEN = b'{"access_token":"Atza|IwEBIexampleACCESS","refresh_token":"Atzr|IwEBIexampleREFRESH"}'


def row_of(engine: sa.Engine, ref: SecretRef) -> sa.Row[tuple[object, ...]]:
    t = vault_secrets_table()
    with engine.connect() as conn:
        return conn.execute(
            sa.select(t).where(
                t.c.kind == ref.kind, t.c.owner_id == ref.owner_id, t.c.name == ref.name
            )
        ).one()


def update_row(engine: sa.Engine, ref: SecretRef, **values: object) -> None:
    t = vault_secrets_table()
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.kind == ref.kind, t.c.owner_id == ref.owner_id, t.c.name == ref.name)
            .values(**values)
        )


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x80]) + data[index + 1 :]


def test_round_trip(vault: Vault) -> None:
    vault.put(REF, TOKEN)
    assert vault.get(REF) == TOKEN


def test_put_replaces_and_keeps_created_at(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, b"first")
    before = row_of(engine, REF)
    vault.put(REF, b"second")
    after = row_of(engine, REF)
    assert vault.get(REF) == b"second"
    assert after.id == before.id
    assert after.created_at == before.created_at
    assert after.updated_at >= before.updated_at
    assert after.ciphertext != before.ciphertext
    assert after.wrapped_key != before.wrapped_key
    assert vault.refs() == [REF]


def test_times_are_aware_utc(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, TOKEN)
    row = row_of(engine, REF)
    for value in (row.created_at, row.updated_at):
        assert value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
        assert value.astimezone(UTC) == value


def test_same_plaintext_in_two_rows_is_stored_differently(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, TOKEN)
    vault.put(OTHER, TOKEN)
    a, b = row_of(engine, REF), row_of(engine, OTHER)
    assert a.ciphertext != b.ciphertext
    assert a.wrapped_key != b.wrapped_key
    assert a.nonce != b.nonce


def test_missing_secret_raises_not_found(vault: Vault) -> None:
    with pytest.raises(SecretNotFound) as info:
        vault.get(REF)
    assert "conn-1" in str(info.value)
    assert isinstance(info.value, LookupError)


def test_delete(vault: Vault) -> None:
    vault.put(REF, TOKEN)
    vault.put(OTHER, TOKEN)
    assert vault.delete(REF) is True
    assert vault.delete(REF) is False
    with pytest.raises(SecretNotFound):
        vault.get(REF)
    assert vault.get(OTHER) == TOKEN


def test_refs_lists_and_filters_by_kind(vault: Vault) -> None:
    app = SecretRef("tenant_app", "tenant-1", "amazon")
    for ref in (OTHER, app, REF):
        vault.put(ref, b"x")
    assert vault.refs() == [REF, OTHER, app]
    assert vault.refs(kind="tenant_app") == [app]
    assert vault.refs(kind="nothing") == []


def test_json_helpers(vault: Vault) -> None:
    token = {
        "access_token": "Atza|abc",
        "refresh_token": "Atzr|def",
        "expires_at": 1767225600,
        "token_type": "bearer",
        "scope": "read_only",
        "account_id": "A1B2C3",
        "note": "ünïcode",
    }
    vault.put_json(REF, token)
    assert vault.get_json(REF) == token


def test_get_json_refuses_non_object(vault: Vault) -> None:
    vault.put(REF, b"[1, 2]")
    with pytest.raises(VaultError, match="not an object"):
        vault.get_json(REF)
    vault.put(REF, b"\xff\xfe")
    with pytest.raises(VaultError, match="not JSON"):
        vault.get_json(REF)


def test_put_json_refuses_nan(vault: Vault) -> None:
    with pytest.raises(ValueError):
        vault.put_json(REF, {"x": float("nan")})


@pytest.mark.parametrize("column", ["ciphertext", "nonce", "wrapped_key"])
def test_tampered_column_fails(vault: Vault, engine: sa.Engine, column: str) -> None:
    vault.put(REF, TOKEN)
    original = getattr(row_of(engine, REF), column)
    update_row(engine, REF, **{column: flip(bytes(original), len(original) // 2)})
    with pytest.raises(VaultDecryptError) as info:
        vault.get(REF)
    assert "conn-1" in str(info.value)
    assert "IwEBIexample" not in str(info.value)


def test_tampered_key_id_fails(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, TOKEN)
    update_row(engine, REF, key_id="local:ffffffffffffffff")
    with pytest.raises(UnknownKeyError):
        vault.get(REF)


def test_sealed_columns_copied_to_another_row_fail(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, TOKEN)
    vault.put(OTHER, b"the other row's own secret")
    source = row_of(engine, REF)
    update_row(
        engine,
        OTHER,
        key_id=source.key_id,
        wrapped_key=source.wrapped_key,
        nonce=source.nonce,
        ciphertext=source.ciphertext,
    )
    with pytest.raises(VaultDecryptError) as info:
        vault.get(OTHER)
    assert "conn-2" in str(info.value)
    assert vault.get(REF) == TOKEN


def test_row_renamed_to_another_identity_fails(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, TOKEN)
    update_row(engine, REF, owner_id="conn-9")
    with pytest.raises(VaultDecryptError):
        vault.get(SecretRef("connection", "conn-9", "oauth_token"))


def test_wrong_master_key_gives_a_clear_error(vault: Vault, engine: sa.Engine) -> None:
    vault.put(REF, TOKEN)
    stranger = Vault(engine, LocalKeyProvider(secrets.token_bytes(32)))
    with pytest.raises(UnknownKeyError) as info:
        stranger.get(REF)
    assert "master key" in str(info.value)
    assert "conn-1" in str(info.value)


def test_old_key_id_still_opens_after_rotation(engine: sa.Engine) -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    before = Vault(engine, LocalKeyProvider(old))
    before.ensure_table()
    before.put(REF, TOKEN)
    after = Vault(engine, LocalKeyProvider(new, [old]))
    assert after.get(REF) == TOKEN
    after.put(OTHER, TOKEN)
    assert row_of(engine, OTHER).key_id == LocalKeyProvider(new).key_id
    assert row_of(engine, REF).key_id == LocalKeyProvider(old).key_id


def test_secret_ref_identity_and_validation() -> None:
    assert REF.aad() == b"sellerhub/v1|connection|conn-1|oauth_token"
    assert str(REF) == "connection/conn-1/oauth_token"
    with pytest.raises(ValueError, match=r"\|"):
        SecretRef("connection", "a|b", "oauth_token")
    with pytest.raises(ValueError, match="non-empty"):
        SecretRef("connection", "", "oauth_token")
    with pytest.raises(ValueError, match="longer"):
        SecretRef("k" * 65, "o", "n")


def test_sqlite_file_holds_no_plaintext(tmp_path: Path, provider: LocalKeyProvider) -> None:
    db = tmp_path / "plain.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    vault = Vault(engine, provider)
    vault.ensure_table()
    tokens = {
        f"conn-{i}": {
            "access_token": f"Atza|{secrets.token_urlsafe(24)}",
            "refresh_token": f"Atzr|{secrets.token_urlsafe(24)}",
        }
        for i in range(5)
    }
    for connection_id, token in tokens.items():
        vault.put_json(SecretRef("connection", connection_id, "oauth_token"), token)
    vault.put(REF, b"sk_live_" + b"Z" * 24)
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("plain.db"))
    # the check reads the right bytes: identities are stored in the clear
    assert b"conn-3" in raw
    for token in tokens.values():
        for value in token.values():
            assert value.encode() not in raw
            assert value.split("|", 1)[1].encode() not in raw
    assert b"sk_live_" not in raw
    assert b"Atza|" not in raw


def test_vault_repr_has_no_key_material(vault: Vault, master_key: bytes) -> None:
    assert master_key.hex() not in repr(vault)
    assert "LocalKeyProvider" in repr(vault)
