"""Medians over several runs of ``bench.load`` (its ``--output`` JSON files).

    PYTHONPATH=. .venv/bin/python -m bench.medians run1.json run2.json run3.json ...

The benchmark host is shared and one run can be off by 20 % or more, so a target is read on the
median of several runs. Each ratio is taken within its own run (our rate over dlt's, or over the
ceiling's at the same page size, in the same run), then the median of those ratios is reported;
each page size is its own row. Prints a Markdown table.
``bench.load --repeat N`` prints the same table after its N runs.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path

from bench.results import Result, load_run

Key = tuple[int, str, str, int | None]  # records asked for, backend, case, page size
REFERENCES = ("dlt", "ceiling", "ceiling-msgspec")


def median_table(runs: Sequence[Sequence[Result]]) -> str:
    by_key = [{(r.records_target, r.backend, r.case, r.page_size): r for r in run} for run in runs]
    keys = [key for key in by_key[0] if all(key in run and _ok(run[key]) for run in by_key)]
    lines = [
        "| N | database | case | page | records/s, each run | median | vs dlt, each run (median)"
        " | vs ceiling json / msgspec (median) |",
        "|---:|---|---|---:|---|---:|---|---|",
    ]
    for key in keys:
        records, backend, case, page = key
        rates = [run[key].rate for run in by_key]
        ratios: dict[str, list[float]] = {name: [] for name in REFERENCES}
        if case not in REFERENCES and not case.startswith("ceiling"):
            for run in by_key:
                for name in REFERENCES:
                    # dlt has no pages; a ceiling is compared at the same page size
                    reference = run.get((records, backend, name, None if name == "dlt" else page))
                    if reference is not None and _ok(reference):
                        ratios[name].append(run[key].rate / reference.rate)
        dlt = ratios["dlt"]
        vs_dlt = (
            " / ".join(f"{value:.2f}" for value in dlt) + f" (**{statistics.median(dlt):.2f}x**)"
            if dlt
            else ""
        )
        ceilings = ("ceiling", "ceiling-msgspec")
        vs_ceiling = (
            " / ".join(
                f"{statistics.median(ratios[name]):.2f}" if ratios[name] else "–"
                for name in ceilings
            )
            if any(ratios[name] for name in ceilings)
            else ""
        )
        lines.append(
            f"| {records:,} | {backend} | {case} | {page or ''}"
            f" | {' / '.join(f'{r:,.0f}' for r in rates)}"
            f" | {statistics.median(rates):,.0f} | {vs_dlt}"
            f" | {vs_ceiling} |"
        )
    return "\n".join(lines)


def _ok(result: Result) -> bool:
    return result.status == "ok" and result.rate > 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", type=Path, nargs="+", help="bench.load --output files")
    args = parser.parse_args(argv)
    print(median_table([load_run(path) for path in args.results]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
