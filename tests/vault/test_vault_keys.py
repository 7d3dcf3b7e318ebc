"""Master key loading: env var, key file (0600, atomic, permission checks), key ids."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
import threading
from pathlib import Path

import pytest

from vault.errors import MasterKeyError
from vault.keys import LocalKeyProvider

ENV = "SELLERHUB_MASTER_KEY"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    home = tmp_path / "home"
    provider = LocalKeyProvider.load(home, environ={})
    key_file = home / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = base64.b64decode(key_file.read_text().strip(), validate=True)
    assert len(key) == 32
    assert provider.key_id == "local:" + hashlib.sha256(key).hexdigest()[:16]
    # no temporary files are left beside it
    assert [p.name for p in home.iterdir()] == ["master.key"]


def test_key_file_is_reused_not_regenerated(tmp_path: Path) -> None:
    first = LocalKeyProvider.load(tmp_path, environ={})
    second = LocalKeyProvider.load(tmp_path, environ={})
    assert first.key_id == second.key_id


def test_key_file_mode_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        LocalKeyProvider.load(tmp_path, environ={})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def load() -> None:
        barrier.wait()
        ids.append(LocalKeyProvider.load(tmp_path, environ={}).key_id)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 8
    assert len(set(ids)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_group_or_world_readable_key_file_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "master.key"
    key_text = b64(secrets.token_bytes(32))
    key_file.write_text(key_text + "\n")
    key_file.chmod(mode)
    with pytest.raises(MasterKeyError) as info:
        LocalKeyProvider.load(tmp_path, environ={})
    message = str(info.value)
    assert f"{mode:04o}" in message
    assert "chmod 600" in message
    assert key_text not in message


def test_existing_private_key_file_is_used(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    key_file = tmp_path / "master.key"
    key_file.write_text(b64(key))
    key_file.chmod(0o600)
    assert LocalKeyProvider.load(tmp_path, environ={}).key_id == LocalKeyProvider(key).key_id


def test_key_file_with_wrong_length_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(b64(b"x" * 31))
    key_file.chmod(0o600)
    with pytest.raises(MasterKeyError, match="31 bytes"):
        LocalKeyProvider.load(tmp_path, environ={})


def test_env_key_takes_precedence_and_creates_no_file(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    provider = LocalKeyProvider.load(tmp_path, environ={ENV: b64(key)})
    assert provider.key_id == LocalKeyProvider(key).key_id
    assert not (tmp_path / "master.key").exists()


def test_env_var_name_is_a_parameter(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    provider = LocalKeyProvider.load(tmp_path, env_var="OTHER_KEY", environ={"OTHER_KEY": b64(key)})
    assert provider.key_id == LocalKeyProvider(key).key_id


def test_env_key_accepts_urlsafe_base64(tmp_path: Path) -> None:
    key = bytes([0xFB, 0xFF]) * 16  # encodes with '+' and '/' in standard base64
    urlsafe = base64.urlsafe_b64encode(key).decode()
    assert "-" in urlsafe or "_" in urlsafe
    provider = LocalKeyProvider.load(tmp_path, environ={ENV: urlsafe})
    assert provider.key_id == LocalKeyProvider(key).key_id


@pytest.mark.parametrize("length", [16, 31, 33, 64])
def test_env_key_of_wrong_length_is_refused_without_echoing_it(tmp_path: Path, length: int) -> None:
    bad = b64(secrets.token_bytes(length))
    with pytest.raises(MasterKeyError) as info:
        LocalKeyProvider.load(tmp_path, environ={ENV: bad})
    message = str(info.value)
    assert ENV in message
    assert f"{length} bytes" in message
    assert "32 bytes" in message
    assert bad not in message
    assert bad[:8] not in message
    assert not (tmp_path / "master.key").exists()


def test_env_key_that_is_not_base64_is_refused_without_echoing_it(tmp_path: Path) -> None:
    bad = "not*base64*at*all!" + secrets.token_hex(8)
    with pytest.raises(MasterKeyError) as info:
        LocalKeyProvider.load(tmp_path, environ={ENV: bad})
    assert "base64" in str(info.value)
    assert bad not in str(info.value)
    assert info.value.__cause__ is None


def test_empty_env_key_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="empty"):
        LocalKeyProvider.load(tmp_path, environ={ENV: "  "})


def test_provider_repr_shows_key_ids_only(master_key: bytes) -> None:
    provider = LocalKeyProvider(master_key)
    text = repr(provider)
    assert provider.key_id in text
    assert b64(master_key) not in text
    assert master_key.hex() not in text
    assert repr(master_key) not in text


def test_provider_holds_older_keys_current_first() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    provider = LocalKeyProvider(new, [old])
    old_id, new_id = LocalKeyProvider(old).key_id, LocalKeyProvider(new).key_id
    assert provider.key_id == new_id
    assert provider.key_ids == (new_id, old_id)
    assert provider.holds(old_id)
    assert LocalKeyProvider(new).with_older(old).key_ids == (new_id, old_id)


def test_provider_refuses_keys_of_wrong_length() -> None:
    with pytest.raises(MasterKeyError):
        LocalKeyProvider(b"short")
    with pytest.raises(MasterKeyError):
        LocalKeyProvider(secrets.token_bytes(32), [b"short"])
