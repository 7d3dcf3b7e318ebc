"""``bench.medians``: ratios are taken within each run, then the median over runs."""

from __future__ import annotations

import json
from pathlib import Path

from bench.medians import median_table
from bench.results import load_run


def _run(
    path: Path,
    rates: dict[str, float],
    ours_status: str = "ok",
    page_sizes: tuple[int, ...] = (1000,),
) -> Path:
    """A saved run; every case but dlt (which has no pages) at each of ``page_sizes``, the rates
    of the first page size divided by the position of each later one (1, 2, ...)."""
    results = [
        {
            "records_target": 1000,
            "backend": "sqlite",
            "case": case,
            "page_size": None if case == "dlt" else page,
            "records": 1000,
            "seconds": 1000 / (per_second / (1 if case == "dlt" else position)),
            "status": ours_status if case == "ours" else "ok",
        }
        for case, per_second in rates.items()
        for position, page in enumerate(page_sizes[:1] if case == "dlt" else page_sizes, 1)
    ]
    path.write_text(json.dumps({"machine": {}, "results": results}), encoding="utf-8")
    return path


def _rates(ceiling: float, dlt: float, ours: float) -> dict[str, float]:
    return {"ceiling": ceiling, "ceiling-msgspec": 2 * ceiling, "dlt": dlt, "ours": ours}


def test_ratios_are_per_run_then_median(tmp_path: Path) -> None:
    runs = [
        load_run(path)
        for path in [
            _run(tmp_path / "a.json", _rates(ceiling=1000, dlt=100, ours=300)),
            _run(tmp_path / "b.json", _rates(ceiling=2000, dlt=200, ours=400)),
            _run(tmp_path / "c.json", _rates(ceiling=500, dlt=50, ours=100)),
        ]
    ]
    ours = next(line for line in median_table(runs).splitlines() if "| ours |" in line)
    cells = [cell.strip() for cell in ours.split("|")]
    assert cells[4] == "1000"  # page size
    assert cells[5] == "300 / 400 / 100"
    assert cells[6] == "300"  # median rate
    # 3.00, 2.00, 2.00 within their runs: the median ratio is 2.00, not 300 / 100
    assert cells[7] == "3.00 / 2.00 / 2.00 (**2.00x**)"
    assert cells[8] == "0.20 / 0.10"  # medians of 0.3, 0.2, 0.2 and of 0.15, 0.1, 0.1


def test_a_case_that_did_not_finish_in_every_run_is_left_out(tmp_path: Path) -> None:
    runs = [
        load_run(path)
        for path in [
            _run(tmp_path / "a.json", _rates(ceiling=1000, dlt=100, ours=300)),
            _run(tmp_path / "b.json", _rates(ceiling=1000, dlt=100, ours=300), "timeout"),
        ]
    ]
    table = median_table(runs)
    assert "| ours |" not in table
    assert "| dlt |" in table


def test_ceiling_ratios_without_a_dlt_case(tmp_path: Path) -> None:
    rates = {"ceiling": 1000.0, "ceiling-msgspec": 2000.0, "ours": 500.0}
    runs = [load_run(_run(tmp_path / "a.json", rates))]
    ours = next(line for line in median_table(runs).splitlines() if "| ours |" in line)
    cells = [cell.strip() for cell in ours.split("|")]
    assert cells[7] == ""  # no dlt case to compare with
    assert cells[8] == "0.50 / 0.25"


def test_each_page_size_is_its_own_row_against_its_own_ceiling(tmp_path: Path) -> None:
    rates = _rates(ceiling=1000, dlt=100, ours=300)
    runs = [load_run(_run(tmp_path / "a.json", rates, page_sizes=(100, 1000)))]
    rows = [line for line in median_table(runs).splitlines() if "| ours |" in line]
    cells = [[cell.strip() for cell in row.split("|")] for row in rows]
    # page 1000 runs at half the rate of page 100 (the helper's rule), and so does its ceiling
    assert [(row[4], row[6], row[7], row[8]) for row in cells] == [
        ("100", "300", "3.00 (**3.00x**)", "0.30 / 0.15"),
        ("1000", "150", "1.50 (**1.50x**)", "0.30 / 0.15"),
    ]
