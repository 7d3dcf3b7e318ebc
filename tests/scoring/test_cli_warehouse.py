"""``sellerhub renormalize`` and ``sellerhub metrics rebuild|refresh`` through Typer, composed
the way ``sellerhub/cli.py`` registers them (``app.add_typer(cli_warehouse.app)``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import normalizer.stripe
from sellerhub import control
from sellerhub.runtime import Runtime
from sellerhub.settings import Settings
from tests.cli.payloads import stripe_charge
from tests.scoring.helpers import make_scope, warehouse_cli, write_stripe_charges
from warehouse.history import rows_as_of


def test_renormalize_and_metrics_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    home = tmp_path / "home"
    runtime = Runtime(Settings.from_env(home))
    try:
        scope = make_scope(runtime.engine, "stripe", tenant="CLI Lender")
        (connection,) = control.list_connections(runtime.engine)
        context = runtime.mapping_context(connection)
        raws = [stripe_charge(f"ch_{i}", 1000 + i, "usd", 1767225600 + 3600 * i) for i in range(3)]
        write_stripe_charges(runtime.engine, scope, context, raws, mapping_version=1)
    finally:
        runtime.close()

    runner = CliRunner()
    rebuilt = runner.invoke(warehouse_cli(), ["metrics", "rebuild", "--home", str(home)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "1 sellers, 1 seller-platform days" in rebuilt.output

    unchanged = runner.invoke(warehouse_cli(), ["renormalize", "--home", str(home)])
    assert unchanged.exit_code == 0, unchanged.output
    assert "daily metrics: 0 buckets recomputed" in unchanged.output
    assert "quarantine: 0 released, 0 superseded by a later fetch, 0 still refused" in (
        unchanged.output
    )

    original = normalizer.stripe.MAPPINGS["charges"]

    def renamed_channel(raw: dict[str, Any], ctx: Any) -> list[Any]:
        return [
            r.model_copy(update={"channel": "stripe-web"}) if r.external_id == "ch_1" else r
            for r in original(raw, ctx)
        ]

    monkeypatch.setitem(normalizer.stripe.MAPPINGS, "charges", renamed_channel)
    changed = runner.invoke(
        warehouse_cli(),
        ["renormalize", "--home", str(home), "--platform", "stripe", "--stream", "charges"],
    )
    assert changed.exit_code == 0, changed.output
    assert "orders: 1 rows changed" in changed.output
    assert "daily metrics: 1 buckets recomputed" in changed.output

    runtime = Runtime(Settings.from_env(home))
    try:
        rows = rows_as_of(runtime.engine, "orders", tenant_id=scope.tenant_id, as_of=None)
    finally:
        runtime.close()
    assert {r["external_id"]: (r["channel"], r["version"]) for r in rows} == {
        "ch_0": ("stripe", 1),
        "ch_1": ("stripe-web", 2),
        "ch_2": ("stripe", 1),
    }

    refreshed = runner.invoke(warehouse_cli(), ["metrics", "refresh", "--home", str(home)])
    assert refreshed.exit_code == 0, refreshed.output
