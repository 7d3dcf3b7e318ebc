"""Key providers: they wrap (encrypt) and unwrap the per-secret data keys.

A provider holds one *current* key, used for every new wrap, and may hold older keys by id so
that data keys wrapped before a rotation still unwrap. Cloud providers (``vault.aws_kms``,
``vault.transit``) implement the same :class:`KeyProvider` protocol; ``vault.config`` picks one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import MasterKeyError, UnknownKeyError, VaultDecryptError

MASTER_KEY_ENV = "SELLERHUB_MASTER_KEY"
MASTER_KEY_FILENAME = "master.key"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96-bit GCM nonce
_WRAP_AAD_PREFIX = b"sellerhub/vault/wrap/v1|"


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the provider's key ``key_id``."""

    key_id: str
    blob: bytes


class KeyProvider(Protocol):
    """Wraps and unwraps data keys. ``context`` is bound to the wrap and must match on unwrap."""

    @property
    def key_id(self) -> str:
        """The id of the key used for new wraps."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey: ...

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        """Return the data key; raise ``UnknownKeyError`` or ``VaultDecryptError`` on failure."""
        ...


def local_key_id(key: bytes) -> str:
    """``local:`` + the first 16 hex digits of SHA-256(key): names a key without revealing it."""
    return "local:" + hashlib.sha256(key).hexdigest()[:16]


def generate_master_key() -> str:
    """A fresh random master key, base64-encoded (the format of the env var and the key file)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_master_key(text: str, source: str) -> bytes:
    """Decode base64 (standard or URL-safe) text to exactly 32 bytes.

    ``source`` names where the text came from; error messages name it and never echo the text.
    """
    stripped = text.strip()
    if not stripped:
        raise MasterKeyError(f"{source} is empty; it must hold a base64-encoded 32-byte key")
    normalized = stripped.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(
            f"{source} is not valid base64; it must hold a base64-encoded 32-byte key"
        ) from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(
            f"{source} decodes to {len(key)} bytes; the master key must be exactly "
            f"{KEY_BYTES} bytes (generate one with: python -c 'import base64,os;"
            f"print(base64.b64encode(os.urandom(32)).decode())')"
        )
    return key


