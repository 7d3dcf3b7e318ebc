"""seal / open_sealed: round trip, a data key per secret, and every tamper detected."""

from __future__ import annotations

import dataclasses
import secrets

import pytest

from vault.envelope import Sealed, open_sealed, seal
from vault.errors import UnknownKeyError, VaultDecryptError
from vault.keys import LocalKeyProvider

AAD = b"sellerhub/v1|connection|conn-1|oauth_token"
OTHER_AAD = b"sellerhub/v1|connection|conn-2|oauth_token"
PLAINTEXT = b'{"access_token":"Atza|secret-access","refresh_token":"Atzr|secret-refresh"}'


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_round_trip(provider: LocalKeyProvider) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    assert open_sealed(sealed, AAD, provider) == PLAINTEXT
    assert sealed.key_id == provider.key_id
    assert len(sealed.nonce) == 12
    assert PLAINTEXT not in sealed.ciphertext


def test_empty_plaintext_round_trips(provider: LocalKeyProvider) -> None:
    assert open_sealed(seal(b"", AAD, provider), AAD, provider) == b""


def test_each_seal_uses_a_fresh_data_key_and_nonce(provider: LocalKeyProvider) -> None:
    first = seal(PLAINTEXT, AAD, provider)
    second = seal(PLAINTEXT, AAD, provider)
    assert first.ciphertext != second.ciphertext
    assert first.nonce != second.nonce
    assert first.wrapped_key != second.wrapped_key
    # the data keys themselves differ (unwrapped with the provider)
    assert provider.unwrap(first.key_id, first.wrapped_key, AAD) != provider.unwrap(
        second.key_id, second.wrapped_key, AAD
    )


def test_data_key_is_256_bits(provider: LocalKeyProvider) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    assert len(provider.unwrap(sealed.key_id, sealed.wrapped_key, AAD)) == 32


@pytest.mark.parametrize(
    "field",
    ["ciphertext", "ciphertext_tag", "nonce", "wrapped_key", "wrapped_key_nonce"],
)
def test_tampering_any_byte_field_fails(provider: LocalKeyProvider, field: str) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    if field == "ciphertext":
        tampered = dataclasses.replace(sealed, ciphertext=flip(sealed.ciphertext, 3))
    elif field == "ciphertext_tag":
        tampered = dataclasses.replace(sealed, ciphertext=flip(sealed.ciphertext, -1))
    elif field == "nonce":
        tampered = dataclasses.replace(sealed, nonce=flip(sealed.nonce, 5))
    elif field == "wrapped_key":
        tampered = dataclasses.replace(sealed, wrapped_key=flip(sealed.wrapped_key, 20))
    else:
        tampered = dataclasses.replace(sealed, wrapped_key=flip(sealed.wrapped_key, 0))
    with pytest.raises(VaultDecryptError) as info:
        open_sealed(tampered, AAD, provider)
    assert "conn-1" in str(info.value)


@pytest.mark.parametrize("cut", ["nonce", "ciphertext", "wrapped_key"])
def test_truncated_fields_fail_cleanly(provider: LocalKeyProvider, cut: str) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    tampered = dataclasses.replace(sealed, **{cut: getattr(sealed, cut)[:4]})
    with pytest.raises(VaultDecryptError):
        open_sealed(tampered, AAD, provider)


def test_other_rows_aad_fails_and_names_the_row(provider: LocalKeyProvider) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    with pytest.raises(VaultDecryptError) as info:
        open_sealed(sealed, OTHER_AAD, provider)
    message = str(info.value)
    assert "conn-2" in message
    assert "secret-access" not in message
    assert "secret-refresh" not in message


def test_key_id_changed_to_another_held_key_fails() -> None:
    current, old = secrets.token_bytes(32), secrets.token_bytes(32)
    provider = LocalKeyProvider(current, [old])
    sealed = seal(PLAINTEXT, AAD, provider)
    moved = dataclasses.replace(sealed, key_id=LocalKeyProvider(old).key_id)
    with pytest.raises(VaultDecryptError):
        open_sealed(moved, AAD, provider)


def test_key_id_changed_to_unknown_key_fails(provider: LocalKeyProvider) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    with pytest.raises(UnknownKeyError) as info:
        open_sealed(dataclasses.replace(sealed, key_id="local:0000000000000000"), AAD, provider)
    assert isinstance(info.value, VaultDecryptError)
    assert "local:0000000000000000" in str(info.value)


def test_wrong_master_key_gives_a_clear_error() -> None:
    writer = LocalKeyProvider(secrets.token_bytes(32))
    reader = LocalKeyProvider(secrets.token_bytes(32))
    sealed = seal(PLAINTEXT, AAD, writer)
    with pytest.raises(UnknownKeyError) as info:
        open_sealed(sealed, AAD, reader)
    message = str(info.value)
    assert writer.key_id in message
    assert reader.key_id in message
    assert "master key" in message
    assert "conn-1" in message


def test_old_key_still_unwraps_when_the_provider_holds_it() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    sealed = seal(PLAINTEXT, AAD, LocalKeyProvider(old))
    rotated = LocalKeyProvider(new, [old])
    assert open_sealed(sealed, AAD, rotated) == PLAINTEXT
    # and new seals use the new key
    assert seal(PLAINTEXT, AAD, rotated).key_id == LocalKeyProvider(new).key_id
    with pytest.raises(UnknownKeyError):
        open_sealed(sealed, AAD, LocalKeyProvider(new))


def test_errors_do_not_chain_crypto_exceptions(provider: LocalKeyProvider) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    with pytest.raises(VaultDecryptError) as info:
        open_sealed(dataclasses.replace(sealed, ciphertext=flip(sealed.ciphertext)), AAD, provider)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_sealed_repr_shows_sizes_not_bytes(provider: LocalKeyProvider) -> None:
    sealed = seal(PLAINTEXT, AAD, provider)
    text = repr(sealed)
    assert sealed.key_id in text
    assert repr(sealed.ciphertext) not in text
    assert isinstance(sealed, Sealed)
