"""What the robustness stage adds to a run: one command, a JSON and a Markdown summary.

    python bench/robustness_cost.py --cores 2                  # bundled sample, default config
    python bench/robustness_cost.py --cores 2 --dataset fashion-mnist --dataset-dir DIR --seeds 0
    python bench/robustness_cost.py --parts-of /tmp/robustness-cost-XXXX/pipeline

In one fresh copy of the workflow: the default run from cold without the stage
(`robustness.corruptions: []`; the errors' tables stay), then the same config with the
corruptions back, which runs only the stage (each corruption's test set, each run's scoring,
and the tables); its wall time against the first run's is the stage's share of the
default run. Also each stage job's own time from its benchmark file (wall, CPU) and
its phases from its job record (start, read, compute, write; scripts/mnist_study/phases.py),
the CPU time of each run (every process under it), and the machine's load average before
and after each run (the figures are ratios within one copy, but other processes on the
same cores stretch the wall times; the CPU times hardly). Writes
bench/results/robustness_cost[_<dataset>].{json,md}. With `--parts-of` a finished copy,
only where a scoring job of each model spends its CPU time (PARTS: its imports, the
corrupted test sets, the model's load, the scoring), each in a fresh process, into
bench/results/robustness_scoring_parts.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ROOT, copy_workflow, write_summary  # noqa: E402

STAGE_JOBS = ("corrupt_test_set_", "score_run_")
LOAD_POINTS = ("before_first", "after_first", "before_stage", "after_stage")


def timed(command, cwd, loads: list) -> tuple[float, float]:
    """Wall seconds of `command` and the CPU seconds (user and system) of it and every
    process under it; appends the 1-minute load average before and after. Other
    processes on the same cores stretch the wall time, hardly the CPU time."""
    loads.append(os.getloadavg()[0])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    loads.append(os.getloadavg()[0])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def job_phases(logs: Path, job: str) -> dict:
    """{phase: seconds} of a job from its record beside its log (empty if none)."""
    record = logs / f"{job}.log.json"
    if not record.exists():
        return {}
    phases = json.loads(record.read_text()).get("phases", {})
    return {p: float(phases[p]) for p in ("start", "read", "compute", "write") if p in phases}


# One scoring job's parts per model, as scripts/score_run.py does them, each in a fresh
# process: CPU seconds of each part, as JSON on the last line.
PARTS = """
import json, sys, time
sys.path.insert(0, "scripts")
from pathlib import Path
marks, last = {}, time.process_time()
def mark(name):
    global last
    now = time.process_time()
    marks[name] = marks.get(name, 0.0) + now - last
    last = now
from mnist_study import data, keras_models, scoring
from mnist_study.models import KERAS, SAVED
from mnist_study.runtime import limit_threads
mark("python, numpy, pyarrow, the package")
results, model = Path(sys.argv[1]), sys.argv[2]
limit_threads(1)
if model in KERAS:
    keras_models.configure_backend(1, keras_models.SCORING_BACKEND)
    keras_models.skip_unused_probes(keras_models.SCORING_BACKEND)
    import keras
    mark("keras (numpy backend) and jax")
tests = {p.stem: data.read_split(p) for p in sorted(results.glob("robustness/test/*.parquet"))}
mark(f"the {len(tests)} corrupted test sets")
path = sorted(results.glob(f"{model}/base/seed-*/{SAVED[model]}"))[0]
scorer = scoring.load_scorer(model, path, 10)
mark("the saved model")
for test in tests.values():
    scorer(test.X)
