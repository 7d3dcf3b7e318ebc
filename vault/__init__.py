"""Envelope encryption of tokens and credentials at rest (AES-256-GCM, a data key per secret)."""

from vault.chain import ChainedKeyProvider
from vault.config import provider_from_env
from vault.envelope import Sealed, open_sealed, rewrap, seal
from vault.errors import (
    KeyInUseError,
    KeyProviderConfigError,
    KeyProviderUnavailable,
    MasterKeyError,
    SecretNotFound,
    UnknownKeyError,
    VaultDecryptError,
    VaultError,
)
from vault.keyring import Keyring, KeyringProvider
from vault.keys import MASTER_KEY_ENV, KeyProvider, LocalKeyProvider, WrappedKey
from vault.redact import Secret, SecretRedactingFilter, mask
from vault.rotation import RotationReport, RowFailure, VerifyReport, rotate, verify
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
    "ChainedKeyProvider",
    "KeyInUseError",
    "KeyProvider",
    "KeyProviderConfigError",
    "KeyProviderUnavailable",
    "Keyring",
    "KeyringProvider",
    "LocalKeyProvider",
    "MasterKeyError",
    "RotationReport",
    "RowFailure",
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
    "VerifyReport",
    "WrappedKey",
    "app_credentials_ref",
    "connection_token_ref",
    "mask",
    "open_sealed",
    "provider_from_env",
    "rewrap",
    "rotate",
    "seal",
    "verify",
]
