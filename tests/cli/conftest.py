"""Run the ``sellerhub`` command two ways: in-process with Typer's CliRunner, and as the
installed console script in a subprocess (what a user runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerhub.cli import app


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


Invoke = Callable[..., Outcome]


def _environment(env: Mapping[str, str | None]) -> dict[str, str]:
    merged = {k: v for k, v in os.environ.items() if k not in env}
    merged.update({k: v for k, v in env.items() if v is not None})
    return merged


def via_runner(args: list[str], env: Mapping[str, str | None], cwd: Path) -> Outcome:
    result = CliRunner().invoke(app, args, env=dict(env))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not an exit: show its traceback
    return Outcome(result.exit_code, result.stdout, result.stderr)


def via_script(args: list[str], env: Mapping[str, str | None], cwd: Path) -> Outcome:
    script = Path(sys.executable).with_name("sellerhub")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sellerhub.cli"]
    done = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        env=_environment(env),
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Outcome(done.returncode, done.stdout, done.stderr)


def _invoker(how: Callable[..., Outcome], cwd: Path) -> Invoke:
    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Outcome:
        return how(list(args), {"DATABASE_URL": None, **(env or {})}, cwd)

    return invoke


@pytest.fixture(params=["cli_runner", "console_script"])
def sellerhub(request: pytest.FixtureRequest, tmp_path: Path) -> Invoke:
    """``sellerhub(*args, env={...})`` -> Outcome, run both ways; DATABASE_URL is unset unless
    given."""
    return _invoker(via_runner if request.param == "cli_runner" else via_script, tmp_path)


@pytest.fixture
def sellerhub_in_process(tmp_path: Path) -> Invoke:
    """The same, in-process only: for variations where a subprocess adds nothing but time."""
    return _invoker(via_runner, tmp_path)
