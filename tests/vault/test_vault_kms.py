"""AWS KMS key provider against moto's in-process KMS (no network)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from botocore.exceptions import ClientError, NoCredentialsError  # noqa: E402

from vault.aws_kms import KmsKeyProvider, encryption_context  # noqa: E402
from vault.chain import ChainedKeyProvider  # noqa: E402
from vault.config import provider_from_env  # noqa: E402
from vault.errors import (  # noqa: E402
    KeyProviderConfigError,
    KeyProviderUnavailable,
    UnknownKeyError,
    VaultDecryptError,
)
from vault.keyring import Keyring, KeyringProvider  # noqa: E402
from vault.rotation import rotate, verify  # noqa: E402
from vault.store import SecretRef, Vault  # noqa: E402
from vault.table import vault_secrets_table  # noqa: E402
from vault.tokens import connection_token_ref  # noqa: E402

REGION = "eu-west-1"
REF = connection_token_ref("conn-1")
OTHER = connection_token_ref("conn-2")
TOKEN = b'{"access_token":"Atza|kmsACCESS0123456789","refresh_token":"Atzr|kmsREFRESH0123"}'


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """moto's KMS with fake credentials; the real AWS config files are hidden.

    One mock for the module (starting moto is the slow part); each test makes its own key.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        with moto.mock_aws():
            yield boto3.client("kms", region_name=REGION)


@pytest.fixture
def kms_key(aws: Any) -> str:
    arn: str = aws.create_key(Description="sellerhub test")["KeyMetadata"]["Arn"]
    return arn


@pytest.fixture
def kms(aws: Any, kms_key: str) -> KmsKeyProvider:
    return KmsKeyProvider(aws, kms_key)


@pytest.fixture
def kms_vault(engine: sa.Engine, kms: KmsKeyProvider) -> Vault:
    v = Vault(engine, kms)
    v.ensure_table()
    return v


def kms_env(key: str) -> dict[str, str]:
    return {"SELLERHUB_KEY_PROVIDER": "aws-kms", "SELLERHUB_KMS_KEY_ID": key, "AWS_REGION": REGION}


def stored(engine: sa.Engine, ref: SecretRef) -> sa.Row[Any]:
    t = vault_secrets_table()
    with engine.connect() as conn:
        return conn.execute(sa.select(t).where(t.c.owner_id == ref.owner_id)).one()


def test_round_trip_and_the_key_id_names_the_kms_key(
    kms_vault: Vault, engine: sa.Engine, kms_key: str
) -> None:
    kms_vault.put(REF, TOKEN)
    assert kms_vault.get(REF) == TOKEN
    assert stored(engine, REF).key_id == "aws-kms:" + kms_key
    assert kms_vault.provider.key_id == "aws-kms:" + kms_key


def test_the_encryption_context_is_the_row_identity(
    kms_vault: Vault, engine: sa.Engine, aws: Any
) -> None:
    """Checked with KMS directly: the wrapped key opens for exactly this row's identity."""
    kms_vault.put(REF, TOKEN)
    blob = bytes(stored(engine, REF).wrapped_key)
    identity = {"app": "sellerhub/v1", "kind": "connection", "owner_id": "conn-1"}
    identity["name"] = "oauth_token"
    assert len(aws.decrypt(CiphertextBlob=blob, EncryptionContext=identity)["Plaintext"]) == 32
    for wrong in ({**identity, "owner_id": "conn-2"}, {}):
        with pytest.raises(ClientError):
            aws.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)


def test_encryption_context_of_other_contexts() -> None:
    assert encryption_context(b"plain") == {"context": "plain"}
    assert encryption_context(b"\xff\x00") == {"context_b64": "/wA="}
    assert encryption_context(REF.aad())["owner_id"] == "conn-1"


def test_a_wrong_context_fails(kms: KmsKeyProvider) -> None:
    data_key = secrets.token_bytes(32)
    wrapped = kms.wrap(data_key, REF.aad())
    assert kms.unwrap(wrapped.key_id, wrapped.blob, REF.aad()) == data_key
    with pytest.raises(VaultDecryptError) as info:
        kms.unwrap(wrapped.key_id, wrapped.blob, OTHER.aad())
    assert "row identity" in str(info.value)


def test_a_ciphertext_moved_to_another_row_fails(kms_vault: Vault, engine: sa.Engine) -> None:
    kms_vault.put(REF, TOKEN)
    kms_vault.put(OTHER, b"the other row's token")
    source = stored(engine, REF)
    t = vault_secrets_table()
    with engine.begin() as conn:
        conn.execute(
            t.update()
            .where(t.c.owner_id == "conn-2")
            .values(
                key_id=source.key_id,
                wrapped_key=source.wrapped_key,
                nonce=source.nonce,
                ciphertext=source.ciphertext,
            )
        )
    with pytest.raises(VaultDecryptError) as info:
        kms_vault.get(OTHER)
    assert "conn-2" in str(info.value)
    assert "kmsACCESS" not in str(info.value)
    assert kms_vault.get(REF) == TOKEN


def test_a_tampered_wrapped_key_fails(kms: KmsKeyProvider) -> None:
    wrapped = kms.wrap(secrets.token_bytes(32), REF.aad())
    blob = wrapped.blob[:-4] + bytes([wrapped.blob[-4] ^ 1]) + wrapped.blob[-3:]
    with pytest.raises(VaultDecryptError):
        kms.unwrap(wrapped.key_id, blob, REF.aad())


