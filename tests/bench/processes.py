"""What each process of a running system costs, read from /proc: CPU time (user + system) and peak
resident memory (VmHWM). Taken before and after a run, so the bench prints CPU milliseconds per case."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
POSTGRES = "postgres (server)"  # the name its row goes by: sampled with its backends


def machine_speed() -> float:
    """Seconds of CPU a fixed piece of Python takes now (about 0.6 s on the 2-core machine of issue 15's figures).
    A virtual machine's speed drifts, by up to 2x within minutes there: runs compare only at similar readings."""
    began = time.process_time()
    sum(i * i for i in range(10**7))
    return time.process_time() - began


@dataclass(frozen=True)
class Sample:
    cpu_seconds: float
    peak_rss: int  # bytes


def sample(pid: int, *, with_children: bool = False) -> Sample | None:
    """The process's CPU time so far and its peak RSS, or None if it is gone. `with_children`: the CPU of
    its children too, those running and those ended (PostgreSQL's work is done by a backend per connection)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    fields = _fields(stat)
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    if with_children:
        cpu += (int(fields[13]) + int(fields[14])) / TICKS  # cutime, cstime: children already ended
        cpu += sum(child.cpu_seconds for c in _descendants(pid) if (child := sample(c)))
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return Sample(cpu, int(match.group(1)) * 1024 if match else 0)


def samples(pids: dict[str, int]) -> dict[str, Sample]:
    """Each named process still running, PostgreSQL's server (POSTGRES) with its backends."""
    return {name: s for name, pid in pids.items() if (s := sample(pid, with_children=name == POSTGRES)) is not None}


def _fields(stat: str) -> list[str]:
    return stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from one reading of /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_fields((entry / "stat").read_text())[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cost_table(before: dict[str, Sample], after: dict[str, Sample], count: float, per: str = "case") -> list[str]:
    """One line per process, most expensive first, and the total: CPU ms per `per` (cases, or seconds idle),
    `count` of them, and peak RSS."""
    rows = []
    for name, end in after.items():
        start = before.get(name)
        if start is None:
            continue
        rows.append((name, (end.cpu_seconds - start.cpu_seconds) * 1000 / count, end.peak_rss))
    rows.sort(key=lambda r: -r[1])
    lines = [f"  {'process':<22}{f'CPU ms/{per}':>12}{'peak RSS':>12}"]
    lines += [f"  {name:<22}{ms:>12.2f}{rss / 2**20:>9.0f} MiB" for name, ms, rss in rows]
    lines.append(f"  {'total':<22}{sum(r[1] for r in rows):>12.2f}{sum(r[2] for r in rows) / 2**20:>9.0f} MiB")
    return lines
