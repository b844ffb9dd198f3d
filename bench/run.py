"""The benchmark suite: one command, a JSON and a Markdown summary.

    python bench/run.py                 # bundled sample only (about 4 minutes on 2 cores)
    python bench/run.py --full          # also Fashion-MNIST, 70,000 images (about 25 minutes)

Measures, in one run so that ratios compare like with like:
- the whole pipeline on the bundled sample from cold (figures and report included) and
  a second, no-op run; the same computations as one plain script (bench/plain_study.py);
- with --full: the same on Fashion-MNIST (60,000 + 10,000 images), per-stage time and
  peak memory from the benchmark files, and seconds per epoch of the MLP and CNN next to
  the arithmetic floor (FLOPs per epoch over numpy's float32 matrix-multiply rate,
  measured in a separate process);
- with --full, the full-training-set SVM: bench/svm_full.py on the same data (RBF SVM on
  all 60,000 images after a 100-component PCA; its slow 784-feature comparison is taken
  from bench/results/svm_full.json when that run found the same grid settings). Without
  --full, the summary quotes that recorded file and says so.
Writes bench/results/summary.json and bench/results/summary.md (--out names another
path, without the suffix).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BUNDLED, FASHION, RESULTS, ROOT, copy_workflow, matmul_rate, write_summary  # noqa: E402

from mnist_study.keras_models import cnn_flops_per_example, mlp_flops_per_example  # noqa: E402
from mnist_study.runtime import half_the_cores  # noqa: E402


def timed(command, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def epoch_seconds(log: Path) -> list[float]:
    return [float(s) for s in re.findall(r"epoch \d+/\d+: .*?seconds ([0-9.]+)", log.read_text())]


def run_dataset(name: str, directory: Path | None, cores: int, scratch: Path) -> dict:
    snakemake = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    extra = []
    if directory is not None:
        extra = ["--config", f"dataset={name}", f"dataset_dir={directory}"]
    workdir = copy_workflow(scratch / f"pipeline-{name}")
    result = {"dataset": name}
    print(f"[{name}] pipeline from cold ...", flush=True)
    result["pipeline_cold_seconds"] = timed([*snakemake, *extra], workdir)
    result["report_seconds"] = timed(
        [*snakemake, *extra, "--report", "results/report.html"], workdir
    )
    result["pipeline_noop_seconds"] = timed([*snakemake, *extra], workdir)
    print(f"[{name}] plain script ...", flush=True)
    plain_out = scratch / f"plain-{name}"
    result["plain_script_seconds"] = timed(
        [
            sys.executable,
            str(ROOT / "bench/plain_study.py"),
            str(directory or BUNDLED),
            str(plain_out),
            "--dataset",
            name,
            "--threads",
            str(cores),
        ],
        ROOT,
    )
    result["plain_script_sections"] = json.loads((plain_out / "timings.json").read_text())
    result["ratio_pipeline_to_plain"] = (
        result["pipeline_cold_seconds"] + result["report_seconds"]
    ) / result["plain_script_seconds"]
    import pandas as pd

    costs = pd.read_csv(workdir / f"results/{name}/tables/stage_costs.csv")
    result["stage_costs"] = json.loads(
        costs.drop(columns="dataset").to_json(orient="records", double_precision=4)
    )
    tables = workdir / f"results/{name}/tables"
    summary = pd.read_csv(tables / "metrics_summary.csv")
    accuracy = summary[summary["metric"].isin(["accuracy", "macro_auc"])]
    result["summary_over_seeds"] = json.loads(
        accuracy.drop(columns=["dataset", "stage"]).to_json(orient="records", double_precision=4)
    )
    result["verdicts"] = pd.read_csv(tables / "model_comparison.csv")["verdict"].tolist()
    # What the separate jobs cost beyond their own work: each Keras job's wall time less
    # its training and prediction (Python start, imports, reading data, saving, figures).
    runs = pd.read_parquet(tables / "metrics.parquet").set_index(["model", "seed"])
    overhead = {}
    for job, model in (("train_mlp", "mlp"), ("train_cnn", "cnn")):
        rows = costs[costs["job"] == job]
        work = [
            runs.loc[(model, int(seed)), ["fit_seconds", "predict_seconds"]].sum()
            for seed in rows["seed"]
        ]
        overhead[job] = float((rows["wall_seconds"].to_numpy() - work).sum())
    result["keras_job_overhead_seconds"] = overhead
    result["seeds"] = int(runs.index.get_level_values("seed").nunique())
    # The first seed's training logs (every seed trains the same way).
    logs = workdir / f"results/{name}/logs"
    first = sorted(p.name for p in (logs / "train_mlp" / "base").glob("seed-*.log"))[0]
    result["mlp_epoch_seconds"] = epoch_seconds(logs / "train_mlp" / "base" / first)
    result["cnn_epoch_seconds"] = epoch_seconds(logs / "train_cnn" / "base" / first)
    return result


def efficiency(result: dict, rate_gflops: float, train_size: int) -> dict:
    out = {}
    for kind, flops, n in (
        ("mlp", mlp_flops_per_example(), train_size),
        ("cnn", cnn_flops_per_example(), int(round(train_size * 0.8))),
    ):
        epochs = result[f"{kind}_epoch_seconds"]
        steady = min(epochs[1:]) if len(epochs) > 1 else epochs[0]
        floor = flops * n / (rate_gflops * 1e9)
        out[kind] = {
            "floor_seconds": floor,
            "steady_epoch_seconds": steady,
            "first_epoch_seconds": epochs[0],
            "efficiency": floor / steady,
        }
    return out


def markdown(summary: dict) -> str:
    lines = [
        "# Benchmark summary",
        "",
        f"Machine: {summary['machine']}, "
        f"{summary['cores']} cores; numpy float32 matmul "
        f"{summary['matmul_gflops']:.1f} GFLOP/s"
        + (
            f" ({summary['matmul_gflops_keras_threads']:.1f} on the "
            f"{summary['keras_threads']} thread(s) each Keras rule had; the efficiencies "
            "below are against that)."
            if "keras_threads" in summary
            else "."
        ),
        "",
    ]
    lines += [
        "| dataset | pipeline cold + report (s) | no-op (s) | plain script (s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for r in summary["datasets"]:
        lines.append(
            f"| {r['dataset']} | {r['pipeline_cold_seconds']:.1f} + {r['report_seconds']:.1f} "
            f"| {r['pipeline_noop_seconds']:.1f} | {r['plain_script_seconds']:.1f} "
            f"| {r['ratio_pipeline_to_plain']:.2f} |"
        )
    for r in summary["datasets"]:
        lines += [
            "",
            f"## Results over {r['seeds']} seeds, {r['dataset']}",
            "",
            "| model | metric | seeds | mean | std | min | max | 95% interval |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {m['model']} | {m['metric']} | {m['seeds']} | {m['mean']:.4f} | {m['std']:.4f} "
            f"| {m['min']:.4f} | {m['max']:.4f} | {m['ci_low']:.4f}-{m['ci_high']:.4f} |"
            for m in r["summary_over_seeds"]
        ]
        lines += ["", "Keras jobs' time beyond training and prediction (all seeds, s): "]
        lines[-1] += ", ".join(f"{k} {v:.1f}" for k, v in r["keras_job_overhead_seconds"].items())
        lines += ["", "Paired comparisons:", ""] + [f"- {v}" for v in r["verdicts"]]
    for r in summary["datasets"]:
        lines += [
            "",
            f"## Stage costs, {r['dataset']}",
            "",
            "| job | seed | wall (s) | CPU (s) | peak memory (MB) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['job']} | {'' if c.get('seed') is None else c['seed']} | "
            f"{c['wall_seconds']} | {c['cpu_seconds']} | {c['max_rss_mb']} |"
            for c in r["stage_costs"]
        ]
        if "efficiency" in r:
            lines += [
                "",
                "| model | steady epoch (s) | first epoch (s) | floor (s) | efficiency |",
                "|---|---|---|---|---|",
            ]
            for kind, e in r["efficiency"].items():
                lines.append(
                    f"| {kind} | {e['steady_epoch_seconds']:.2f} | "
                    f"{e['first_epoch_seconds']:.2f} | {e['floor_seconds']:.2f} | "
                    f"{e['efficiency']:.2f} |"
                )
    if "svm_full" in summary:
        s = summary["svm_full"]
        line = (
            f"PCA, all components: {s['pca_all_components_seconds']:.2f} s; "
            f"SVM on 100 components: fit {s['svm_pca100']['fit_seconds']:.0f} s, "
            f"predict {s['svm_pca100']['predict_seconds']:.0f} s, accuracy "
            f"{s['svm_pca100']['accuracy']:.4f}"
        )
        if "svm_784" in s:
            line += f"; on 784 features: accuracy {s['svm_784']['accuracy']:.4f}"
            if "svm_784_from" in s:
                line += f" (from {s['svm_784_from']})"
        lines += ["", "## Full-training-set SVM (bench/svm_full.py)", "", line + "."]
        if "recorded" in s:
            lines.append(f"Not measured by this run; from {s['recorded']}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run full Fashion-MNIST")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", type=Path, default=RESULTS / "summary")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "machine": os.uname().machine,
        "cores": args.cores,
        "matmul_gflops": matmul_rate(args.cores),
        "datasets": [],
    }
    if args.full:
        # Only the full run reports efficiencies: against numpy's rate on as many
        # threads as the Keras rules get on a local run with --cores.
        summary["keras_threads"] = half_the_cores(args.cores)
        summary["matmul_gflops_keras_threads"] = matmul_rate(summary["keras_threads"])
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        summary["datasets"].append(run_dataset("mnist-sample", None, args.cores, scratch))
        if args.full:
            full = run_dataset("fashion-mnist", FASHION, args.cores, scratch)
            full["efficiency"] = efficiency(full, summary["matmul_gflops_keras_threads"], 60_000)
            summary["datasets"].append(full)
            print("[fashion-mnist] full-training-set SVM ...", flush=True)
            svm_out = scratch / "svm_full.json"
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench/svm_full.py"),
                    str(FASHION),
                    "--out",
                    str(svm_out),
                    "--skip-784",
                    "--baseline",
                    str(RESULTS / "svm_full.json"),
                ],
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            summary["svm_full"] = json.loads(svm_out.read_text())
    if "svm_full" not in summary and (RESULTS / "svm_full.json").exists():
        summary["svm_full"] = json.loads((RESULTS / "svm_full.json").read_text())
        summary["svm_full"]["recorded"] = "bench/results/svm_full.json, an earlier run"
    write_summary(args.out, summary, markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
