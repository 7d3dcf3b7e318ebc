"""The local keyring: master.key stays the current key, rotation files the old one under keys/."""

from __future__ import annotations

import base64
import secrets
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from vault.errors import KeyInUseError, MasterKeyError, UnknownKeyError
from vault.keyring import Keyring, KeyringProvider
from vault.keys import LocalKeyProvider, local_key_id
from vault.store import SecretRef, Vault

REF = SecretRef("connection", "conn-1", "oauth_token")
TOKEN = b'{"access_token":"Atza|keyringACCESS0123","refresh_token":"Atzr|keyringREFRESH0123"}'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_fresh_home_gets_the_same_key_as_before_rotation_existed(home: Path) -> None:
    provider = KeyringProvider(Keyring(home, environ={}))
    assert (home / "master.key").exists()
    assert provider.key_id == LocalKeyProvider.load(home, environ={}).key_id
    assert not (home / "keys").exists()


def test_an_existing_master_key_home_keeps_opening_its_rows(
    home: Path, sqlite_engine: sa.Engine
) -> None:
    before = Vault(sqlite_engine, LocalKeyProvider.load(home, environ={}))
    before.ensure_table()
    before.put(REF, TOKEN)
    after = Vault(sqlite_engine, KeyringProvider(Keyring(home, environ={})))
    assert after.get(REF) == TOKEN


def test_rotate_key_files_the_old_key_and_replaces_master_key(home: Path) -> None:
    keyring = Keyring(home, environ={})
    old_id = KeyringProvider(keyring).key_id
    old_text = (home / "master.key").read_text()

    new_id = keyring.rotate_key()

    assert new_id != old_id
    retired = home / "keys" / (old_id.removeprefix("local:") + ".key")
    assert retired.read_text() == old_text
    assert mode(retired) == 0o600
    assert mode(home / "keys") == 0o700
    assert mode(home / "master.key") == 0o600
    current = base64.b64decode((home / "master.key").read_text().strip())
    assert local_key_id(current) == new_id
    # the old API now sees the new key as current: existing callers need no change
    assert LocalKeyProvider.load(home, environ={}).key_id == new_id
    assert [(k.key_id, k.current) for k in keyring.list_keys()] == [(new_id, True), (old_id, False)]
    assert sorted(p.name for p in (home / "keys").iterdir() if not p.name.startswith(".")) == [
        retired.name
    ]


def test_a_running_provider_follows_the_rotation(home: Path) -> None:
    """Another process's provider (same files, own objects) wraps under the new key at once."""
    provider = KeyringProvider(Keyring(home, environ={}))
    context = b"sellerhub/v1|connection|c|oauth_token"
    data_key = secrets.token_bytes(32)
    before = provider.wrap(data_key, context)

    new_id = Keyring(home, environ={}).rotate_key()

    after = provider.wrap(data_key, context)
    assert after.key_id == new_id != before.key_id
    assert provider.key_id == new_id
    assert provider.unwrap(before.key_id, before.blob, context) == data_key
    assert provider.unwrap(after.key_id, after.blob, context) == data_key


def test_rotation_twice_keeps_both_old_keys(home: Path) -> None:
    keyring = Keyring(home, environ={})
    first = KeyringProvider(keyring).key_id
    second = keyring.rotate_key()
    third = keyring.rotate_key()
    provider = keyring.provider()
    assert provider.key_id == third
    assert set(provider.key_ids) == {first, second, third}


def test_rotation_is_refused_for_a_key_from_the_environment(home: Path) -> None:
    key_text = base64.b64encode(secrets.token_bytes(32)).decode()
    keyring = Keyring(home, environ={"SELLERHUB_MASTER_KEY": key_text})
    with pytest.raises(MasterKeyError) as info:
        keyring.rotate_key()
    assert "SELLERHUB_MASTER_KEY" in str(info.value)
    assert key_text not in str(info.value)
    assert not (home / "master.key").exists()


def test_env_current_key_still_reads_retired_keys(home: Path) -> None:
    file_keyring = Keyring(home, environ={})
    old_id = KeyringProvider(file_keyring).key_id
    file_keyring.rotate_key()
    env_key = secrets.token_bytes(32)
    env_keyring = Keyring(
        home, environ={"SELLERHUB_MASTER_KEY": base64.b64encode(env_key).decode()}
    )
    provider = env_keyring.provider()
    assert provider.key_id == local_key_id(env_key)
    assert provider.holds(old_id)