def test_key_ids_of_other_keys(kms: KmsKeyProvider, aws: Any, kms_key: str) -> None:
    wrapped = kms.wrap(secrets.token_bytes(32), REF.aad())
    other_arn = aws.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(VaultDecryptError):  # a real key, but not the one that wrapped it
        kms.unwrap("aws-kms:" + other_arn, wrapped.blob, REF.aad())
    missing = kms_key.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(UnknownKeyError):
        kms.unwrap("aws-kms:" + missing, wrapped.blob, REF.aad())


def test_local_key_ids_are_not_sent_to_kms() -> None:
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"KMS was called: {name}")

    with pytest.raises(UnknownKeyError):
        KmsKeyProvider(NoCalls(), "alias/x").unwrap("local:0123456789abcdef", b"x", REF.aad())


def test_an_alias_resolves_to_the_key_arn(aws: Any, kms_key: str) -> None:
    aws.create_alias(AliasName="alias/sellerhub", TargetKeyId=kms_key)
    provider = KmsKeyProvider(aws, "alias/sellerhub")
    assert provider.key_id == "aws-kms:" + kms_key
    assert provider.wrap(secrets.token_bytes(32), REF.aad()).key_id == "aws-kms:" + kms_key


def test_errors_are_ours_and_name_no_secret() -> None:
    class Failing:
        def __init__(self, exc: Exception) -> None:
            self.exc = exc

        def encrypt(self, **_: Any) -> Any:
            raise self.exc

    with pytest.raises(KeyProviderConfigError, match="credentials"):
        KmsKeyProvider(Failing(NoCredentialsError()), "alias/x").wrap(b"k" * 32, REF.aad())
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Encrypt"
    )
    with pytest.raises(KeyProviderUnavailable, match="ThrottlingException") as info:
        KmsKeyProvider(Failing(throttled), "alias/x").wrap(b"k" * 32, REF.aad())
    assert info.value.__cause__ is None


def test_provider_from_env_builds_kms(aws: Any, kms_key: str, home: Path) -> None:
    provider = provider_from_env(home, kms_env(kms_key))
    assert provider.key_id == "aws-kms:" + kms_key
    assert isinstance(provider, ChainedKeyProvider)
    assert len(provider.providers) == 1  # no local key in this home, and none was created
    assert not (home / "master.key").exists()


def test_moving_from_the_local_key_to_kms(
    aws: Any, kms_key: str, home: Path, engine: sa.Engine
) -> None:
    """Rows sealed locally still open after the switch; rotate moves them all to KMS."""
    local = Vault(engine, KeyringProvider(Keyring(home, environ={})))
    local.ensure_table()
    tokens = {
        connection_token_ref(f"c-{i}"): f"Atza|mig{i}{secrets.token_hex(8)}" for i in range(6)
    }
    for ref, value in tokens.items():
        local.put(ref, value.encode())
    local_id = local.provider.key_id

    vault = Vault(engine, provider_from_env(home, kms_env(kms_key)))
    assert all(vault.get(ref) == value.encode() for ref, value in tokens.items())
    vault.put(connection_token_ref("c-new"), b"sealed by kms")
    report = rotate(vault, vault.provider)

    assert report.complete
    assert report.from_keys[local_id] == 6
    assert vault.key_usage() == {"aws-kms:" + kms_key: 7}
    assert verify(Vault(engine, KmsKeyProvider(aws, kms_key))).healthy
    assert verify(vault).healthy


def test_kms_rotation_rewraps_under_the_same_key_arn(kms_vault: Vault, engine: sa.Engine) -> None:
    """After KMS rotated its backing key the ARN stays: every data key is wrapped again."""
    kms_vault.put(REF, TOKEN)
    kms_vault.put(OTHER, TOKEN)
    before = {ref: bytes(stored(engine, ref).wrapped_key) for ref in (REF, OTHER)}
    report = rotate(kms_vault, kms_vault.provider)
    assert report.rewrapped == 2
    for ref in (REF, OTHER):
        assert bytes(stored(engine, ref).wrapped_key) != before[ref]
        assert kms_vault.get(ref) == TOKEN


def test_provider_repr_names_the_key_only(kms: KmsKeyProvider, kms_key: str) -> None:
    assert kms_key in repr(kms)
    assert "testing" not in repr(kms)


def test_cli_moves_a_home_to_kms_and_removes_the_local_key(
    aws: Any, kms_key: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sellerhub.cli_vault import vault_app
    from sellerhub.settings import Settings
    from warehouse.engine import make_engine
    from warehouse.migrate import upgrade

    for name in ("DATABASE_URL", "SELLERHUB_HOME", "SELLERHUB_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(Settings.from_env(home).database_url)
    upgrade(engine)
    local = Vault(engine, KeyringProvider(Keyring(home, environ={})))
    local.put(REF, TOKEN)
    local_id = local.provider.key_id
    for name, value in kms_env(kms_key).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    moved = runner.invoke(vault_app, ["rotate", "--home", str(home)])
    assert moved.exit_code == 0, moved.output
    assert "aws-kms" in moved.output
    keys = runner.invoke(vault_app, ["keys", "--home", str(home)])
    assert "aws-kms:" + kms_key in keys.output
    retired = runner.invoke(vault_app, ["retire-key", local_id, "--home", str(home)])
    assert retired.exit_code == 0, retired.output
    assert not (home / "master.key").exists()
    assert runner.invoke(vault_app, ["verify", "--home", str(home)]).exit_code == 0
    assert Vault(engine, KmsKeyProvider(aws, kms_key)).get(REF) == TOKEN
    assert b"kmsACCESS" not in moved.output.encode() + keys.output.encode()
    engine.dispose()
