"""Where a job's time goes: start, read, compute, write and record, in seconds.

`start` runs from the creation of the job's process (the interpreter, Snakemake's
preamble that unpickles the `snakemake` object, the script's imports) to its `main`;
a rule script then calls `begin("read")`, `begin("compute")` and `begin("write")` as it
reaches each part (a script that marks none counts its whole `main` as compute), and
`runtime.run_rule` ends with `record`, the job record itself. The job record keeps
them (`phases`), and the stage_costs table shows them per job.

Standard library only, so that it costs a job nothing to import.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PHASES = ("start", "read", "compute", "write", "record")

# (phase, time.perf_counter() when it began), in order; `start` began with the process.
_marks: list[tuple[str, float]] = []


def process_age() -> float:
    """Seconds since this process was created (Linux: /proc), else since this module's
    import."""
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat.rpartition(")")[2].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()


_start_cpu = 0.0  # the process's CPU seconds when its start ended
_provisional = False  # the last mark is main's own, until the script marks a phase


def enter_main() -> None:
    """runtime.run_rule calls `main`: until the script marks a phase of its own, the
    time from here is compute; the script's first mark moves this one (its set-up, the
    log and the threads, stays in start)."""
    global _provisional
    begin("compute")
    _provisional = True


def begin(phase: str) -> None:
    """The job enters `phase` (one of PHASES) now; the first call also opens `start`,
    dated from the process's creation."""
    global _provisional
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; one of {', '.join(PHASES)}")
    now = time.perf_counter()
    if not _marks:
        global _start_cpu
        _marks.append(("start", now - process_age()))
        _start_cpu = time.process_time()
    if _provisional:
        if phase != "record":  # a script that marked nothing: its main was compute
            _marks.pop()
        _provisional = False
    if _marks[-1][0] != phase:
        _marks.append((phase, now))


def seconds() -> dict[str, float]:
    """{phase: seconds} so far, every phase of PHASES (0 where the job had none), and
    `start_cpu`: the CPU seconds the start took, which other processes on the same
    cores do not stretch as they stretch its wall time."""
    totals = dict.fromkeys(PHASES, 0.0)
    ends = [at for _, at in _marks[1:]] + [time.perf_counter()]
    for (phase, began), ended in zip(_marks, ends, strict=True):
        totals[phase] += ended - began
    return {phase: round(value, 4) for phase, value in totals.items()} | {
        "start_cpu": round(_start_cpu, 4)
    }
