"""A controllable UTC clock: real time by default, shiftable and freezable for tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Every emulator reads time from here, so a test can move or freeze it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            step = timedelta(seconds=seconds)
            if self._frozen is not None:
                self._frozen += step
            else:
                self._offset += step
        return self.now()

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop time at ``at`` (default: the current sandbox time)."""
        current = at or self.now()
        with self._lock:
            self._frozen = current
        return current

    def unfreeze(self) -> None:
        """Let time run again from the frozen moment (the offset keeps the continuity)."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - datetime.now(UTC)
                self._frozen = None
