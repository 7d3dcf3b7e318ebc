"""One provider in front, others behind: new wraps use the first, unwraps go by key id.

Used while moving from one provider to another (local key to AWS KMS, say): rows not yet
re-wrapped still open through the provider that wrapped them.
"""

from __future__ import annotations

from collections.abc import Iterable

from vault.errors import UnknownKeyError
from vault.keys import KeyProvider, WrappedKey


class ChainedKeyProvider:
    """Wraps with ``current``; unwraps with the first provider that holds the key id.

    A provider that does not hold an id raises ``UnknownKeyError`` (without asking a remote
    service), and the next one is tried. Any other failure is final: the key was found and the
    wrapped key or its context is wrong.
    """

    __slots__ = ("_current", "_others")

    def __init__(self, current: KeyProvider, others: Iterable[KeyProvider] = ()) -> None:
        self._current = current
        self._others = tuple(p for p in others if p is not current)

    def __repr__(self) -> str:
        return f"ChainedKeyProvider(current={self._current!r}, others={list(self._others)!r})"

    @property
    def current(self) -> KeyProvider:
        return self._current

    @property
    def providers(self) -> tuple[KeyProvider, ...]:
        """Every provider, the current one first."""
        return (self._current, *self._others)

    @property
    def key_id(self) -> str:
        return self._current.key_id

    def wrap(self, data_key: bytes, context: bytes) -> WrappedKey:
        return self._current.wrap(data_key, context)

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        for provider in self.providers:
            try:
                return provider.unwrap(key_id, blob, context)
            except UnknownKeyError:
                continue
        raise UnknownKeyError(
            f"data key was wrapped under key {key_id!r}, which none of the configured key "
            f"providers holds"
        )


def flatten(provider: KeyProvider) -> tuple[KeyProvider, ...]:
    """The providers inside ``provider`` (itself if it is not a chain)."""
    if isinstance(provider, ChainedKeyProvider):
        return tuple(p for inner in provider.providers for p in flatten(inner))
    return (provider,)
