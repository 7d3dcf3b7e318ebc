"""provider_from_env: the default, the choices, and errors that never echo a secret."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from vault.chain import ChainedKeyProvider
from vault.config import keyring_of, provider_from_env
from vault.errors import KeyProviderConfigError, UnknownKeyError
from vault.keyring import KeyringProvider
from vault.keys import LocalKeyProvider, WrappedKey


def test_local_is_the_default_and_matches_the_old_loader(home: Path) -> None:
    provider = provider_from_env(home, {})
    assert isinstance(provider, KeyringProvider)
    assert provider.key_id == LocalKeyProvider.load(home, environ={}).key_id
    assert keyring_of(provider) is not None


@pytest.mark.parametrize("value", ["local", "LOCAL", " local ", ""])
def test_local_spellings(home: Path, value: str) -> None:
    assert isinstance(provider_from_env(home, {"SELLERHUB_KEY_PROVIDER": value}), KeyringProvider)


def test_local_with_the_env_master_key(home: Path) -> None:
    key = secrets.token_bytes(32)
    environ = {"SELLERHUB_MASTER_KEY": base64.b64encode(key).decode()}
    assert provider_from_env(home, environ).key_id == LocalKeyProvider(key).key_id
    assert not (home / "master.key").exists()


def test_an_unknown_provider_is_refused(home: Path) -> None:
    with pytest.raises(KeyProviderConfigError) as info:
        provider_from_env(home, {"SELLERHUB_KEY_PROVIDER": "gcp-kms"})
    assert "'gcp-kms'" in str(info.value)
    assert "aws-kms" in str(info.value)


def test_a_secret_pasted_as_the_provider_name_is_not_echoed(home: Path) -> None:
    pasted = "sk_live_" + secrets.token_urlsafe(30)
    with pytest.raises(KeyProviderConfigError) as info:
        provider_from_env(home, {"SELLERHUB_KEY_PROVIDER": pasted})
    assert pasted.lower() not in str(info.value).lower()
    assert pasted[8:20].lower() not in str(info.value).lower()


def test_aws_kms_needs_a_key_id(home: Path) -> None:
    with pytest.raises(KeyProviderConfigError, match="SELLERHUB_KMS_KEY_ID"):
        provider_from_env(home, {"SELLERHUB_KEY_PROVIDER": "aws-kms", "AWS_REGION": "eu-west-1"})


def test_vault_transit_names_every_missing_setting_but_no_value(home: Path) -> None:
    token = "hvs." + secrets.token_urlsafe(24)
    with pytest.raises(KeyProviderConfigError) as info:
        provider_from_env(home, {"SELLERHUB_KEY_PROVIDER": "vault-transit", "VAULT_TOKEN": token})
    message = str(info.value)
    assert "VAULT_ADDR" in message
    assert "SELLERHUB_TRANSIT_KEY" in message
    assert "VAULT_TOKEN" not in message  # it is set
    assert token not in message
    with pytest.raises(KeyProviderConfigError) as info:
        provider_from_env(home, {"SELLERHUB_KEY_PROVIDER": "vault-transit"})
    assert "VAULT_TOKEN" in str(info.value)


def test_remote_providers_create_no_local_key(home: Path) -> None:
    environ = {
        "SELLERHUB_KEY_PROVIDER": "vault-transit",
        "VAULT_ADDR": "http://127.0.0.1:1",
        "VAULT_TOKEN": "t",
        "SELLERHUB_TRANSIT_KEY": "k",
    }
    pytest.importorskip("hvac")
    provider = provider_from_env(home, environ)
    assert isinstance(provider, ChainedKeyProvider)
    assert keyring_of(provider) is None
    assert not (home / "master.key").exists()


class Fake:
    """A provider that holds one key id; wraps and unwraps as identity (test double)."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        return WrappedKey(self.key_id, data_key)

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        if key_id != self.key_id:
            raise UnknownKeyError(key_id)
        return blob


def test_the_chain_wraps_with_the_first_and_unwraps_by_id() -> None:
    a, b = Fake("a"), Fake("b")
    chain = ChainedKeyProvider(a, [b])
    assert chain.key_id == "a"
    assert chain.wrap(b"k", b"c").key_id == "a"
    assert chain.unwrap("b", b"x", b"c") == b"x"
    with pytest.raises(UnknownKeyError, match="none of the configured"):
        chain.unwrap("c", b"x", b"c")
