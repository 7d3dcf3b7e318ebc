"""HashiCorp Vault (or OpenBao) transit as key provider, through hvac.

Data keys are encrypted by a transit key created with ``derived=true``: the row identity is the
derivation ``context``, so Vault refuses to decrypt a wrapped key for any other row.
https://developer.hashicorp.com/vault/api-docs/secret/transit#encrypt-data

A transit key that is *not* derived silently ignores the context (checked: Vault accepts it and
encrypts without binding), so this provider refuses such keys.

Key ids are ``vault-transit:<mount>/<key>:v<version>``; the version is the transit key version
that wrapped the data key (also the ``vault:vN:`` prefix of the stored ciphertext).
Needs the ``vault`` extra (hvac). Minimal policy: ``update`` on ``<mount>/encrypt/<key>`` and
``<mount>/decrypt/<key>``, ``read`` on ``<mount>/keys/<key>``.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import hvac
import hvac.exceptions
import requests

from vault.errors import (
    KeyProviderConfigError,
    KeyProviderUnavailable,
    UnknownKeyError,
    VaultDecryptError,
    VaultError,
)
from vault.keys import KEY_BYTES, WrappedKey

TRANSIT_KEY_PREFIX = "vault-transit:"
DEFAULT_MOUNT = "transit"
_KEY_ID = re.compile(r"vault-transit:(?P<mount>.+)/(?P<name>[^/]+):v(?P<version>[1-9][0-9]*)")


class TransitKeyProvider:
    """Wraps with transit key ``name`` at ``mount``; unwraps under any transit key id.

    Rotating the transit key in Vault (``vault write -f <mount>/keys/<name>/rotate``) and then
    ``sellerhub vault rotate --rewrap-only`` moves every data key to the newest version.
    """

    def __init__(
        self, client: Any, name: str, *, mount: str = DEFAULT_MOUNT, addr: str = ""
    ) -> None:
        if not name or "/" in name or ":" in name:
            raise KeyProviderConfigError("the transit key name must be non-empty, without / or :")
        self._client = client
        self._name = name
        self._mount = mount.strip("/")
        self._addr = _without_userinfo(addr)  # for messages only
        self._derived_checked: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        addr: str,
        token: str,
        name: str,
        *,
        mount: str = DEFAULT_MOUNT,
        namespace: str | None = None,
        verify: bool | str = True,
        timeout: float = 15,
    ) -> TransitKeyProvider:
        """A provider with its own hvac client (the token stays inside the client)."""
        client = hvac.Client(
            url=addr, token=token, namespace=namespace, verify=verify, timeout=timeout
        )
        return cls(client, name, mount=mount, addr=addr)

    def __repr__(self) -> str:
        where = f"addr={self._addr!r}, " if self._addr else ""
        return f"TransitKeyProvider({where}key={self._mount + '/' + self._name!r})"

    @property
    def key_id(self) -> str:
        """The id new wraps get: the key's latest version (asks Vault)."""
        info = self._read_key(self._mount, self._name)
        return _key_id(self._mount, self._name, int(info["latest_version"]))

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key must be exactly {KEY_BYTES} bytes")
        self._require_derived(self._mount, self._name)
        try:
            response = self._client.secrets.transit.encrypt_data(
                name=self._name,
                plaintext=_b64(data_key),
                context=_b64(context),
                mount_point=self._mount,
            )
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise self._error(exc, f"wrap a data key with transit key {self._label()}") from None
        data = response["data"]
        ciphertext = str(data["ciphertext"])
        version = int(data.get("key_version") or _version_of(ciphertext) or 0)
        if version < 1 or _version_of(ciphertext) != version:
            raise KeyProviderUnavailable("Vault transit returned a ciphertext without a version")
        return WrappedKey(
            key_id=_key_id(self._mount, self._name, version), blob=ciphertext.encode("ascii")
        )

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        match = _KEY_ID.fullmatch(key_id)
        if match is None:
            raise UnknownKeyError(f"key {key_id!r} is not a Vault transit key")
        mount, name, version = match["mount"], match["name"], int(match["version"])
        try:
            ciphertext = blob.decode("ascii")
        except UnicodeDecodeError:
            raise VaultDecryptError("the wrapped key is not a transit ciphertext") from None
        if _version_of(ciphertext) != version:
            raise VaultDecryptError(
                f"the wrapped key was not made by version {version} of transit key "
                f"{mount}/{name}: the key id or the wrapped key was altered"
            )
        try:
            self._require_derived(mount, name)
        except _KeyMissing:
            raise UnknownKeyError(f"transit key {mount}/{name} does not exist") from None
        try:
            response = self._client.secrets.transit.decrypt_data(
                name=name, ciphertext=ciphertext, context=_b64(context), mount_point=mount
            )
        except hvac.exceptions.InvalidRequest as exc:
            if "not found" in " ".join(map(str, exc.errors or ())):
                raise UnknownKeyError(f"transit key {mount}/{name} does not exist") from None
            raise VaultDecryptError(
                f"Vault transit did not unwrap the data key under {key_id!r}: the wrapped key "
                f"or its context (row identity) does not match"
            ) from None
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise self._error(exc, f"unwrap a data key with transit key {mount}/{name}") from None
        try:
            data_key = base64.b64decode(response["data"]["plaintext"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            raise VaultDecryptError("Vault transit returned no usable data key") from None
        if len(data_key) != KEY_BYTES:
            raise VaultDecryptError("Vault transit returned a data key of the wrong length")
        return data_key

    # ------------------------------------------------------------------ helpers

    def _label(self, mount: str | None = None, name: str | None = None) -> str:
        return f"{mount or self._mount}/{name or self._name}"

    def _read_key(self, mount: str, name: str) -> dict[str, Any]:
        try:
            response = self._client.secrets.transit.read_key(name=name, mount_point=mount)
        except hvac.exceptions.InvalidPath:
            raise _KeyMissing(
                f"transit key {mount}/{name} does not exist; create it with derived=true "
                f"(vault write -f {mount}/keys/{name} derived=true)"
            ) from None
        except (hvac.exceptions.VaultError, requests.RequestException) as exc:
            raise self._error(exc, f"read transit key {mount}/{name}") from None
        data: dict[str, Any] = response["data"]
        return data

    def _require_derived(self, mount: str, name: str) -> None:
        if (mount, name) in self._derived_checked:
            return
        info = self._read_key(mount, name)
        if not info.get("derived"):
            raise KeyProviderConfigError(
                f"transit key {mount}/{name} is not a derived key, so it would ignore the row "
                f"identity; create a key with derived=true and rotate to it"
            )
        with self._lock:
            self._derived_checked.add((mount, name))

    def _error(self, exc: Exception, action: str) -> VaultError:
        """Our error for an hvac/requests failure: no server text, no token, no payload."""
        if isinstance(exc, hvac.exceptions.Unauthorized | hvac.exceptions.Forbidden):
            return KeyProviderConfigError(
                f"cannot {action}: Vault refused the token (permission denied); check "
                f"VAULT_TOKEN and its policy"
            )
        if isinstance(exc, requests.RequestException):
            return KeyProviderUnavailable(
                f"cannot {action}: Vault at {self._addr or 'VAULT_ADDR'} is unreachable "
                f"({type(exc).__name__})"
            )
        return KeyProviderUnavailable(f"cannot {action}: Vault answered {type(exc).__name__}")


class _KeyMissing(KeyProviderConfigError):
    """The transit key does not exist (a configuration error when it is the one to wrap with)."""


def _key_id(mount: str, name: str, version: int) -> str:
    return f"{TRANSIT_KEY_PREFIX}{mount}/{name}:v{version}"


def _version_of(ciphertext: str) -> int | None:
    match = re.match(r"vault:v([1-9][0-9]*):", ciphertext)
    return int(match.group(1)) if match else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
