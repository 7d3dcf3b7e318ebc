"""CPU time of the PostgreSQL server on this machine, for the cases that load into it.

A PostgreSQL load spends CPU in two places: the loading process (``records/CPU-s``) and the
server's backends, WAL writer, checkpointer and background writer. On a 2-core host both draw on
the same two cores, so the server's share decides how fast any loader can go. This reads it from
``/proc`` (proc(5)): the own ``utime + stime`` of every live process named ``postgres``, plus
what the postmaster has reaped from ended backends (``cutime + cstime``). It counts every
cluster on the machine, so it is only meaningful while nothing else uses the server (the bench
runs one case at a time). Where there is no ``/proc``, or no local server, it reads ``None``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def server_cpu_seconds() -> float | None:
    """Seconds of CPU the local PostgreSQL processes have used so far (None: not readable)."""
    if not (PROC / "self" / "stat").exists():
        return None
    ticks = 0
    found = False
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        name, _, rest = stat.partition(" (")[2].rpartition(")")
        if name != "postgres":
            continue
        found = True
        fields = rest.split()  # fields[0] is the state, proc(5) field 3
        parent = int(fields[1])
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        if not _is_postgres(parent):  # the postmaster: add its ended children
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16, 17)
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


def _is_postgres(pid: int) -> bool:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.partition(" (")[2].rpartition(")")[0] == "postgres"
