"""Local master keys of one home: the current key and the retired ones kept for unwrapping.

Layout (all files mode 0600, the folder 0700)::

    <home>/master.key          the current key (as before rotation existed: old homes work)
    <home>/keys/<hex>.key      a retired key, named by its id (``local:<hex>``)

``rotate_key`` files the current key under ``keys/`` first, then atomically replaces
``master.key`` with a new key, so at every instant each key is on disk at least once.
:class:`KeyringProvider` notices the switch (it compares the files' ``stat``), so syncs running
in other processes wrap under the new key from their next save on. A retired key is deleted by
``retire`` once no row is wrapped under it.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vault.errors import KeyInUseError, MasterKeyError
from vault.keys import (
    KEY_BYTES,
    MASTER_KEY_ENV,
    MASTER_KEY_FILENAME,
    LocalKeyProvider,
    WrappedKey,
    create_key_file,
    decode_master_key,
    local_key_id,
    read_key_file,
    replace_key_file,
    write_key_file,
)

if TYPE_CHECKING:
    from vault.store import Vault

KEYS_DIRNAME = "keys"
KEY_FILE_SUFFIX = ".key"
_LOCK_FILENAME = ".lock"
_LOCAL_ID = re.compile(r"local:([0-9a-f]{16})")

_Signature = tuple[tuple[int, int, int] | None, tuple[int, int] | None]


@dataclass(frozen=True)
class LocalKey:
    """One local key as the keyring knows it (never the key bytes)."""

    key_id: str
    current: bool
    source: str  # a file path or the environment variable's name


class Keyring:
    """The local keys of ``home``. The current key comes from ``env_var`` if it is set."""

    def __init__(
        self,
        home: Path,
        *,
        env_var: str = MASTER_KEY_ENV,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._home = home
        self._env_var = env_var
        self._environ = os.environ if environ is None else environ

    def __repr__(self) -> str:
        return f"Keyring(home={str(self._home)!r})"

    @property
    def master_path(self) -> Path:
        return self._home / MASTER_KEY_FILENAME

    @property
    def keys_dir(self) -> Path:
        return self._home / KEYS_DIRNAME

    @property
    def from_environment(self) -> bool:
        """True when the current key is given by the environment variable, not the file."""
        return self._env_var in self._environ

    def exists(self) -> bool:
        """True if this home has any local key (current or retired)."""
        return self.from_environment or self.master_path.exists() or bool(self._retired_paths())

    # ------------------------------------------------------------------ reading

    def current_key(self, *, create: bool = True) -> bytes:
        """The current key; ``master.key`` is created (0600) on first use if ``create``."""
        text = self._environ.get(self._env_var)
        if text is not None:
            return decode_master_key(text, f"environment variable {self._env_var}")
        if create and not self.master_path.exists():
            return create_key_file(self.master_path)
        return read_key_file(self.master_path)

    def retired_keys(self) -> dict[str, bytes]:
        """The retired keys by id; a file whose content does not match its name is refused."""
        keys: dict[str, bytes] = {}
        for path in self._retired_paths():
            try:
                key = read_key_file(path)
            except MasterKeyError:
                if not path.exists():  # retired by another process meanwhile
                    continue
                raise
            key_id = local_key_id(key)
            if path.name != _filename(key_id):
                raise MasterKeyError(
                    f"key file {path} holds key {key_id!r}, not the key its name says; "
                    f"rename it to {_filename(key_id)}"
                )
            keys[key_id] = key
        return keys

    def provider(self, *, create: bool = True) -> LocalKeyProvider:
        """A snapshot provider: the current key plus every retired key."""
        current = self.current_key(create=create)
        return LocalKeyProvider(current, self.retired_keys().values())

    def unwrap_only_provider(self) -> LocalKeyProvider | None:
        """A provider holding every local key found, or None if there is none.

        For a home that moved to another provider: rows still wrapped locally open with it.
        """
        keys = list(self.retired_keys().values())
        if self.from_environment or self.master_path.exists():
            keys.insert(0, self.current_key(create=False))
        if not keys:
            return None
        return LocalKeyProvider(keys[0], keys[1:])

    def list_keys(self) -> list[LocalKey]:
        """The current key first, then the retired ones by id."""
        listed: list[LocalKey] = []
        current_id: str | None = None
        if self.from_environment or self.master_path.exists():
            current_id = local_key_id(self.current_key(create=False))
            source = self._env_var if self.from_environment else str(self.master_path)
            listed.append(LocalKey(current_id, True, source))
        for key_id in sorted(self.retired_keys()):
            if key_id != current_id:
                listed.append(LocalKey(key_id, False, str(self._retired_path(key_id))))
        return listed

    def signature(self) -> _Signature:
        """Changes whenever ``master.key`` is replaced or a retired key is added or removed."""
        return (_stat_master(self.master_path), _stat_dir(self.keys_dir))

    # ------------------------------------------------------------------ changing

    def rotate_key(self) -> str:
        """Make a new random key current, keeping the old one as retired; return the new id."""
        if self.from_environment:
            raise MasterKeyError(
                f"the current master key comes from the environment variable {self._env_var}; "
                f"rotating it is not done here. Unset it to use the key file in the home "
                f"({self.master_path}), or rotate to another key provider"
            )
        with self._locked():
            old = self.current_key(create=True)
            target = self._retired_path(local_key_id(old))
            if not write_key_file(target, old) and local_key_id(read_key_file(target)) != (
                local_key_id(old)
            ):
                raise MasterKeyError(f"key file {target} does not hold the key its name says")
            new = secrets.token_bytes(KEY_BYTES)
            replace_key_file(self.master_path, new)
            return local_key_id(new)

    def retire(self, key_id: str, vault: Vault, *, current_too: bool = False) -> list[Path]:
        """Delete the local key ``key_id``; refused while any row is wrapped under it.

        The current key (``master.key``) is refused too, unless ``current_too``: for a home
        whose secrets moved to another provider (KMS, transit), the local key is then unused.
        Returns the files removed.
        """
        if _LOCAL_ID.fullmatch(key_id) is None:
            raise MasterKeyError(
                f"{key_id!r} is not a local key id (they look like local:0123456789abcdef)"
            )
        with self._locked():
            paths = [p for p in (self._retired_path(key_id),) if p.exists()]
            has_current = self.from_environment or self.master_path.exists()
            if has_current and local_key_id(self.current_key(create=False)) == key_id:
                if not current_too:
                    raise KeyInUseError(
                        f"key {key_id} is the current key; rotate first (sellerhub vault rotate)"
                    )
                if self.from_environment:
                    raise KeyInUseError(
                        f"key {key_id} comes from the environment variable {self._env_var}; "
                        f"unset it instead"
                    )
                paths.append(self.master_path)
            if not paths:
                raise MasterKeyError(f"no local key {key_id} in {self._home}")
            in_use = vault.key_usage().get(key_id, 0)
            if in_use:
                raise KeyInUseError(
                    f"key {key_id} still wraps the data keys of {in_use} row(s); move them to "
                    f"the current key first (sellerhub vault rotate --rewrap-only --only-stale)"
                )
            for path in paths:
                path.unlink()
                _fsync_dir(path.parent)
            return paths

    # ------------------------------------------------------------------ helpers

    def _retired_path(self, key_id: str) -> Path:
        return self.keys_dir / _filename(key_id)

    def _retired_paths(self) -> list[Path]:
        if not self.keys_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.keys_dir.iterdir()
            if p.name.endswith(KEY_FILE_SUFFIX) and not p.name.startswith(".")
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One key change at a time per home, across processes."""
        self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.keys_dir / _LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class KeyringProvider:
    """The :class:`~vault.keys.KeyProvider` of a keyring, following its changes.

    Each call compares the key files' ``stat`` with the last load and reloads on a change, so a
    long-running process wraps under the new key as soon as ``rotate_key`` has switched it.
    """

    def __init__(self, keyring: Keyring, *, create: bool = True) -> None:
        self._keyring = keyring
        self._lock = threading.Lock()
        with self._lock:
            self._signature = keyring.signature()
            self._snapshot = keyring.provider(create=create)
            if create:  # creating master.key changed the signature
                self._signature = keyring.signature()

    def __repr__(self) -> str:
        return f"KeyringProvider(key_id={self.key_id!r}, key_ids={self.key_ids!r})"

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def key_id(self) -> str:
        return self._current().key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        return self._current().key_ids

    def holds(self, key_id: str) -> bool:
        return self._current().holds(key_id)

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        return self._current().wrap(data_key, context)

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        return self._current().unwrap(key_id, blob, context)

    def _current(self) -> LocalKeyProvider:
        signature = self._keyring.signature()
        if signature == self._signature:
            return self._snapshot
        with self._lock:
            if signature != self._signature:
                self._snapshot = self._keyring.provider(create=False)
                self._signature = signature
            return self._snapshot


def _filename(key_id: str) -> str:
    match = _LOCAL_ID.fullmatch(key_id)
    if match is None:
        raise MasterKeyError(f"{key_id!r} is not a local key id")
    return match.group(1) + KEY_FILE_SUFFIX


def _stat_master(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _stat_dir(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
