"""A sweep's jobs run side by side and add nothing beyond their own time.

    python bench/sweep.py [--cores 2] [--out bench/results/sweep]

On a fresh copy of the workflow, the bundled sample: the data stage first, then, timed,
a sweep of the MLP's width over four values (none of them config.yaml's, so all four
points train) with two seeds: 8 training jobs and the sweep's table. Reports the run's
wall time against the jobs' own time (the sum of their benchmark wall times over the
cores, the best any scheduler could do), the most jobs that ran at once (from the
finish times in Snakemake's log and each job's wall time), and the sweep's table.
Writes <out>.json and <out>.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, copy_workflow  # noqa: E402

SWEEP = {"mlp_width": {"model": "mlp", "vary": {"hidden_units": [64, 128, 256, 512]}}}
SEEDS = [0, 1]


def snakemake(workdir: Path, cores: int, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores), *args,
               "--configfile", "config.yaml", "bench-sweep.yaml"]  # fmt: skip
    return subprocess.run(command, cwd=workdir, check=True, capture_output=True, text=True)


def finish_times(log_text: str) -> list[tuple[str, str, float]]:
    """(rule, wildcards' point/seed, finish time in s) of each training job, from the log."""
    stamp = None
    found = []
    current: dict[str, str] = {}
    for line in log_text.splitlines():
        if m := re.match(r"^\[(\w{3} \w{3}\s+\d+ [\d:]+ \d{4})\]$", line.strip()):
            stamp = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"^\s*jobid: (\d+)$", line):
            current["jobid"] = m.group(1)
        elif m := re.match(r"^\s*wildcards: (.*)$", line):
            current[current.get("jobid", "?")] = m.group(1)
        elif m := re.match(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", line):
            found.append((m.group(2), current.get(m.group(1), ""), stamp.timestamp()))
    return found


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sweep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = copy_workflow(Path(tmp) / "sweep")
        settings = {"repeats": {"seeds": SEEDS}, "sweeps": SWEEP}
        (workdir / "bench-sweep.yaml").write_text(yaml.safe_dump(settings))
        dataset = "results/mnist-sample"
        snakemake(
            workdir, args.cores, f"{dataset}/data/train.parquet", f"{dataset}/data/test.parquet"
        )
        start = time.perf_counter()
        proc = snakemake(workdir, args.cores, f"{dataset}/sweeps/mlp_width.csv")
        wall = time.perf_counter() - start
        jobs = []
        for path in sorted((workdir / dataset / "benchmarks" / "train_mlp").glob("*/seed-*.tsv")):
            seconds = float(pd.read_csv(path, sep="\t")["s"].iloc[0])
            jobs.append({"point": path.parent.name, "seed": int(path.stem[5:]), "wall_s": seconds})
        log = proc.stdout + proc.stderr
        finished = [f for f in finish_times(log) if f[0] == "train_mlp"]
        by_key = {(j["point"], j["seed"]): j for j in jobs}
        for _rule, wildcards, end in finished:
            fields = dict(part.split("=", 1) for part in wildcards.split(", ") if "=" in part)
            job = by_key.get((fields.get("point"), int(fields.get("seed", -1))))
            if job is not None:
                job["end"] = end
        # The log's finish times are whole seconds: a job is taken to start a second
        # later than its end less its own time, so that a next job starting in the
        # second the last one ended is not counted as running beside it.
        spans = [(j["end"] - j["wall_s"] + 1, j["end"]) for j in jobs if "end" in j]
        summary = pd.read_csv(workdir / dataset / "sweeps" / "mlp_width_summary.csv")
    job_seconds = sum(j["wall_s"] for j in jobs)
    best = job_seconds / args.cores
    result = {
        "command": "python bench/sweep.py --cores " + str(args.cores),
        "cores": args.cores,
        "sweep": SWEEP,
        "seeds": SEEDS,
        "training_jobs": len(jobs),
        "jobs": jobs,
        "wall_seconds": wall,
        "jobs_seconds": job_seconds,
        "jobs_seconds_over_cores": best,
        "added_seconds": wall - best,
        "most_jobs_at_once": most_at_once(spans),
        "summary": json.loads(summary.to_json(orient="records", double_precision=4)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# A sweep's jobs side by side",
        "",
        f"Command: `{result['command']}`. The MLP's width over "
        f"{SWEEP['mlp_width']['vary']['hidden_units']} units, seeds {SEEDS}, the bundled "
        "sample, config.yaml's other settings.",
        "",
        "| training jobs | most at once | run wall (s) | jobs' own time (s) "
        "| over the cores (s) | added (s) |",
        "|---|---|---|---|---|---|",
        f"| {len(jobs)} | {result['most_jobs_at_once']} | {wall:.1f} | {job_seconds:.1f} | "
        f"{best:.1f} | {wall - best:+.1f} |",
        "",
        "Added = run wall time less the jobs' own time over the cores: Snakemake's start, the "
        "sweep's table job, and any time a core waited.",
        "",
        summary.drop(columns=["dataset", "sweep", "model"]).to_markdown(
            index=False, floatfmt=".4f"
        ),
        "",
    ]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
