"""The cost of every job, from Snakemake's benchmark files and the jobs' own records."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .phases import PHASES

# The time of each phase of a job (phases.py), from its record beside its log.
PHASE_COLUMNS = [f"{phase}_seconds" for phase in PHASES]


def job_record_of(bench_path: Path) -> Path:
    """The record of the job a benchmark file measured: the rules keep the one under
    benchmarks/ and the other under logs/, by the same name (rules/common.smk)."""
    parts = list(bench_path.parts)
    if "benchmarks" not in parts:
        return bench_path.with_suffix(".log.json")
    index = len(parts) - 1 - parts[::-1].index("benchmarks")
    parts[index] = "logs"
    return Path(*parts).with_suffix(".log.json")


def job_phases(bench_path: Path) -> dict[str, float]:
    """{start_seconds: ..., record_seconds: ...} of the job, NaN where its record is
    missing or older than phases (a run of only some targets, a job run elsewhere)."""
    record = job_record_of(bench_path)
    try:
        phases = json.loads(record.read_text()).get("phases", {})
    except (OSError, ValueError):
        phases = {}
    return {f"{p}_seconds": float(phases.get(p, float("nan"))) for p in PHASES}


def stage_costs(bench_paths, dataset: str) -> pd.DataFrame:
    """One row per job from Snakemake's benchmark files, with where the job's time went
    (its phases: start, read, compute, write, record) from its record.

    A job run once per dataset has its rule's name (`benchmarks/<job>.tsv`); a job run
    per point and seed (`benchmarks/<job>/<point>/seed-<n>.tsv`) names them too.
    """
    rows = []
    for path in map(Path, bench_paths):
        run = path.parent.name if path.stem.startswith("seed-") else None
        job = path.parent.parent.name if run else path.stem
        bench = pd.read_csv(path, sep="\t")
        for _, line in bench.iterrows():
            rows.append(
                {
                    "dataset": dataset,
                    "job": job,
                    "point": run,
                    "seed": int(path.stem.removeprefix("seed-")) if run else None,
                    "wall_seconds": float(line["s"]),
                    "cpu_seconds": float(line["cpu_time"]),
                    "max_rss_mb": float(line["max_rss"]) if line["max_rss"] != "-" else None,
                    **job_phases(path),
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "job",
            "point",
            "seed",
            "wall_seconds",
            "cpu_seconds",
            "max_rss_mb",
            *PHASE_COLUMNS,
        ],
    )
    frame["seed"] = frame["seed"].astype("Int64")
    return frame