def read_key_file(path: Path) -> bytes:
    """Read a master key file, refusing one that group or others can access."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise MasterKeyError(f"master key file {path} does not exist") from None
    except PermissionError:
        raise MasterKeyError(f"master key file {path} is not readable by this user") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise MasterKeyError(f"master key file {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise MasterKeyError(
                f"master key file {path} is accessible by group or others "
                f"(mode {mode:04o}); refusing to use it. Restrict it with: chmod 600 {path}"
            )
        raw = handle.read()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MasterKeyError(
            f"master key file {path} is not base64 text; it must hold a base64-encoded "
            f"{KEY_BYTES}-byte key"
        ) from None
    return decode_master_key(text, f"master key file {path}")


def create_key_file(path: Path) -> bytes:
    """Create ``path`` with a new random key, mode 0600, atomically; return the key in force.

    If another process created the file first, its key is used.
    """
    key = secrets.token_bytes(KEY_BYTES)
    if write_key_file(path, key):
        return key
    return read_key_file(path)


def write_key_file(path: Path, key: bytes) -> bool:
    """Write ``key`` to a new file ``path`` (mode 0600); False if ``path`` already exists.

    The key is written to a private temporary file, then hard-linked into place: the final name
    appears complete or not at all, and an existing file is never overwritten.
    """
    tmp = _private_temp(path, key)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        _fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def replace_key_file(path: Path, key: bytes) -> None:
    """Atomically replace ``path`` with a file (mode 0600) holding ``key``."""
    tmp = _private_temp(path, key)
    try:
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _private_temp(path: Path, key: bytes) -> Path:
    """A fsynced 0600 temporary file beside ``path`` holding ``key`` in base64."""
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"a master key must be exactly {KEY_BYTES} bytes")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # the umask may have narrowed it; never widened
            handle.write(base64.b64encode(key) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalKeyProvider:
    """Wraps data keys with AES-256-GCM under a local 32-byte master key.

    Holds the current key plus any older keys (by id) for unwrapping after a rotation.
    A wrapped blob is ``nonce (12 bytes) || ciphertext+tag``; its associated data binds the key
    id and the caller's context, so a blob only unwraps for the row it was made for.
    """

    __slots__ = ("_current_id", "_keys")

    def __init__(self, current: bytes, older: Iterable[bytes] = ()) -> None:
        keys: dict[str, bytes] = {}
        for key in (current, *older):
            if len(key) != KEY_BYTES:
                raise MasterKeyError(f"a master key must be exactly {KEY_BYTES} bytes")
            keys.setdefault(local_key_id(key), bytes(key))
        self._current_id = local_key_id(current)
        self._keys = keys

    def __repr__(self) -> str:
        return f"LocalKeyProvider(key_id={self._current_id!r}, key_ids={self.key_ids!r})"

    @property
    def key_id(self) -> str:
        return self._current_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id this provider can unwrap, current first."""
        return (self._current_id, *(k for k in self._keys if k != self._current_id))

    def holds(self, key_id: str) -> bool:
        return key_id in self._keys

    def with_older(self, *older: bytes) -> LocalKeyProvider:
        """A provider with the same current key that can also unwrap under ``older`` keys."""
        rest = [key for kid, key in self._keys.items() if kid != self._current_id]
        return LocalKeyProvider(self._keys[self._current_id], [*rest, *older])

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key must be exactly {KEY_BYTES} bytes")
        nonce = os.urandom(NONCE_BYTES)
        aead = AESGCM(self._keys[self._current_id])
        sealed = aead.encrypt(nonce, data_key, _wrap_aad(self._current_id, context))
        return WrappedKey(key_id=self._current_id, blob=nonce + sealed)

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyError(
                f"data key was wrapped under key {key_id!r}, which this provider does not hold "
                f"(it holds {', '.join(self.key_ids)}); the master key differs from the one "
                f"that sealed it, or the key id was altered"
            )
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        try:
            data_key = AESGCM(key).decrypt(nonce, sealed, _wrap_aad(key_id, context))
        except (InvalidTag, ValueError):
            raise VaultDecryptError(
                f"data key did not unwrap under key {key_id!r}: the wrapped key or its "
                f"context (row identity) does not match"
            ) from None
        if len(data_key) != KEY_BYTES:
            raise VaultDecryptError("unwrapped data key has the wrong length")
        return data_key

    @classmethod
    def from_env(
        cls,
        env_var: str = MASTER_KEY_ENV,
        *,
        environ: Mapping[str, str] | None = None,
        older: Iterable[bytes] = (),
    ) -> LocalKeyProvider | None:
        """The provider for the key in ``env_var``, or None when the variable is not set."""
        env = os.environ if environ is None else environ
        text = env.get(env_var)
        if text is None:
            return None
        return cls(decode_master_key(text, f"environment variable {env_var}"), older)

    @classmethod
    def from_file(
        cls, path: Path, *, create: bool = True, older: Iterable[bytes] = ()
    ) -> LocalKeyProvider:
        """The provider for the key in ``path``, created (mode 0600) on first use if allowed."""
        if create and not path.exists():
            return cls(create_key_file(path), older)
        return cls(read_key_file(path), older)

    @classmethod
    def load(
        cls,
        home: Path,
        *,
        env_var: str = MASTER_KEY_ENV,
        environ: Mapping[str, str] | None = None,
        older: Iterable[bytes] = (),
    ) -> LocalKeyProvider:
        """The key in ``env_var`` if set, else in ``<home>/master.key`` (created if absent)."""
        provider = cls.from_env(env_var, environ=environ, older=older)
        if provider is not None:
            return provider
        return cls.from_file(home / MASTER_KEY_FILENAME, older=older)


def _wrap_aad(key_id: str, context: bytes) -> bytes:
    return _WRAP_AAD_PREFIX + key_id.encode("utf-8") + b"|" + context
