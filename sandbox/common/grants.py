"""OAuth grants an emulator has issued: codes, refresh tokens, access tokens, revocations.

Persisted as one JSON file per platform under the state dir, keyed by SHA-256 of each token (the
raw secrets are never written), so a token issued by one process still works after another
process restarts the emulator on the same state dir.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sandbox.common.clock import Clock
from sandbox.common.jsonfile import locked, mtime_ns, read_json, write_json

AccessProblem = Literal["missing", "invalid", "expired", "revoked"]


@dataclass(frozen=True)
class TokenFormat:
    code_prefix: str
    access_prefix: str
    refresh_prefix: str
    code_lifetime: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int | None
    account: str
    scope: str


@dataclass(frozen=True)
class AccessCheck:
    account: str | None
    problem: AccessProblem | None = None


class GrantError(Exception):
    """An OAuth error response: ``error`` code (RFC 6749 section 5.2) and a description.

    ``reused``: a refresh token that a rotation had already replaced was presented again."""

    def __init__(
        self, error: str, description: str, status: int = 400, *, reused: bool = False
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.reused = reused


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _empty() -> dict[str, Any]:
    # "serial" numbers access tokens; "expired_upto" is the last serial made to expire early
    return {"codes": {}, "refresh": {}, "access": {}, "serial": 0, "expired_upto": 0}


class GrantStore:
    def __init__(self, path: Path, clock: Clock, fmt: TokenFormat) -> None:
        self._path = path
        self._clock = clock
        self._fmt = fmt
        self._lock = threading.RLock()
        self._data: dict[str, Any] = _empty()
        self._seen_mtime = -1
        self._reload()

    # -- persistence -------------------------------------------------------------------------
    def _reload(self) -> None:
        stamp = mtime_ns(self._path)
        if stamp != self._seen_mtime:
            self._data = {**_empty(), **read_json(self._path, _empty())}
            self._seen_mtime = stamp

    def _mutate(self) -> _Mutation:
        return _Mutation(self)

    # -- codes -------------------------------------------------------------------------------
    def issue_code(self, account: str, client_id: str | None, redirect_uri: str, scope: str) -> str:
        """A single-use code; ``client_id`` None when the consent step does not know it
        (Amazon's consent URL names the application, not the LWA client)."""
        code = self._fmt.code_prefix + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        now = self._clock.now()
        with self._mutate() as data:
            data["codes"][_digest(code)] = {
                "account": account,
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "expires_at": (now + self._fmt.code_lifetime).isoformat(),
                "used": False,
            }
        return code

    def redeem_code(
        self,
        code: str,
        client_id: str | None,
        redirect_uri: str | None,
        access_lifetime: int | None,
    ) -> IssuedTokens:
        """Exchange a code once; a replay, an expired code or another redirect_uri fail.

        ``client_id`` None: the caller authenticated otherwise (Stripe: the platform's secret
        key), so the grant keeps the client named at consent."""
        now = self._clock.now()
        with self._mutate() as data:
            entry = data["codes"].get(_digest(code))
            if entry is None:
                raise GrantError("invalid_grant", "The authorization code is invalid.")
            if entry["used"]:
                raise GrantError("invalid_grant", "The authorization code has already been used.")
            if now >= datetime.fromisoformat(entry["expires_at"]):
                raise GrantError("invalid_grant", "The authorization code has expired.")
            if None not in (entry["client_id"], client_id) and entry["client_id"] != client_id:
                raise GrantError("invalid_grant", "The code was issued to another client.")
            owner = client_id or entry["client_id"]
            if redirect_uri is not None and redirect_uri != entry["redirect_uri"]:
                raise GrantError("invalid_grant", "redirect_uri does not match the authorization.")
            entry["used"] = True
            refresh = self._fmt.refresh_prefix + secrets.token_urlsafe(32)
            data["refresh"][_digest(refresh)] = {
                "account": entry["account"],
                "client_id": owner,
                "scope": entry["scope"],
                "issued_at": now.isoformat(),
                "revoked": False,
            }
            access = self._new_access(data, entry["account"], _digest(refresh), access_lifetime)
            return IssuedTokens(access, refresh, access_lifetime, entry["account"], entry["scope"])

    # -- refresh -----------------------------------------------------------------------------
    def refresh(
        self,
        refresh_token: str,
        client_id: str | None,
        access_lifetime: int | None,
        *,
        rotate: bool = False,
    ) -> IssuedTokens:
        """A new access token. With ``rotate`` the refresh token is single-use: the answer
        carries a new one, and the one presented answers ``invalid_grant`` from then on."""
        with self._mutate() as data:
            key = _digest(refresh_token)
            entry = data["refresh"].get(key)
            if entry is None or client_id not in (None, entry["client_id"]):
                raise GrantError("invalid_grant", "The refresh token is invalid.")
            if entry["revoked"]:
                raise GrantError("invalid_grant", "The refresh token has been revoked.")
            if entry.get("replaced_by"):
                raise GrantError(
                    "invalid_grant", "The refresh token has already been used.", reused=True
                )
            if rotate:
                replacement = self._fmt.refresh_prefix + secrets.token_urlsafe(32)
                new_key = _digest(replacement)
                data["refresh"][new_key] = {
                    "account": entry["account"],
                    "client_id": entry["client_id"],
                    "scope": entry["scope"],
                    "issued_at": self._clock.now().isoformat(),
                    "revoked": False,
                }
                entry["replaced_by"] = new_key
                refresh_token, key = replacement, new_key
            access = self._new_access(data, entry["account"], key, access_lifetime)
            return IssuedTokens(
                access, refresh_token, access_lifetime, entry["account"], entry["scope"]
            )

    def _new_access(
        self, data: dict[str, Any], account: str, refresh_key: str, lifetime: int | None
    ) -> str:
        now = self._clock.now()
        token = self._fmt.access_prefix + secrets.token_urlsafe(32)
        data["serial"] += 1
        data["access"][_digest(token)] = {
            "account": account,
            "refresh": refresh_key,
            "serial": data["serial"],
            "issued_at": now.isoformat(),
            "expires_at": None
            if lifetime is None
            else (now + timedelta(seconds=lifetime)).isoformat(),
        }
        return token

    # -- API calls ---------------------------------------------------------------------------
    def check_access(self, token: str | None) -> AccessCheck:
        if not token:
            return AccessCheck(None, "missing")
        with self._lock:
            self._reload()
            entry = self._data["access"].get(_digest(token))
            if entry is None:
                return AccessCheck(None, "invalid")
            refresh = self._data["refresh"].get(entry["refresh"], {})
            if refresh.get("revoked", True):
                return AccessCheck(entry["account"], "revoked")
            now = self._clock.now()
            if entry["serial"] <= self._data["expired_upto"]:
                return AccessCheck(entry["account"], "expired")
            if entry["expires_at"] is not None and now >= datetime.fromisoformat(
                entry["expires_at"]
            ):
                return AccessCheck(entry["account"], "expired")
            return AccessCheck(entry["account"])

    # -- admin -------------------------------------------------------------------------------
    def revoke_account(self, account: str, client_id: str | None = None) -> int:
        """Revoke every grant the seller gave (to ``client_id`` only, when given)."""
        count = 0
        with self._mutate() as data:
            for entry in data["refresh"].values():
                mine = entry["account"] == account and not entry["revoked"]
                if mine and client_id in (None, entry["client_id"]):
                    entry["revoked"] = True
                    count += 1
        return count

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working now."""
        with self._mutate() as data:
            data["expired_upto"] = data["serial"]

    def has_grant(self, account: str, client_id: str) -> bool:
        with self._lock:
            self._reload()
            return any(
                e["account"] == account and e["client_id"] == client_id and not e["revoked"]
                for e in self._data["refresh"].values()
            )


class _Mutation:
    """Context manager: lock the file, reload, let the caller change the data, save."""

    def __init__(self, store: GrantStore) -> None:
        self._store = store
        self._file_lock = locked(store._path)

    def __enter__(self) -> dict[str, Any]:
        self._store._lock.acquire()
        self._file_lock.__enter__()
        self._store._seen_mtime = -1
        self._store._reload()
        return self._store._data

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                write_json(self._store._path, self._store._data)
                self._store._seen_mtime = mtime_ns(self._store._path)
        finally:
            self._file_lock.__exit__(None, None, None)
            self._store._lock.release()