mark("scoring")
print(json.dumps(marks))
"""


def scoring_parts(workdir: Path, dataset: str) -> dict:
    """{model: CPU seconds of each part} of one scoring job of each model on the
    finished copy `workdir`."""
    from mnist_study.models import MODELS

    results = workdir / "results" / dataset
    parts = {}
    for model in MODELS:
        out = subprocess.run(
            [sys.executable, "-c", PARTS, str(results), model],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        parts[model] = json.loads(out.stdout.strip().splitlines()[-1])
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--dataset", default="mnist-sample")
    parser.add_argument("--dataset-dir", default="")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--parts-of", type=Path, default=None, help="a finished copy")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="repeats.seeds")
    args = parser.parse_args()
    if args.parts_of:
        parts = scoring_parts(args.parts_of, args.dataset)
        rows = [
            {"model": m, "part": p, "cpu_s": v} for m, by in parts.items() for p, v in by.items()
        ]
        table = pd.DataFrame(rows)
        markdown = (
            f"# One scoring job's CPU time by part, per model, {args.dataset}\n\n"
            f"{table.to_markdown(index=False, floatfmt='.2f')}\n\n"
            + "".join(
                f"- {m}: {sum(by.values()):.2f} s in all\n" for m, by in parts.items()
            )
        )
        write_summary(args.out or RESULTS / "robustness_scoring_parts", parts, markdown)
        print(markdown)
        return
    suffix = "" if args.dataset == "mnist-sample" else f"_{args.dataset}"
    out = args.out or RESULTS / f"robustness_cost{suffix}"
    scratch = Path(tempfile.mkdtemp(prefix="robustness-cost-"))
    workdir = copy_workflow(scratch / "pipeline")
    (workdir / "no-robustness.yaml").write_text("robustness:\n  corruptions: []\n")
    seeds = f"repeats:\n  seeds: {args.seeds}\n" if args.seeds else ""
    (workdir / "seeds.yaml").write_text(seeds or "{}\n")
    snakemake = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    snakemake += ["--config", f"dataset={args.dataset}"]
    if args.dataset_dir:  # the copy runs elsewhere: a path relative to here must be absolute
        snakemake.append(f"dataset_dir={Path(args.dataset_dir).resolve()}")
    loads: list[float] = []
    print("default run without the stage ...", flush=True)
    without, without_cpu = timed(
        [*snakemake, "--configfile", "config.yaml", "seeds.yaml", "no-robustness.yaml"],
        workdir,
        loads,
    )
    print(f"  {without:.1f} s; the stage alone ...", flush=True)
    stage, stage_cpu = timed(
        [*snakemake, "--configfile", "config.yaml", "seeds.yaml"], workdir, loads
    )
    print(f"  {stage:.1f} s", flush=True)
    bench = workdir / f"results/{args.dataset}/benchmarks"
    logs = workdir / f"results/{args.dataset}/logs"
    jobs = []
    for path in sorted(bench.rglob("*.tsv")):
        name = path.relative_to(bench).with_suffix("").as_posix()
        if name.startswith(STAGE_JOBS):
            row = pd.read_csv(path, sep="\t").iloc[0]
            jobs.append({"job": name, "wall_s": float(row["s"]),
                         "cpu_s": float(row["cpu_time"])}
                        | job_phases(logs, name))  # fmt: skip
    table = pd.DataFrame(jobs)
    summary = {
        "dataset": args.dataset,
        "cores": args.cores,
        "seeds": args.seeds or "the config's",
        "run_without_stage_s": without,
        "stage_s": stage,
        "share_of_default_run": stage / (without + stage),
        "run_without_stage_cpu_s": without_cpu,
        "stage_cpu_s": stage_cpu,
        "cpu_share_of_default_run": stage_cpu / (without_cpu + stage_cpu),
        "stage_jobs_wall_s": float(table["wall_s"].sum()) if len(table) else 0.0,
        "load_average_1min": dict(zip(LOAD_POINTS, loads, strict=True)),
        "jobs": jobs,
    }
    markdown = "\n".join(
        [
            f"# Robustness stage cost, {args.dataset}, --cores {args.cores}",
            "",
            f"Default run without the stage: {without:.1f} s; the stage alone afterwards: "
            f"{stage:.1f} s, **{100 * summary['share_of_default_run']:.1f}%** of the whole "
            f"default run ({without + stage:.1f} s). CPU time (every process, user and "
            f"system): {without_cpu:.1f} s and {stage_cpu:.1f} s, "
            f"**{100 * summary['cpu_share_of_default_run']:.1f}%**. Stage jobs' own wall time: "
            f"{summary['stage_jobs_wall_s']:.1f} s. Load average (1 min) before and after "
            f"the first run {loads[0]:.1f}, {loads[1]:.1f}; the stage {loads[2]:.1f}, "
            f"{loads[3]:.1f}, on {os.cpu_count()} cores.",
            "",
            table.to_markdown(index=False, floatfmt=".1f") if len(table) else "",
            "",
        ]
    )
    write_summary(out, summary, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
