"""What a rerun after one change costs: one command, a JSON and a Markdown summary.

    python bench/rerun_cost.py --cores 2                         # this checkout
    python bench/rerun_cost.py --cores 2 --root DIR --out bench/results/rerun_cost_OLD

In one fresh copy of the workflow (from --root, a checkout: another commit's, to compare),
the default run from cold; then, each in its own copy of that finished run, the run after
one change of CHANGES, from a config file of its own as a user would add it. For each:
its wall time, the jobs it ran by rule, and their job time: the wall and CPU seconds of
each job that ran, from its benchmark file (the tables are local rules without one, and
are counted apart, by name, their time from the jobs' records). `own` is the job time of
the jobs the change itself needs (the changed model's trainings, or the new seed's
runs); `ratio` is the rerun's job time over it, what the rest of the pipeline adds to
the change, and `wall_over_own` the rerun's wall time less the tables' over it. Writes
bench/results/rerun_cost.{json,md} (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ROOT, copy_workflow, write_summary  # noqa: E402

# name: (the change as a config file's text, the rules whose jobs the change needs).
CHANGES = {
    "cnn: {epochs: 4}": ({"cnn": {"epochs": 4}}, {"train_cnn"}),
    "a sixth seed": (
        {"repeats": {"seeds": [0, 1, 2, 3, 4, 5]}},
        {"train_mlp", "train_cnn", "train_nn_numpy", "compare_svm_kernels", "svm_grid_search"},
    ),
}


def benchmark_rows(results: Path, since: float) -> pd.DataFrame:
    """One row per benchmark file written after `since`: its job (the file's path under
    benchmarks/), rule (the path's first part, less a per-job suffix), wall and CPU s."""
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        if path.stat().st_mtime < since:
            continue
        job = path.relative_to(results / "benchmarks").with_suffix("").as_posix()
        row = pd.read_csv(path, sep="\t").iloc[0]
        rows.append(
            {"job": job, "rule": job.split("/")[0], "wall_s": float(row["s"]),
             "cpu_s": float(row["cpu_time"])}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["job", "rule", "wall_s", "cpu_s"])


def table_seconds(results: Path, since: float) -> float:
    """Job time of the tables (the local rules, without a benchmark file) that ran after
    `since`: finished less started, from each job's record (runtime.write_job_record)."""
    total = 0.0
    for record in (results / "logs").rglob("*.log.json"):
        if record.stat().st_mtime < since:
            continue
        job = json.loads(record.read_text())
        name = record.relative_to(results / "logs").as_posix().removesuffix(".log.json")
        if not (results / "benchmarks" / f"{name}.tsv").exists():
            total += job["finished"] - job["started"]
    return total


def run(command, cwd) -> tuple[float, str]:
    """Wall seconds and output of `command` in the copy `cwd`, its jobs importing the
    copy's own package (another commit's, with --root), not the installed one."""
    env = os.environ | {"PYTHONPATH": str(Path(cwd) / "scripts")}
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-4000:]}")
    return time.perf_counter() - start, proc.stdout + proc.stderr


def rules_run(text: str) -> dict[str, int]:
    """{rule: jobs} that a run's output says finished."""
    found = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", text)
    return {rule: found.count(rule) for rule in sorted(set(found))}


def measure(finished: Path, scratch: Path, snakemake: list, name: str, change, own) -> dict:
    copy = scratch / re.sub(r"\W+", "-", name).strip("-")
    shutil.copytree(finished, copy, symlinks=True)
    (copy / "change.yaml").write_text(yaml.safe_dump(change))
    since = time.time()
    time.sleep(0.05)
    wall, text = run([*snakemake, "--configfile", "config.yaml", "change.yaml"], copy)
    jobs = benchmark_rows(copy / "results/mnist-sample", since)
    own_jobs = jobs[jobs["rule"].isin(own)]
    # A benchmark path names its rule first, but for a per-run job's rule folder.
    job_time = float(jobs["wall_s"].sum())
    tables = table_seconds(copy / "results/mnist-sample", since)
    own_time = float(own_jobs["wall_s"].sum())
    return {
        "change": name,
        "wall_s": wall,
        "jobs_by_rule": rules_run(text),
        "job_time_s": job_time,
        "job_cpu_s": float(jobs["cpu_s"].sum()),
        "own_job_time_s": own_time,
        "ratio": job_time / own_time,
        "tables_job_time_s": tables,
        # The rerun's wall time against its own jobs' time plus the tables'.
        "wall_over_own": (wall - tables) / own_time,
        "by_rule": jobs.groupby("rule")[["wall_s", "cpu_s"]].sum().round(2).to_dict("index"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--root", type=Path, default=ROOT, help="the workflow to copy")
    parser.add_argument("--out", type=Path, default=RESULTS / "rerun_cost")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="rerun-cost-"))
    finished = copy_workflow(scratch / "pipeline", args.root)
    snakemake = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    print("default run from cold ...", flush=True)
    cold, text = run(snakemake, finished)
    cold_jobs = benchmark_rows(finished / "results/mnist-sample", 0)
    print(f"  {cold:.1f} s, {sum(rules_run(text).values())} jobs", flush=True)
    changes = []
    for name, (change, own) in CHANGES.items():
        changes.append(measure(finished, scratch, snakemake, name, change, own))
        print(f"  {name}: {changes[-1]['wall_s']:.1f} s, ratio {changes[-1]['ratio']:.2f}")
    summary = {
        "root": str(args.root),
        "cores": args.cores,
        "cold_wall_s": cold,
        "cold_jobs": sum(rules_run(text).values()),
        "cold_job_time_s": float(cold_jobs["wall_s"].sum()),
        "changes": changes,
    }
    lines = [
        f"# The rerun after one change, bundled sample, --cores {args.cores}",
        "",
        f"Default run from cold: {cold:.1f} s, {summary['cold_jobs']} jobs.",
        "",
        "| change | wall s | jobs | job time s | CPU s | its own jobs s | ratio | tables s | "
        "(wall - tables) / own |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in changes:
        lines.append(
            f"| {c['change']} | {c['wall_s']:.1f} | {sum(c['jobs_by_rule'].values())} | "
            f"{c['job_time_s']:.1f} | {c['job_cpu_s']:.1f} | {c['own_job_time_s']:.1f} | "
            f"{c['ratio']:.2f} | {c['tables_job_time_s']:.1f} | {c['wall_over_own']:.2f} |"
        )
    for c in changes:
        lines += ["", f"{c['change']}: jobs by rule {c['jobs_by_rule']}"]
    write_summary(args.out, summary, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
