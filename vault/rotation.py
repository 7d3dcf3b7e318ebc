"""Re-wrapping every data key under a provider's current key, and checking every row opens.

Rotation changes only ``key_id`` and ``wrapped_key`` of a row: the token ciphertext stays.
It works row by row, each row read in one short transaction and swapped in another with a
compare-and-swap on the columns it read, so syncs keep saving tokens meanwhile: a row saved
since it was read is left as saved (it is retried if it was saved under an older key). Remote
calls (KMS, Vault) happen outside any database transaction.

After the first pass, rows still under another key (saved by a process that had not yet seen
the new key) are swept again, a few passes at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from vault.chain import ChainedKeyProvider
from vault.envelope import open_sealed, rewrap
from vault.errors import KeyProviderConfigError, KeyProviderUnavailable, VaultError
from vault.keys import KeyProvider
from vault.store import SecretRef, Vault

Progress = Callable[[int, int], None]
"""Called with (rows done, rows to do) after each row; the total grows if a sweep is needed."""


@dataclass(frozen=True)
class RowFailure:
    """A row that did not open: its identity, its key id and why (never secret material)."""

    ref: SecretRef
    key_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.ref} [{self.key_id}]: {self.reason}"


@dataclass
class RotationReport:
    target_key_id: str
    rows: int = 0
    rewrapped: int = 0
    saved_meanwhile: int = 0  # saved by others under the target key while rotating: left alone
    vanished: int = 0  # deleted while rotating
    passes: int = 0
    remaining: int = 0  # rows still under another key after the last pass (failures excluded)
    from_keys: Counter[str] = field(default_factory=Counter)
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every row that exists is wrapped under the target key."""
        return not self.failures and self.remaining == 0


@dataclass
class VerifyReport:
    rows: int = 0
    opened: int = 0
    by_key: Counter[str] = field(default_factory=Counter)
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.failures


def rotate(
    vault: Vault,
    new_provider: KeyProvider,
    *,
    progress: Progress | None = None,
    only_stale: bool = False,
    max_passes: int = 5,
    max_attempts: int = 5,
) -> RotationReport:
    """Re-wrap the data key of every row under ``new_provider``'s current key.

    Rows open with ``new_provider`` or, failing that, with the vault's own provider. With
    ``only_stale`` the first pass skips rows already under the target key (resuming an
    interrupted rotation); otherwise every row is re-wrapped (e.g. after a KMS key rotated
    its backing key, the key id stays the same). A row that does not open is reported and left
    unchanged. ``KeyProviderUnavailable`` or ``KeyProviderConfigError`` stops the rotation:
    rows done so far stay done, and running it again resumes.
    """
    opener = ChainedKeyProvider(new_provider, [vault.provider])
    report = RotationReport(target_key_id=new_provider.key_id)
    target = report.target_key_id
    failed: set[SecretRef] = set()
    # A row under a key no row used before this rotation was saved during it: nothing to do.
    skip_target = only_stale or target not in vault.key_usage()
    todo = vault.refs_not_under(target) if only_stale else vault.refs()
    report.rows = len(todo)
    done, total = 0, len(todo)
    while todo and report.passes < max_passes:
        report.passes += 1
        for ref in todo:
            _rotate_row(
                vault, ref, opener, new_provider, target, skip_target, report, failed, max_attempts
            )
            done += 1
            if progress is not None:
                progress(done, total)
        todo = [ref for ref in vault.refs_not_under(target) if ref not in failed]
        total += len(todo) if report.passes < max_passes else 0
    report.remaining = len(todo)
    return report


def _rotate_row(
    vault: Vault,
    ref: SecretRef,
    opener: KeyProvider,
    target_provider: KeyProvider,
    target: str,
    skip_target: bool,
    report: RotationReport,
    failed: set[SecretRef],
    max_attempts: int,
) -> None:
    for _ in range(max_attempts):
        sealed = vault.sealed(ref)
        if sealed is None:
            report.vanished += 1
            return
        if skip_target and sealed.key_id == target:
            report.saved_meanwhile += 1
            return
        try:
            wrapped = rewrap(sealed, ref.aad(), opener, target_provider)
        except (KeyProviderUnavailable, KeyProviderConfigError):
            raise
        except VaultError as exc:
            report.failures.append(RowFailure(ref, sealed.key_id, _reason(exc)))
            failed.add(ref)
            return
        if vault.swap_wrapped_key(ref, sealed, wrapped):
            report.rewrapped += 1
            report.from_keys[sealed.key_id] += 1
            return
        now = vault.sealed(ref)  # lost the race: someone saved or deleted the row meanwhile
        if now is None:
            report.vanished += 1
            return
        if now.key_id == target:
            report.saved_meanwhile += 1
            return
    # still contended after max_attempts: the next pass picks it up


def verify(vault: Vault, *, progress: Progress | None = None) -> VerifyReport:
    """Open every row with the vault's provider; list the rows that fail and why."""
    report = VerifyReport()
    refs = vault.refs()
    for done, ref in enumerate(refs, start=1):
        sealed = vault.sealed(ref)
        if sealed is not None:
            report.rows += 1
            report.by_key[sealed.key_id] += 1
            try:
                open_sealed(sealed, ref.aad(), vault.provider)
            except VaultError as exc:
                report.failures.append(RowFailure(ref, sealed.key_id, _reason(exc)))
            else:
                report.opened += 1
        if progress is not None:
            progress(done, len(refs))
    return report


def _reason(exc: VaultError) -> str:
    """The error's message without the row prefix (the row is listed beside it)."""
    message = str(exc)
    if message.startswith("cannot open secret "):
        message = message.split(": ", 1)[-1]
    return f"{type(exc).__name__}: {message}"
