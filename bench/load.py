"""Load benchmark: ours vs dlt vs a bare driver upsert, on SQLite and PostgreSQL, side by side.

    python -m bench.load                       # 100k and 1M records, page sizes 100 and 1000
    python -m bench.load --records 100000 --backends sqlite --cases ours ceiling

Every case runs in its own process (``bench.worker``) on a fresh database (a SQLite file in the
work directory; a throw-away PostgreSQL database on 127.0.0.1:5432, skipped with a message when
the server is absent) and reads the same generated records (``bench.generate``). Reported per
case: records per second (wall clock of the load, set-up excluded), CPU seconds, peak RSS, the
database size, and the ratios that the targets are about. A case that runs past ``--timeout``
is stopped and its partial figures are kept. See bench/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import databases
from bench.generate import data_path, generate
from bench.medians import median_table
from bench.results import Result, load_results

CASES = ("ceiling", "ours", "procs-2", "procs-3", "import", "import-2", "dlt")
PAGED = {
    "ours", "procs-2", "procs-3", "import", "import-2", "ceiling", "ceiling-executemany",
    "ceiling-msgspec",
}  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]


def _run_case(
    case: str,
    backend: str,
    records: int,
    page_size: int | None,
    data: Path,
    workdir: Path,
    server: str | None,
    timeout: float,
) -> Result:
    label = f"{case}-{page_size or 'x'}-{records}"
    result = Result(records, backend, case, page_size)
    database = databases.create(backend, workdir, label, server)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "bench.worker", case, backend, database.url, str(data),
        str(page_size or 1000), str(workdir),
    ]  # fmt: skip
    result.load_before = os.getloadavg()[0]
    last: dict[str, Any] = {}
    stderr_path = workdir / f"{label}-{backend}.stderr"
    try:
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
            )
            lines: queue.Queue[str] = queue.Queue()
            reader = threading.Thread(target=_pump, args=(process, lines), daemon=True)
            reader.start()
            deadline = time.monotonic() + timeout
            while process.poll() is None and time.monotonic() < deadline:
                last = _drain(lines, last, verbose=True)
                time.sleep(0.5)
            if process.poll() is None:
                process.kill()
                result.status = "timeout"
            process.wait()
            reader.join(timeout=5)
            last = _drain(lines, last, verbose=False)
        if last.get("kind") == "result":
            for key in ("records", "seconds", "cpu_seconds", "peak_rss_mib", "baseline_rss_mib"):
                setattr(result, key, last[key])
            result.server_cpu_seconds = last.get("server_cpu_seconds")
        elif last.get("kind") == "progress":
            result.records = last["records_read"]
            result.seconds = last["seconds"]
            result.peak_rss_mib = last["peak_rss_mib"]
            result.note = "partial: stopped at the time limit" if result.status == "timeout" else ""
        if process.returncode not in (0, None) and result.status == "ok":
            result.status = "failed"
            result.note = stderr_path.read_text()[-400:].strip().replace("\n", " ")
        if result.status != "failed":
            result.db_mib = databases.size_bytes(database) / 2**20
    finally:
        result.load_after = os.getloadavg()[0]
        databases.drop(database, server)
    return result


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def _drain(lines: queue.Queue[str], last: dict[str, Any], verbose: bool) -> dict[str, Any]:
    """The newest JSON line the worker printed (progress or result)."""
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            return last
        if not line.startswith("{"):
            continue
        last = json.loads(line)
        if verbose and last.get("kind") == "progress":
            print(
                f"    … {last['records_read']:,} records read in {last['seconds']:.0f} s",
                file=sys.stderr,
            )


def _machine(server: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (OSError, ValueError):
        pass
    try:
        import dlt

        info["dlt"] = dlt.__version__
    except ImportError:
        info["dlt"] = None
    if server is not None:
        from sqlalchemy import create_engine, text

        engine = create_engine(server)
        with engine.connect() as conn:
            info["postgres"] = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
    return info


def _plan(args: argparse.Namespace, backends: list[str]) -> list[tuple[int, str, str, int | None]]:
    plan: list[tuple[int, str, str, int | None]] = []
    for records in args.records:
        for backend in backends:
            for case in args.cases:
                variants = [case]
                if case == "ceiling":
                    variants = ["ceiling", "ceiling-msgspec"]
                    if backend == "postgres":
                        variants.append("ceiling-executemany")
                for variant in variants:
                    sizes: list[int | None] = list(args.page_sizes) if variant in PAGED else [None]
                    plan.extend((records, backend, variant, size) for size in sizes)
    return plan


def table(results: list[Result]) -> str:
    """A Markdown table, with each rate against dlt and against the best ceiling of its group."""
    rows = [
        "| N | database | case | page | records/s | vs dlt | vs ceiling | records/CPU-s "
        "| server µs/record | peak RSS MiB | DB MiB | load avg | status |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        group = [
            r
            for r in results
            if (r.records_target, r.backend) == (result.records_target, result.backend)
            and r.status != "failed"
        ]
        dlt = max((r.rate for r in group if r.case == "dlt"), default=0.0)
        ceiling = max((r.rate for r in group if r.case.startswith("ceiling")), default=0.0)
        vs_dlt = f"{result.rate / dlt:.2f}x" if dlt and result.case != "dlt" else ""
        is_ceiling = result.case.startswith("ceiling")
        vs_ceiling = f"{result.rate / ceiling:.2f}" if ceiling and not is_ceiling else ""
        cpu_rate = f"{result.records / result.cpu_seconds:,.0f}" if result.cpu_seconds else ""
        server = ""
        if result.server_cpu_seconds is not None and result.records:
            server = f"{result.server_cpu_seconds / result.records * 1e6:,.0f}"
        status = result.status
        if result.status == "timeout":
            status = f"stopped at {result.seconds:.0f} s after {result.records:,} records"
        elif result.note:
            status = f"{result.status}: {result.note[:100]}"
        load = (result.load_before + result.load_after) / 2
        rows.append(
            f"| {result.records_target:,} | {result.backend} | {result.case} "
            f"| {result.page_size or ''} | {result.rate:,.0f} | {vs_dlt} | {vs_ceiling} "
            f"| {cpu_rate} | {server} | {result.peak_rss_mib:.0f} | {result.db_mib:.0f} "
            f"| {load:.1f} "
            f"| {status} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--page-sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--accounts", type=int, default=10, help="connected accounts (connections)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per case")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="data and SQLite files (default: a temp dir)"
    )
    parser.add_argument("--output", type=Path, default=None, help="write results JSON here")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every case N times, in turn, and print the medians (bench.medians); with"
        " --output, run K goes to <name>-runK.json",
    )
    parser.add_argument(
        "--render", type=Path, nargs="+", default=None, help="print the table of saved results"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.render:
        print(table(load_results(args.render)))
        return 0

    server = databases.postgres_server() if "postgres" in args.backends else None
    backends = [b for b in args.backends if b != "postgres" or server is not None]
    if "postgres" in args.backends and server is None:
        print("PostgreSQL is absent: its cases are skipped", file=sys.stderr)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sellerhub-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    machine = _machine(server)
    print(f"machine: {machine}\nwork directory: {workdir}", file=sys.stderr)

    runs: list[list[Result]] = []
    for run in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"run {run} of {args.repeat}", file=sys.stderr)
        output = args.output
        if output is not None and args.repeat > 1:
            output = output.with_name(f"{output.stem}-run{run}{output.suffix}")
        runs.append(_run_all(args, backends, workdir, server, machine, output))
        print(table(runs[-1]))
    if args.repeat > 1:
        print(f"\nmedians over {args.repeat} runs\n")
        print(median_table(runs))
    return 0 if all(r.status != "failed" for run in runs for r in run) else 1


def _run_all(
    args: argparse.Namespace,
    backends: list[str],
    workdir: Path,
    server: str | None,
    machine: dict[str, Any],
    output: Path | None,
) -> list[Result]:
    """Every planned case once, in order; the results so far are saved after each case."""
    results: list[Result] = []
    for records, backend, case, page_size in _plan(args, backends):
        data = data_path(workdir, records, args.accounts, args.seed)
        if not data.exists():
            print(f"generating {records:,} records -> {data}", file=sys.stderr)
            generate(data, records, args.accounts, args.seed)
        print(f"{records:,} {backend} {case} page={page_size}", file=sys.stderr)
        result = _run_case(case, backend, records, page_size, data, workdir, server, args.timeout)
        print(
            f"    {result.rate:,.0f} records/s, peak {result.peak_rss_mib:.0f} MiB, "
            f"{result.status} {result.note}",
            file=sys.stderr,
        )
        results.append(result)
        if output:
            output.write_text(
                json.dumps({"machine": machine, "results": [asdict(r) for r in results]}, indent=1)
            )
    return results


if __name__ == "__main__":
    sys.exit(main())
