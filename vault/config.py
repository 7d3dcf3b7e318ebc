"""Which key provider wraps the data keys, from the environment.

``SELLERHUB_KEY_PROVIDER``:

- ``local`` (default): the home's keyring (``master.key`` or ``SELLERHUB_MASTER_KEY``, plus
  retired keys in ``<home>/keys/``).
- ``aws-kms``: ``SELLERHUB_KMS_KEY_ID`` (key id, ARN or ``alias/...``); region from
  ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (or the AWS config file), credentials from the
  standard AWS chain. Needs the ``kms`` extra.
- ``vault-transit``: ``VAULT_ADDR``, ``VAULT_TOKEN``, ``SELLERHUB_TRANSIT_KEY`` (a transit key
  created with ``derived=true``), optional ``SELLERHUB_TRANSIT_MOUNT`` (default ``transit``),
  ``VAULT_NAMESPACE``, ``VAULT_CACERT``. Needs the ``vault`` extra.

With a remote provider, local keys still found in the home stay readable (behind it), so rows
sealed before the switch open until ``sellerhub vault rotate`` has re-wrapped them.
Errors name the variables, never their values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from vault.chain import ChainedKeyProvider, flatten
from vault.errors import KeyProviderConfigError
from vault.keyring import Keyring, KeyringProvider
from vault.keys import KeyProvider

PROVIDER_ENV = "SELLERHUB_KEY_PROVIDER"
KMS_KEY_ENV = "SELLERHUB_KMS_KEY_ID"
TRANSIT_KEY_ENV = "SELLERHUB_TRANSIT_KEY"
TRANSIT_MOUNT_ENV = "SELLERHUB_TRANSIT_MOUNT"
LOCAL, AWS_KMS, VAULT_TRANSIT = "local", "aws-kms", "vault-transit"
PROVIDERS = (LOCAL, AWS_KMS, VAULT_TRANSIT)


def provider_name(environ: Mapping[str, str] = os.environ) -> str:
    """The configured provider's name; an unknown name is an error."""
    name = environ.get(PROVIDER_ENV, "").strip().lower() or LOCAL
    if name not in PROVIDERS:
        shown = repr(name) if re.fullmatch(r"[a-z0-9_-]{1,32}", name) else "(value not shown)"
        raise KeyProviderConfigError(
            f"{PROVIDER_ENV} names an unknown key provider {shown}; use one of "
            f"{', '.join(PROVIDERS)}"
        )
    return name


def provider_from_env(home: Path, environ: Mapping[str, str] = os.environ) -> KeyProvider:
    """The key provider the environment asks for (see the module docstring)."""
    name = provider_name(environ)
    keyring = Keyring(home, environ=environ)
    if name == LOCAL:
        return KeyringProvider(keyring)
    remote = _kms(environ) if name == AWS_KMS else _transit(environ)
    local = keyring.unwrap_only_provider() if keyring.exists() else None
    return ChainedKeyProvider(remote, [local] if local is not None else [])


def keyring_of(provider: KeyProvider) -> Keyring | None:
    """The keyring whose key is *current* in ``provider`` (None for KMS or transit)."""
    first = flatten(provider)[0]
    return first.keyring if isinstance(first, KeyringProvider) else None


def _kms(environ: Mapping[str, str]) -> KeyProvider:
    _require(environ, AWS_KMS, [KMS_KEY_ENV])
    try:
        from vault.aws_kms import KmsKeyProvider
    except ImportError:
        raise KeyProviderConfigError(
            "the aws-kms key provider needs boto3: pip install 'sellerhub[kms]'"
        ) from None
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None
    endpoint = environ.get("AWS_ENDPOINT_URL_KMS") or environ.get("AWS_ENDPOINT_URL") or None
    return KmsKeyProvider.connect(
        environ[KMS_KEY_ENV].strip(), region=region, endpoint_url=endpoint
    )


def _transit(environ: Mapping[str, str]) -> KeyProvider:
    _require(environ, VAULT_TRANSIT, ["VAULT_ADDR", "VAULT_TOKEN", TRANSIT_KEY_ENV])
    try:
        from vault.transit import DEFAULT_MOUNT, TransitKeyProvider
    except ImportError:
        raise KeyProviderConfigError(
            "the vault-transit key provider needs hvac: pip install 'sellerhub[vault]'"
        ) from None
    cacert = environ.get("VAULT_CACERT") or None
    return TransitKeyProvider.connect(
        environ["VAULT_ADDR"].strip(),
        environ["VAULT_TOKEN"].strip(),
        environ[TRANSIT_KEY_ENV].strip(),
        mount=environ.get(TRANSIT_MOUNT_ENV, "").strip() or DEFAULT_MOUNT,
        namespace=environ.get("VAULT_NAMESPACE") or None,
        verify=cacert if cacert is not None else True,
    )


def _require(environ: Mapping[str, str], provider: str, names: list[str]) -> None:
    missing = [n for n in names if not environ.get(n, "").strip()]
    if missing:
        raise KeyProviderConfigError(
            f"{PROVIDER_ENV}={provider} needs {', '.join(missing)} to be set"
        )
