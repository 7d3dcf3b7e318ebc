"""rotate / verify on a real database (SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import asyncio
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from vault.errors import KeyProviderUnavailable, UnknownKeyError
from vault.keyring import Keyring
from vault.keys import KeyProvider, LocalKeyProvider, WrappedKey
from vault.rotation import rotate, verify
from vault.store import SecretRef, Vault
from vault.table import vault_secrets_table
from vault.tokens import VaultTokenStore, connection_token_ref


def token(n: int) -> dict[str, Any]:
    return {
        "access_token": f"Atza|rot{secrets.token_urlsafe(12)}",
        "refresh_token": f"Atzr|rot{secrets.token_urlsafe(12)}",
        "n": n,
    }


def rows(engine: sa.Engine) -> dict[SecretRef, sa.Row[Any]]:
    t = vault_secrets_table()
    with engine.connect() as conn:
        return {SecretRef(r.kind, r.owner_id, r.name): r for r in conn.execute(sa.select(t))}


def flip_ciphertext(engine: sa.Engine, ref: SecretRef) -> None:
    t = vault_secrets_table()
    match = sa.and_(t.c.kind == ref.kind, t.c.owner_id == ref.owner_id, t.c.name == ref.name)
    with engine.begin() as conn:
        blob = bytes(conn.execute(sa.select(t.c.ciphertext).where(match)).scalar_one())
        flipped = blob[:3] + bytes([blob[3] ^ 0x20]) + blob[4:]
        conn.execute(t.update().where(match).values(ciphertext=flipped))


def test_rotation_rewraps_data_keys_and_leaves_ciphertexts(
    keyring_vault: Vault, keyring: Keyring, engine: sa.Engine
) -> None:
    saved = {connection_token_ref(f"c-{i}"): token(i) for i in range(12)}
    for ref, value in saved.items():
        keyring_vault.put_json(ref, value)
    old_id = keyring_vault.provider.key_id
    before = rows(engine)
    calls: list[tuple[int, int]] = []

    new_id = keyring.rotate_key()
    report = rotate(
        keyring_vault, keyring_vault.provider, progress=lambda d, t: calls.append((d, t))
    )

    after = rows(engine)
    assert report.complete
    assert report.target_key_id == new_id
    assert report.rewrapped == 12
    assert report.from_keys == {old_id: 12}
    assert calls[-1] == (12, 12)
    assert [d for d, _ in calls] == list(range(1, 13))
    for ref, value in saved.items():
        assert after[ref].key_id == new_id
        assert after[ref].wrapped_key != before[ref].wrapped_key
        assert after[ref].ciphertext == before[ref].ciphertext  # the token was not re-encrypted
        assert after[ref].nonce == before[ref].nonce
        assert after[ref].updated_at == before[ref].updated_at
        assert keyring_vault.get_json(ref) == value
    # the new key alone opens every row now
    only_new = Vault(engine, Keyring(keyring.master_path.parent, environ={}).provider())
    keyring.retire(old_id, keyring_vault)
    assert all(only_new.get_json(ref) == value for ref, value in saved.items())


async def test_rotation_while_eight_tasks_keep_saving(
    keyring_vault: Vault, keyring: Keyring, engine: sa.Engine
) -> None:
    """Syncs keep writing: no save lost, every row ends under the new key, old key retires."""
    vault = keyring_vault
    old_id = vault.provider.key_id
    owned = {task: [f"t{task}-c{i}" for i in range(15)] for task in range(8)}
    last: dict[str, dict[str, Any]] = {}
    for connection_ids in owned.values():
        for connection_id in connection_ids:
            last[connection_id] = token(0)
            vault.put_json(connection_token_ref(connection_id), last[connection_id])

    rotating = threading.Event()
    done = threading.Event()
    saves_during = 0
    enough = threading.Event()
    lock = threading.Lock()

    def gate(done_rows: int, _total: int) -> None:
        rotating.set()
        if done_rows == 30:  # hold the rotation mid-way until the writers have been at work
            assert enough.wait(30), "writers made no progress while the rotation waited"

    async def writer(task: int) -> None:
        nonlocal saves_during
        n = 0
        while not done.is_set() and n < 400:
            n += 1
            connection_id = owned[task][n % len(owned[task])]
            value = token(n)
            await VaultTokenStore(vault, connection_id).save(value)
            last[connection_id] = value
            if n % 10 == 0:  # a new connection appears mid-rotation
                new_id = f"t{task}-new{n}"
                value = token(n)
                await VaultTokenStore(vault, new_id).save(value)
                last[new_id] = value
            if rotating.is_set():
                with lock:
                    saves_during += 1
                    if saves_during >= 40:
                        enough.set()
            await asyncio.sleep(0)

    def rotation() -> Any:
        try:
            keyring.rotate_key()
            return rotate(vault, vault.provider, progress=gate)
        finally:
            done.set()

    writers = [asyncio.create_task(writer(task)) for task in range(8)]
    report = await asyncio.to_thread(rotation)
    await asyncio.gather(*writers)

    new_id = vault.provider.key_id
    assert new_id != old_id
    assert saves_during >= 40
    assert report.complete, report
    assert vault.key_usage() == {new_id: len(last)}
    for connection_id, value in last.items():
        assert vault.get_json(connection_token_ref(connection_id)) == value
    assert verify(vault).healthy
    (path,) = keyring.retire(old_id, vault)
    assert not path.exists()
    assert old_id not in vault.provider.key_ids  # type: ignore[attr-defined]
    assert all(vault.get_json(connection_token_ref(cid)) == value for cid, value in last.items())


class Hooked:
    """A provider that runs ``hook`` once, just before its first wrap for ``ref``."""

    def __init__(self, inner: KeyProvider, ref: SecretRef, hook: Any) -> None:
        self._inner, self._ref, self._hook, self.fired = inner, ref, hook, False

    @property
    def key_id(self) -> str:
        return self._inner.key_id

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        if context == self._ref.aad() and not self.fired:
            self.fired = True
            self._hook()
        return self._inner.wrap(data_key, context)

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        return self._inner.unwrap(key_id, blob, context)


def test_a_row_saved_meanwhile_under_the_new_key_is_not_clobbered(engine: sa.Engine) -> None:
    old = LocalKeyProvider(secrets.token_bytes(32))
    vault = Vault(engine, old)
    vault.ensure_table()
    ref = connection_token_ref("c-1")
    vault.put(ref, b"before")
    new = LocalKeyProvider(secrets.token_bytes(32))
    writer = Vault(engine, new)  # a sync that already uses the new key
    target = Hooked(new, ref, lambda: writer.put(ref, b"saved during rotation"))

    report = rotate(vault, target)

    assert target.fired
    assert report.saved_meanwhile == 1
    assert report.rewrapped == 0
    assert report.complete
    assert writer.get(ref) == b"saved during rotation"


def test_a_row_saved_meanwhile_under_the_old_key_is_rewrapped_not_clobbered(
    engine: sa.Engine,
) -> None:
    old = LocalKeyProvider(secrets.token_bytes(32))
    vault = Vault(engine, old)
    vault.ensure_table()
    ref = connection_token_ref("c-1")
    vault.put(ref, b"before")
    new = LocalKeyProvider(secrets.token_bytes(32), [secrets.token_bytes(32)])
    stale_writer = Vault(engine, old)  # a process that has not seen the new key yet
    target = Hooked(new, ref, lambda: stale_writer.put(ref, b"saved by a stale process"))

    report = rotate(vault, target)

    assert report.rewrapped == 1
    assert report.complete
    assert rows(engine)[ref].key_id == new.key_id
    assert Vault(engine, new.with_older()).get(ref) == b"saved by a stale process"


def test_a_row_deleted_meanwhile_is_counted_not_recreated(engine: sa.Engine) -> None:
    old = LocalKeyProvider(secrets.token_bytes(32))
    vault = Vault(engine, old)
    vault.ensure_table()
    ref, other = connection_token_ref("c-1"), connection_token_ref("c-2")
    vault.put(ref, b"x")
    vault.put(other, b"y")
    new = LocalKeyProvider(secrets.token_bytes(32))
    target = Hooked(new, ref, lambda: vault.delete(ref))

    report = rotate(vault, target)

    assert report.vanished == 1
    assert report.rewrapped == 1
    assert vault.refs() == [other]


def test_rows_left_under_an_old_key_are_swept(engine: sa.Engine) -> None:
    """A stale process inserts a new row under the old key after the first pass listed rows."""
    old = LocalKeyProvider(secrets.token_bytes(32))
    vault = Vault(engine, old)
    vault.ensure_table()
    first, late = connection_token_ref("c-1"), connection_token_ref("c-late")
    vault.put(first, b"x")
    new = LocalKeyProvider(secrets.token_bytes(32))
    target = Hooked(new, first, lambda: vault.put(late, b"late"))

    report = rotate(vault, target)

    assert report.passes == 2
    assert report.rewrapped == 2
    assert set(vault.key_usage()) == {new.key_id}
    assert Vault(engine, new).get(late) == b"late"


def test_a_damaged_row_is_reported_and_left_alone(
    keyring_vault: Vault, keyring: Keyring, engine: sa.Engine
) -> None:
    good, bad = connection_token_ref("c-good"), connection_token_ref("c-bad")
    keyring_vault.put_json(good, token(1))
    keyring_vault.put_json(bad, token(2))
    old_id = keyring_vault.provider.key_id
    flip_ciphertext(engine, bad)
    before = rows(engine)[bad]

    keyring.rotate_key()
    report = rotate(keyring_vault, keyring_vault.provider)

    assert not report.complete
    assert report.rewrapped == 1
    (failure,) = report.failures
    assert failure.ref == bad
    assert failure.key_id == old_id
    assert "VaultDecryptError" in failure.reason
    assert rows(engine)[bad] == before
    assert keyring_vault.get_json(good)["n"] == 1


def test_only_stale_skips_rows_already_under_the_target(
    keyring_vault: Vault, keyring: Keyring
) -> None:
    keyring_vault.put(connection_token_ref("old"), b"1")
    keyring.rotate_key()
    keyring_vault.put(connection_token_ref("new"), b"2")
    report = rotate(keyring_vault, keyring_vault.provider, only_stale=True)
    assert report.rows == 1
    assert report.rewrapped == 1
    assert report.complete


def test_an_unavailable_provider_stops_the_rotation(engine: sa.Engine) -> None:
    old = LocalKeyProvider(secrets.token_bytes(32))
    vault = Vault(engine, old)
    vault.ensure_table()
    vault.put(connection_token_ref("c-1"), b"x")

    class Down:
        key_id = "aws-kms:arn:aws:kms:eu-west-1:111122223333:key/down"

        def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
            raise KeyProviderUnavailable("cannot wrap: AWS KMS answered ThrottlingException")

        def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
            raise UnknownKeyError("not ours")

    with pytest.raises(KeyProviderUnavailable):
        rotate(vault, Down())
    assert vault.get(connection_token_ref("c-1")) == b"x"
    assert set(vault.key_usage()) == {old.key_id}


def test_verify_lists_the_tampered_and_moved_rows(keyring_vault: Vault, engine: sa.Engine) -> None:
    values = {connection_token_ref(f"c-{i}"): token(i) for i in range(5)}
    for ref, value in values.items():
        keyring_vault.put_json(ref, value)
    tampered, moved_to = connection_token_ref("c-1"), connection_token_ref("c-3")
    flip_ciphertext(engine, tampered)
    source = rows(engine)[connection_token_ref("c-4")]
    t = vault_secrets_table()
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.owner_id == "c-3")
            .values(
                key_id=source.key_id,
                wrapped_key=source.wrapped_key,
                nonce=source.nonce,
                ciphertext=source.ciphertext,
            )
        )

    report = verify(keyring_vault)

    assert report.rows == 5
    assert report.opened == 3
    assert not report.healthy
    assert {f.ref for f in report.failures} == {tampered, moved_to}
    assert report.by_key == {keyring_vault.provider.key_id: 5}
    text = " ".join(str(f) for f in report.failures)
    assert "connection/c-1/oauth_token" in text
    for value in values.values():
        assert value["access_token"] not in text
        assert value["refresh_token"] not in text


def test_verify_names_a_row_whose_key_is_gone(
    keyring_vault: Vault, keyring: Keyring, home: Path
) -> None:
    ref = connection_token_ref("c-1")
    keyring_vault.put(ref, b"x")
    old_id = keyring_vault.provider.key_id
    keyring.rotate_key()
    (home / "keys" / (old_id.removeprefix("local:") + ".key")).unlink()
    (failure,) = verify(keyring_vault).failures
    assert failure.key_id == old_id
    assert "UnknownKeyError" in failure.reason


def test_verify_of_an_empty_vault(keyring_vault: Vault) -> None:
    report = verify(keyring_vault)
    assert report.healthy
    assert report.rows == 0
