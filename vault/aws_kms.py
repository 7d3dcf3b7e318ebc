"""AWS KMS as key provider: data keys are encrypted by a KMS key, bound to the row identity.

The row identity (our AAD ``sellerhub/v1|kind|owner|name``) is the KMS *encryption context*,
so KMS refuses to decrypt a wrapped key for any other row, and CloudTrail logs say which row
each decryption was for. Key policies can use it too (``kms:EncryptionContext:kind``).
https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html

Needs the ``kms`` extra (boto3). Credentials and region come from the standard AWS chain.
"""

from __future__ import annotations

import base64
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from vault.errors import (
    KeyProviderConfigError,
    KeyProviderUnavailable,
    UnknownKeyError,
    VaultDecryptError,
    VaultError,
)
from vault.keys import KEY_BYTES, WrappedKey
from vault.store import SecretRef

KMS_KEY_PREFIX = "aws-kms:"
# Codes meaning "this wrapped key does not open here", not "KMS is unwell".
# https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html#API_Decrypt_Errors
_NOT_OPENABLE = {
    "InvalidCiphertextException": "the wrapped key or its encryption context (row identity) "
    "does not match",
    "IncorrectKeyException": "the wrapped key was not made by this KMS key",
    "DisabledException": "the KMS key is disabled",
    "KMSInvalidStateException": "the KMS key is not usable (pending deletion or import)",
    "AccessDeniedException": "access denied, or the key id does not match the wrapped key",
}


def encryption_context(context: bytes) -> dict[str, str]:
    """The KMS encryption context for a wrap ``context``: the row identity as fields."""
    ref = SecretRef.from_aad(context)
    if ref is not None:
        return {"app": "sellerhub/v1", "kind": ref.kind, "owner_id": ref.owner_id, "name": ref.name}
    try:
        return {"context": context.decode("utf-8")}
    except UnicodeDecodeError:
        return {"context_b64": base64.b64encode(context).decode("ascii")}


class KmsKeyProvider:
    """Wraps with the KMS key ``key`` (id, ARN or alias); unwraps under any ``aws-kms:`` key id.

    Key ids are ``aws-kms:<key ARN>``. KMS's own yearly rotation keeps the ARN; a re-wrap
    (``sellerhub vault rotate``) moves every data key to the newest backing key.
    """

    def __init__(self, client: Any, key: str) -> None:
        if not key:
            raise KeyProviderConfigError("a KMS key id, ARN or alias is required")
        self._client = client
        self._key = key
        self._arn: str | None = key if key.startswith("arn:") and ":key/" in key else None

    @classmethod
    def connect(
        cls, key: str, *, region: str | None, endpoint_url: str | None = None
    ) -> KmsKeyProvider:
        """A provider with its own boto3 KMS client (credentials from the standard chain).

        ``region=None`` lets boto3 find the region in the AWS config file.
        """
        config = Config(
            connect_timeout=5, read_timeout=15, retries={"max_attempts": 4, "mode": "standard"}
        )
        try:
            client = boto3.client(
                "kms", region_name=region, endpoint_url=endpoint_url, config=config
            )
        except (NoRegionError, ValueError) as exc:
            raise KeyProviderConfigError(
                f"cannot create the AWS KMS client ({type(exc).__name__}); set AWS_REGION"
            ) from None
        return cls(client, key)

    def __repr__(self) -> str:
        return f"KmsKeyProvider(key={self._key!r})"

    @property
    def key_id(self) -> str:
        """``aws-kms:`` + the ARN of the configured key (resolved once if it is an alias)."""
        if self._arn is None:
            try:
                metadata = self._client.describe_key(KeyId=self._key)["KeyMetadata"]
            except (ClientError, BotoCoreError) as exc:
                raise _error(exc, f"describe KMS key {self._key!r}") from None
            self._arn = str(metadata["Arn"])
        return KMS_KEY_PREFIX + self._arn

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key must be exactly {KEY_BYTES} bytes")
        try:
            response = self._client.encrypt(
                KeyId=self._key, Plaintext=data_key, EncryptionContext=encryption_context(context)
            )
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, f"wrap a data key with KMS key {self._key!r}") from None
        arn = str(response["KeyId"])
        return WrappedKey(key_id=KMS_KEY_PREFIX + arn, blob=bytes(response["CiphertextBlob"]))

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        if not key_id.startswith(KMS_KEY_PREFIX) or len(key_id) == len(KMS_KEY_PREFIX):
            raise UnknownKeyError(f"key {key_id!r} is not an AWS KMS key")
        arn = key_id[len(KMS_KEY_PREFIX) :]
        try:
            response = self._client.decrypt(
                CiphertextBlob=blob, KeyId=arn, EncryptionContext=encryption_context(context)
            )
        except ClientError as exc:
            code = _code(exc)
            if code == "NotFoundException":
                raise UnknownKeyError(f"KMS key {arn!r} does not exist (or was deleted)") from None
            if code in _NOT_OPENABLE:
                raise VaultDecryptError(
                    f"KMS did not unwrap the data key under {arn!r}: {_NOT_OPENABLE[code]}"
                ) from None
            raise _error(exc, f"unwrap a data key with KMS key {arn!r}") from None
        except BotoCoreError as exc:
            raise _error(exc, f"unwrap a data key with KMS key {arn!r}") from None
        data_key = bytes(response["Plaintext"])
        if len(data_key) != KEY_BYTES:
            raise VaultDecryptError("KMS returned a data key of the wrong length")
        return data_key


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _error(exc: Exception, action: str) -> VaultError:
    """Our error for a boto failure: names the action and the AWS error code only."""
    if isinstance(exc, NoCredentialsError):
        return KeyProviderConfigError(
            f"cannot {action}: no AWS credentials found (environment, profile or instance role)"
        )
    if isinstance(exc, ClientError):
        code = _code(exc)
        if code in ("NotFoundException", "InvalidKeyId.NotFound"):
            return KeyProviderConfigError(f"cannot {action}: the KMS key does not exist")
        return KeyProviderUnavailable(f"cannot {action}: AWS KMS answered {code}")
    return KeyProviderUnavailable(f"cannot {action}: {type(exc).__name__} talking to AWS KMS")
