"""One benchmark case in its own process, so its peak memory is its own.

``python -m bench.worker CASE BACKEND URL DATA PAGE_SIZE WORKDIR`` prints a progress line every
few seconds and, at the end, a result line (JSON): records, seconds (the load only: schema
set-up is not timed), CPU seconds of this process and its children, peak RSS in MiB, and for
PostgreSQL the CPU seconds its server used meanwhile (``bench.server_cpu``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.databases import Database
from bench.generate import RECORDS_READ
from bench.server_cpu import server_cpu_seconds

PROGRESS_EVERY = 5.0


def _case(
    name: str, database: Database, data: Path, page_size: int, workdir: Path
) -> tuple[Callable[[], int], Callable[[], None]]:
    if name == "ours":
        from bench import case_ours

        return case_ours.run(database.url, data, page_size)
    if name.startswith("procs-"):  # procs-N: ours in N sync processes
        from bench import case_processes

        return case_processes.run(database.url, data, page_size, int(name.split("-", 1)[1]))
    if name.startswith("import"):  # import or import-N (N worker processes)
        from bench import case_import

        workers = int(name.split("-", 1)[1]) if "-" in name else None
        return case_import.run(database.url, data, page_size, workers)
    if name == "dlt":
        from bench import case_dlt

        return case_dlt.run(database, data, page_size, workdir)
    if name.startswith("ceiling"):
        from bench import case_ceiling

        # ceiling[-executemany][-msgspec]: COPY or executemany; json.loads or the hub's parser
        method = "executemany" if "executemany" in name else "copy"
        parser = "sellerhub" if name.endswith("msgspec") else "json"
        return case_ceiling.run(database, data, page_size, method, parser)
    raise SystemExit(f"unknown case {name!r}")


TREE_PEAK = [0.0]  # the largest memory (PSS) of this process and its descendants seen


def peak_rss_mib() -> float:
    """The larger of this process's own peak (``VmHWM``), its largest child's, and the sampled
    peak of the whole process tree (the cases with worker processes use several at once).

    Not ``ru_maxrss`` of the process itself: Linux carries it over ``exec`` from the forked
    parent, so every worker started at the launcher's size (``bench/load.py`` holding the
    generated records)."""
    own = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB
    return max(own, children, TREE_PEAK[0])


def _tree_rss_mib(pid: int) -> float:
    """Memory of ``pid`` and all its descendants now: the sum of their PSS (Linux /proc), so
    pages a forked worker still shares with its parent count once."""
    total = 0.0
    for status in _tree_files(pid, "smaps_rollup"):
        for line in status.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) / 1024
    return total


def _tree_files(pid: int, name: str) -> Iterator[str]:
    """``/proc/<p>/<name>`` of ``pid`` and of each live descendant; a process that ended
    meanwhile is skipped."""
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            text = Path(f"/proc/{current}/{name}").read_text()
        except OSError:
            continue
        pending.extend(_children(current))
        yield text


def _children(pid: int) -> list[int]:
    """Child pids of every thread of ``pid``. A thread that ends while its ``children`` file is
    read is skipped: it used to drop the whole process from the sum (negative CPU figures
    when a pool's handler threads ended during the final reading)."""
    children: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return children
    for task in tasks:
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return children


def _sample_tree(stop: threading.Event) -> None:
    while not stop.wait(0.2):
        TREE_PEAK[0] = max(TREE_PEAK[0], _tree_rss_mib(os.getpid()))


def cpu_seconds() -> float:
    """CPU of this process and every process under it, alive or ended.

    ``RUSAGE_CHILDREN`` alone misses a child still running when the load ends, and everything
    below it: ``import-2``'s workers are children of the multiprocessing ``forkserver``, which
    lives until this process exits. So the whole tree is read from ``/proc`` (each process's
    own time plus what it has reaped); ``getrusage`` where there is no ``/proc``."""
    if not Path("/proc/self/stat").exists():
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total
    return _tree_cpu_ticks(os.getpid()) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime (clock ticks, proc(5)) of ``pid`` and of its live
    descendants; an ended child is in its parent's cutime and cstime once reaped."""
    total = 0
    for stat in _tree_files(pid, "stat"):
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
        total += sum(int(fields[index]) for index in (11, 12, 13, 14))  # fields 14-17
    return total


_REPORTING = threading.Lock()


def _report(kind: str, **values: float | int) -> None:
    """One JSON line, written whole: the progress thread and the final result must not
    interleave (two objects on one line broke the launcher's reading once)."""
    line = json.dumps({"kind": kind, **values}) + "\n"
    with _REPORTING:
        sys.stdout.write(line)
        sys.stdout.flush()


def _progress(started: float, stop: threading.Event) -> None:
    while not stop.wait(PROGRESS_EVERY):
        _report(
            "progress",
            records_read=RECORDS_READ[0],
            seconds=time.perf_counter() - started,
            peak_rss_mib=peak_rss_mib(),
        )


def main(argv: list[str]) -> None:
    name, backend, url, data, page_size, workdir = argv
    database = Database(backend, url)
    baseline = peak_rss_mib()
    load, teardown = _case(name, database, Path(data), int(page_size), Path(workdir))
    server_before = server_cpu_seconds() if backend == "postgres" else None
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    stop = threading.Event()
    progress = threading.Thread(target=_progress, args=(started, stop), daemon=True)
    progress.start()
    threading.Thread(target=_sample_tree, args=(stop,), daemon=True).start()
    records = load()
    seconds = time.perf_counter() - started
    server_after = server_cpu_seconds() if server_before is not None else None
    stop.set()
    progress.join()
    teardown()
    server = {}
    if server_before is not None and server_after is not None:
        server["server_cpu_seconds"] = server_after - server_before
    _report(
        "result",
        records=records,
        seconds=seconds,
        cpu_seconds=cpu_seconds() - cpu_before,
        peak_rss_mib=peak_rss_mib(),
        baseline_rss_mib=baseline,
        **server,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
