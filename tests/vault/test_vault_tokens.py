"""VaultTokenStore and the references for tokens and app credentials."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from vault.errors import VaultDecryptError
from vault.redact import SecretRedactingFilter
from vault.store import SecretRef, Vault
from vault.table import vault_secrets_table
from vault.tokens import (
    TokenStore,
    VaultTokenStore,
    app_credentials_ref,
    connection_token_ref,
)

TOKEN = {
    "access_token": "Atza|IwEBIaccess0123456789",
    "refresh_token": "Atzr|IwEBIrefresh0123456789",
    "expires_at": 1767225600,
    "expires_in": 3600,
    "token_type": "bearer",
    "scope": "sellingpartnerapi::notifications",
    "account_id": "A3EXAMPLE",
}


def test_refs() -> None:
    assert connection_token_ref("c-1") == SecretRef("connection", "c-1", "oauth_token")
    assert app_credentials_ref("t-1", "amazon") == SecretRef("tenant_app", "t-1", "amazon")


async def test_round_trip(vault: Vault) -> None:
    store = VaultTokenStore(vault, "c-1")
    assert await store.load() is None
    await store.save(TOKEN)
    assert await store.load() == TOKEN
    # stored where the reference says, sealed to that row
    assert vault.get_json(connection_token_ref("c-1")) == TOKEN


async def test_save_replaces_a_rotated_token(vault: Vault) -> None:
    store = VaultTokenStore(vault, "c-1")
    await store.save(TOKEN)
    rotated = {**TOKEN, "refresh_token": "Atzr|rotated0123456789"}
    await store.save(rotated)
    assert await store.load() == rotated


async def test_connections_are_isolated_and_delete(vault: Vault) -> None:
    one, two = VaultTokenStore(vault, "c-1"), VaultTokenStore(vault, "c-2")
    await one.save(TOKEN)
    assert await two.load() is None
    assert await one.delete() is True
    assert await one.load() is None
    assert await one.delete() is False


async def test_a_token_moved_to_another_connection_does_not_open(
    vault: Vault, engine: sa.Engine
) -> None:
    await VaultTokenStore(vault, "c-1").save(TOKEN)
    t = vault_secrets_table()
    with engine.begin() as conn:  # the test plays an attacker with write access to the database
        conn.execute(t.update().where(t.c.owner_id == "c-1").values(owner_id="c-2"))
    with pytest.raises(VaultDecryptError):
        await VaultTokenStore(vault, "c-2").load()


def test_satisfies_the_protocol(vault: Vault) -> None:
    store: TokenStore = VaultTokenStore(vault, "c-1")
    assert "c-1" in repr(store)


# eBay-style tokens: no prefix the built-in patterns know, so only registration hides them
EBAY_TOKEN = {
    "access_token": "v^1.1#i^1#f^0#r^0#I^3#p^3#t^H4sIAAAAAAAAAOVYa2wUVRTu",
    "refresh_token": "v^1.1#i^1#r^1#f^0#I^3#p^3#t^Ul4xMF8yOkRBQjI2QkI1",
    "token_type": "User Access Token",
}


async def test_save_registers_token_values_with_a_redactor(vault: Vault) -> None:
    line = f"sending {EBAY_TOKEN['access_token']} and {EBAY_TOKEN['refresh_token']}"
    redactor = SecretRedactingFilter()
    assert EBAY_TOKEN["access_token"] in redactor.redact(line)  # not known yet
    await VaultTokenStore(vault, "c-1", redactor=redactor).save(EBAY_TOKEN)
    record = logging.makeLogRecord(
        {
            "msg": "sending %s and %s",
            "args": (EBAY_TOKEN["access_token"], EBAY_TOKEN["refresh_token"]),
        }
    )
    redactor.filter(record)
    assert EBAY_TOKEN["access_token"] not in record.getMessage()
    assert EBAY_TOKEN["refresh_token"] not in record.getMessage()
    assert redactor.redact("User Access Token") == "User Access Token"


async def test_load_registers_token_values_with_a_redactor(vault: Vault) -> None:
    await VaultTokenStore(vault, "c-1").save(EBAY_TOKEN)
    fresh = SecretRedactingFilter()
    await VaultTokenStore(vault, "c-1", redactor=fresh).load()
    assert EBAY_TOKEN["refresh_token"] not in fresh.redact(f"x {EBAY_TOKEN['refresh_token']} y")
