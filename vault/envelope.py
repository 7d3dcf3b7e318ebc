"""Envelope encryption: a fresh AES-256-GCM data key per secret, wrapped by a key provider.

The associated data (AAD) is the row's identity. It authenticates the ciphertext and is the
context of the data-key wrap, so a sealed value copied to another row does not open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault.errors import UnknownKeyError, VaultDecryptError
from vault.keys import KEY_BYTES, NONCE_BYTES, KeyProvider, WrappedKey


@dataclass(frozen=True)
class Sealed:
    """What is stored for one secret. None of it reveals the plaintext without the provider."""

    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return (
            f"Sealed(key_id={self.key_id!r}, wrapped_key=<{len(self.wrapped_key)} bytes>, "
            f"nonce=<{len(self.nonce)} bytes>, ciphertext=<{len(self.ciphertext)} bytes>)"
        )


def seal(plaintext: bytes, aad: bytes, provider: KeyProvider) -> Sealed:
    """Encrypt ``plaintext`` under a new data key, bound to ``aad`` (the row identity)."""
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    wrapped = provider.wrap(data_key, aad)
    return Sealed(
        key_id=wrapped.key_id, wrapped_key=wrapped.blob, nonce=nonce, ciphertext=ciphertext
    )


def open_sealed(sealed: Sealed, aad: bytes, provider: KeyProvider) -> bytes:
    """Decrypt ``sealed`` for the row ``aad``; any mismatch raises ``VaultDecryptError``.

    Messages name the row (the AAD, which is an identity, not a secret) and the key id only.
    """
    data_key = _unwrap(sealed, aad, provider)
    return _decrypt(sealed, aad, data_key)


def rewrap(sealed: Sealed, aad: bytes, opener: KeyProvider, target: KeyProvider) -> WrappedKey:
    """The data key of ``sealed`` wrapped anew by ``target`` (the ciphertext stays as it is).

    The data key is unwrapped by ``opener`` and must open the ciphertext first, so a damaged
    row fails here (``VaultDecryptError``) instead of being re-wrapped as if it were sound.
    """
    data_key = _unwrap(sealed, aad, opener)
    _decrypt(sealed, aad, data_key)
    return target.wrap(data_key, aad)


def _unwrap(sealed: Sealed, aad: bytes, provider: KeyProvider) -> bytes:
    row = _describe(aad)
    try:
        data_key = provider.unwrap(sealed.key_id, sealed.wrapped_key, aad)
    except UnknownKeyError as exc:
        raise UnknownKeyError(f"cannot open secret {row}: {exc}") from None
    except VaultDecryptError as exc:
        raise VaultDecryptError(f"cannot open secret {row}: {exc}") from None
    if len(data_key) != KEY_BYTES:
        raise VaultDecryptError(f"cannot open secret {row}: the data key has the wrong length")
    return data_key


def _decrypt(sealed: Sealed, aad: bytes, data_key: bytes) -> bytes:
    row = _describe(aad)
    if len(sealed.nonce) != NONCE_BYTES:
        raise VaultDecryptError(f"cannot open secret {row}: the nonce has the wrong length")
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except (InvalidTag, ValueError):
        raise VaultDecryptError(
            f"cannot open secret {row}: the ciphertext or nonce was altered, or it belongs "
            f"to another row"
        ) from None


def _describe(aad: bytes) -> str:
    return repr(aad.decode("utf-8", errors="backslashreplace"))
