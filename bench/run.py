"""The pipeline against the plain script: one command, a JSON and a Markdown summary.

    python bench/run.py                 # bundled sample only (about 8 minutes on 2 cores)
    python bench/run.py --full          # also Fashion-MNIST, 70,000 images
    python bench/run.py --full --seeds 0 --fashion-only    # Fashion-MNIST, one seed

Measures in one run, so that the ratio compares like with like: the whole pipeline from
cold (figures, tables and report) and a second, no-op run, against the same work in one
process (bench/plain_study.py); the stage costs from the benchmark files; the summary
over the seeds and the paired verdicts; each Keras job's time beyond its training and
prediction (Python start, imports, reading data, saving, figures). Writes
bench/results/summary.{json,md} (--out names another path, without the suffix).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BUNDLED,
    FASHION,
    RESULTS,
    ROOT,
    copy_workflow,
    matmul_rate,
    write_summary,
)

from mnist_study.models import KERAS  # noqa: E402


def timed(command, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def run_dataset(
    name: str, directory: Path | None, cores: int, scratch: Path, seeds: list[int] | None = None
) -> dict:
    snakemake = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    workdir = copy_workflow(scratch / f"pipeline-{name}")
    extra = []  # --seeds: repeats.seeds over config.yaml's, for both the pipeline and the plain
    if seeds:
        extra = [str(workdir / "seeds.yaml")]
        Path(extra[0]).write_text(f"repeats:\n  seeds: {seeds}\n")
        snakemake += ["--configfile", "config.yaml", *extra]
    if directory is not None:
        snakemake += ["--config", f"dataset={name}", f"dataset_dir={directory}"]
    result = {"dataset": name}
    print(f"[{name}] pipeline from cold, report, no-op rerun ...", flush=True)
    result["pipeline_cold_seconds"] = timed(snakemake, workdir)
    result["report_seconds"] = timed([*snakemake, "--report", "results/report.html"], workdir)
    result["pipeline_noop_seconds"] = timed(snakemake, workdir)
    print(f"[{name}] plain script ...", flush=True)
    plain = [
        sys.executable,
        str(ROOT / "bench/plain_study.py"),
        str(directory or BUNDLED),
        str(scratch / f"plain-{name}"),
        "--dataset",
        name,
        "--threads",
        str(cores),
        *(["--configfile", *extra] if extra else []),
    ]
    result["plain_script_seconds"] = timed(plain, ROOT)
    result["plain_script_steps"] = json.loads((scratch / f"plain-{name}/timings.json").read_text())
    result["ratio_pipeline_to_plain"] = (
        result["pipeline_cold_seconds"] + result["report_seconds"]
    ) / result["plain_script_seconds"]
    tables = workdir / f"results/{name}/tables"
    costs = pd.read_csv(tables / "stage_costs.csv").drop(columns="dataset")
    result["jobs"] = len(costs)
    result["jobs_own_seconds"] = float(costs["wall_seconds"].sum())
    result["stage_costs"] = json.loads(costs.to_json(orient="records", double_precision=4))
    summary = pd.read_csv(tables / "metrics_summary.csv")
    accuracy = summary[summary["metric"].isin(["accuracy", "macro_auc"])]
    result["summary_over_seeds"] = json.loads(
        accuracy.drop(columns=["dataset", "stage"]).to_json(orient="records", double_precision=4)
    )
    result["verdicts"] = pd.read_csv(tables / "model_comparison.csv")["verdict"].tolist()
    runs = pd.read_parquet(tables / "metrics.parquet").set_index(["model", "seed"])
    result["seeds"] = int(runs.index.get_level_values("seed").nunique())
    result |= job_phases(workdir, name)
    result["keras_job_overhead_seconds"] = {
        f"train_{model}": float(
            sum(
                row.wall_seconds
                - runs.loc[(model, int(row.seed)), ["fit_seconds", "predict_seconds"]].sum()
                for row in costs[costs["job"] == f"train_{model}"].itertuples()
            )
        )
        for model in KERAS
    }
    return result


def job_phases(workdir: Path, name: str) -> dict:
    """Where every job of the run spent its time (each job's record: mnist_study/phases.py):
    each phase summed over the jobs, and the median start (process creation to its own
    work) of the Keras jobs and of the others."""
    records = [
        json.loads(path.read_text())
        for folder in (workdir / f"results/{name}/logs", workdir / "results/logs")
        for path in sorted(folder.rglob("*.log.json"))
    ]
    frame = pd.DataFrame(
        [{"rule": r["rule"], **r["phases"]} for r in records if "phases" in r]
    ).set_index("rule")
    keras = frame.index.isin([f"train_{model}" for model in KERAS])
    return {
        "jobs_recorded": len(frame),
        "phase_seconds": {k: round(float(v), 2) for k, v in frame.sum().items()},
        "median_start_seconds": float(frame.loc[~keras, "start"].median()),
        "median_start_keras_seconds": float(frame.loc[keras, "start"].median()),
        "median_start_cpu_seconds": float(frame.loc[~keras, "start_cpu"].median()),
        "median_start_cpu_keras_seconds": float(frame.loc[keras, "start_cpu"].median()),
        "start_by_rule": {
            rule: round(float(v), 2) for rule, v in frame.groupby(level=0)["start"].median().items()
        },
    }


def markdown(summary: dict) -> str:
    lines = [
        "# Benchmark summary",
        "",
        f"Machine: {summary['machine']}, {summary['cores']} cores; numpy float32 matmul "
        f"{summary['matmul_gflops']:.1f} GFLOP/s. Command: `{summary['command']}`.",
        "",
        "| dataset | seeds | pipeline cold + report (s) | no-op (s) | plain script (s) | ratio "
        "| jobs | jobs' own time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["datasets"]:
        lines.append(
            f"| {r['dataset']} | {r['seeds']} | {r['pipeline_cold_seconds']:.1f} + "
            f"{r['report_seconds']:.1f} | {r['pipeline_noop_seconds']:.1f} | "
            f"{r['plain_script_seconds']:.1f} | {r['ratio_pipeline_to_plain']:.2f} | "
            f"{r['jobs']} | {r['jobs_own_seconds']:.1f} |"
        )
    for r in summary["datasets"]:
        overhead = ", ".join(f"{k} {v:.1f} s" for k, v in r["keras_job_overhead_seconds"].items())
        lines += [
            "",
            f"## {r['dataset']}",
            "",
            pd.DataFrame(r["summary_over_seeds"]).to_markdown(index=False, floatfmt=".4f"),
            "",
            f"Keras jobs' time beyond training and prediction, all seeds: {overhead}.",
            "",
            f"Median job start (process creation to its own work), {r['jobs_recorded']} "
            f"jobs: {r['median_start_seconds']:.2f} s, the Keras jobs "
            f"{r['median_start_keras_seconds']:.2f} s; its CPU time "
            f"{r['median_start_cpu_seconds']:.2f} s and {r['median_start_cpu_keras_seconds']:.2f}"
            " s. Every job's phases summed: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in r["phase_seconds"].items())
            + ". Median start by rule: "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["start_by_rule"].items())
            + ".",
            "",
            *(f"- {v}" for v in r["verdicts"]),
            "",
            pd.DataFrame(r["stage_costs"]).to_markdown(index=False, floatfmt=".1f"),
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run full Fashion-MNIST")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", type=Path, default=RESULTS / "summary")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="repeats.seeds")
    parser.add_argument("--fashion-only", action="store_true", help="with --full: no sample")
    args = parser.parse_args()
    summary = {
        "command": " ".join(["python", *sys.argv]),
        "machine": os.uname().machine,
        "cores": args.cores,
        "matmul_gflops": matmul_rate(args.cores),
        "datasets": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        if not (args.full and args.fashion_only):
            summary["datasets"].append(
                run_dataset("mnist-sample", None, args.cores, Path(scratch), args.seeds)
            )
        if args.full:
            summary["datasets"].append(
                run_dataset("fashion-mnist", FASHION, args.cores, Path(scratch), args.seeds)
            )
    write_summary(args.out, summary, markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
