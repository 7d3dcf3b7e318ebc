"""The bench's CPU reading survives threads that end while the process tree is walked."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from bench import worker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_a_vanishing_thread_does_not_drop_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    real_read_text = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "children":  # as if each thread ended just before this read
            raise FileNotFoundError(self)
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    stats = list(worker._tree_files(os.getpid(), "stat"))
    assert len(stats) == 1
    assert stats[0].startswith(f"{os.getpid()} ")


def test_cpu_of_a_child_is_counted_and_never_goes_back() -> None:
    before = worker.cpu_seconds()
    pid = os.fork()
    if pid == 0:  # child: burn 0.3 s of CPU, then leave without cleanup
        while time.process_time() < 0.3:
            pass
        os._exit(0)
    os.waitpid(pid, 0)  # the parent itself spends next to nothing meanwhile
    assert worker.cpu_seconds() - before >= 0.25