def test_retire_refuses_the_current_key_and_keys_in_use(keyring_vault: Vault, home: Path) -> None:
    keyring = Keyring(home, environ={})
    old_id = keyring_vault.provider.key_id
    keyring_vault.put(REF, TOKEN)
    with pytest.raises(KeyInUseError, match="current"):
        keyring.retire(old_id, keyring_vault)

    new_id = keyring.rotate_key()
    with pytest.raises(KeyInUseError) as info:
        keyring.retire(old_id, keyring_vault)
    assert "1 row" in str(info.value)
    assert (home / "keys" / (old_id.removeprefix("local:") + ".key")).exists()
    assert keyring_vault.get(REF) == TOKEN
    with pytest.raises(KeyInUseError, match="current"):
        keyring.retire(new_id, keyring_vault)


def test_retire_removes_an_unused_key_for_good(keyring_vault: Vault, home: Path) -> None:
    keyring = Keyring(home, environ={})
    old_id = keyring_vault.provider.key_id
    keyring.rotate_key()
    keyring_vault.put(REF, TOKEN)  # sealed under the new key
    (path,) = keyring.retire(old_id, keyring_vault)
    assert path.name == old_id.removeprefix("local:") + ".key"
    assert not path.exists()
    assert old_id not in Keyring(home, environ={}).provider().key_ids
    assert keyring_vault.get(REF) == TOKEN
    with pytest.raises(MasterKeyError, match="no local key"):
        keyring.retire(old_id, keyring_vault)


def test_a_row_under_a_removed_key_says_so(keyring_vault: Vault, home: Path) -> None:
    keyring = Keyring(home, environ={})
    keyring_vault.put(REF, TOKEN)
    old_id = keyring_vault.provider.key_id
    keyring.rotate_key()
    (home / "keys" / (old_id.removeprefix("local:") + ".key")).unlink()  # behind our back
    with pytest.raises(UnknownKeyError) as info:
        keyring_vault.get(REF)
    assert old_id in str(info.value)


@pytest.mark.parametrize("bad", ["../master", "local:../../x", "local:ABCDEF0123456789", "kms:1"])
def test_retire_refuses_malformed_ids(keyring_vault: Vault, home: Path, bad: str) -> None:
    with pytest.raises(MasterKeyError, match="not a local key id"):
        Keyring(home, environ={}).retire(bad, keyring_vault)
    assert (home / "master.key").exists()


def test_a_retired_key_file_must_match_its_name(home: Path) -> None:
    keyring = Keyring(home, environ={})
    KeyringProvider(keyring)
    keyring.rotate_key()
    (retired,) = [p for p in (home / "keys").iterdir() if not p.name.startswith(".")]
    retired.rename(retired.with_name("0123456789abcdef.key"))
    with pytest.raises(MasterKeyError, match="not the key its name says"):
        keyring.provider()


def test_a_readable_retired_key_file_is_refused(home: Path) -> None:
    keyring = Keyring(home, environ={})
    KeyringProvider(keyring)
    keyring.rotate_key()
    (retired,) = [p for p in (home / "keys").iterdir() if not p.name.startswith(".")]
    retired.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        keyring.provider()


def test_unwrap_only_provider(home: Path) -> None:
    keyring = Keyring(home, environ={})
    assert keyring.unwrap_only_provider() is None
    assert not keyring.exists()
    assert not (home / "master.key").exists()  # looking creates nothing
    first = KeyringProvider(keyring).key_id
    second = keyring.rotate_key()
    provider = keyring.unwrap_only_provider()
    assert provider is not None
    assert set(provider.key_ids) == {first, second}


def test_provider_repr_has_no_key_material(home: Path) -> None:
    provider = KeyringProvider(Keyring(home, environ={}))
    key_text = (home / "master.key").read_text().strip()
    assert key_text not in repr(provider)
    assert provider.key_id in repr(provider)


def test_the_current_key_retires_only_when_asked_and_unused(
    keyring_vault: Vault, home: Path
) -> None:
    """After a move to KMS or transit the home's master.key is an old key like any other."""
    keyring = Keyring(home, environ={})
    current = keyring_vault.provider.key_id
    keyring_vault.put(REF, TOKEN)
    with pytest.raises(KeyInUseError, match="1 row"):
        keyring.retire(current, keyring_vault, current_too=True)
    keyring_vault.delete(REF)
    assert keyring.retire(current, keyring_vault, current_too=True) == [home / "master.key"]
    assert not (home / "master.key").exists()
    assert not keyring.exists()


def test_a_current_key_from_the_environment_is_not_retired(
    keyring_vault: Vault, home: Path
) -> None:
    key = secrets.token_bytes(32)
    keyring = Keyring(home, environ={"SELLERHUB_MASTER_KEY": base64.b64encode(key).decode()})
    with pytest.raises(KeyInUseError, match="SELLERHUB_MASTER_KEY"):
        keyring.retire(local_key_id(key), keyring_vault, current_too=True)
