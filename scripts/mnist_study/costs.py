"""The cost of every job, from Snakemake's benchmark files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def stage_costs(bench_paths, dataset: str) -> pd.DataFrame:
    """One row per job from Snakemake's benchmark files.

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
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=["dataset", "job", "point", "seed", "wall_seconds", "cpu_seconds", "max_rss_mb"],
    )
    frame["seed"] = frame["seed"].astype("Int64")
    return frame
