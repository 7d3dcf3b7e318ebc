"""Envelope encryption of tokens and credentials at rest (AES-256-GCM, a data key per secret)."""

from vault.envelope import Sealed, open_sealed, seal
from vault.errors import (
    MasterKeyError,
    SecretNotFound,
    UnknownKeyError,
    VaultDecryptError,
    VaultError,
)
from vault.keys import MASTER_KEY_ENV, KeyProvider, LocalKeyProvider, WrappedKey
from vault.redact import Secret, SecretRedactingFilter, mask
from vault.store import SecretRef, Vault
from vault.table import VaultSecret
from vault.tokens import (
    TokenStore,
    VaultTokenStore,
    app_credentials_ref,
    connection_token_ref,
)

__all__ = [
    "MASTER_KEY_ENV",
    "KeyProvider",
    "LocalKeyProvider",
    "MasterKeyError",
    "Sealed",
    "Secret",
    "SecretNotFound",
    "SecretRedactingFilter",
    "SecretRef",
    "TokenStore",
    "UnknownKeyError",
    "Vault",
    "VaultDecryptError",
    "VaultError",
    "VaultSecret",
    "VaultTokenStore",
    "WrappedKey",
    "app_credentials_ref",
    "connection_token_ref",
    "mask",
    "open_sealed",
    "seal",
]
