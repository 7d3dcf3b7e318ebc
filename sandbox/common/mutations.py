"""Changes made through the admin API (new activity, status changes), persisted and replayed.

A later process serving the same state dir replays them in order, so it sees the same orders,
ids and amounts as the process that made them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.common.jsonfile import locked, read_json, write_json

log = logging.getLogger(__name__)


def replay(log_: MutationLog, apply: Callable[[dict[str, Any], int], object]) -> None:
    """Apply every stored change in order. A change naming an account or order this world does
    not have (state written by another emulator version) is skipped with a warning, so an old
    data home still starts."""
    for seq, entry in enumerate(log_.entries()):
        try:
            apply(entry, seq)
        except KeyError as missing:
            log.warning(
                "sandbox: skipping stored change %d (%s): unknown id %s",
                seq,
                entry.get("kind"),
                missing,
            )


class MutationLog:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            data: list[dict[str, Any]] = read_json(self._path, [])
            return data

    def append(self, entry: dict[str, Any]) -> int:
        """Store ``entry``; return its sequence number (0-based)."""
        with self._lock, locked(self._path):
            data: list[dict[str, Any]] = read_json(self._path, [])
            data.append(entry)
            write_json(self._path, data)
            return len(data) - 1
