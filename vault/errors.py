"""Errors the vault raises. Messages name rows and key ids, never secret material."""

from __future__ import annotations


class VaultError(Exception):
    """Base class for every vault error."""


class MasterKeyError(VaultError):
    """The master key is missing, malformed, or stored unsafely (a configuration error, ours)."""


class VaultDecryptError(VaultError):
    """A sealed secret could not be opened: tampered, moved to another row, or wrong master key."""


class UnknownKeyError(VaultDecryptError):
    """The secret was sealed under a key id that the provider does not hold."""


class SecretNotFound(VaultError, LookupError):
    """No secret is stored under the requested reference."""


class KeyProviderConfigError(VaultError):
    """The key provider is not configured, or its settings are incomplete (ours to fix).

    Messages name the environment variables involved, never their values.
    """


class KeyProviderUnavailable(VaultError):
    """The key service (KMS, Vault) could not be reached or refused the request; retry later."""


class KeyInUseError(VaultError):
    """A key cannot be retired: it is current, or rows are still wrapped under it."""
