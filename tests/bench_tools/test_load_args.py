"""``bench.load``'s command line refuses what it cannot run, before any case starts."""

from __future__ import annotations

import pytest

from bench.load import main


def test_repeat_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--repeat", "0", "--backends", "sqlite"])
    assert stopped.value.code == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err
