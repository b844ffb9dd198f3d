"""What two models of your own add to the default run: one command, a JSON and a Markdown
summary.

    python bench/own_models_cost.py --cores 2

The default run from cold in one fresh copy of the workflow, then the same from cold in
another with MODELS (config/README.md's two scikit-learn examples) added as a config
file after config.yaml: each run's wall time and jobs by rule, and the jobs the models
add. Writes bench/results/own_models_cost.{json,md} (or --out).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, copy_workflow, write_summary  # noqa: E402

MODELS = {
    "models": {
        "boosting": {
            "kind": "sklearn",
            "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
            "features": "pca",
            "pca_components": 50,
            "subset": 3000,
            "settings": {"max_iter": 100, "learning_rate": 0.1},
        },
        "linear_svm": {
            "kind": "sklearn",
            "estimator": "sklearn.svm.LinearSVC",
            "subset": 3000,
            "settings": {"C": 0.1},
        },
    }
}


def cold_run(folder: Path, cores: int, extra: dict | None) -> dict:
    workdir = copy_workflow(folder)
    args = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    if extra:
        (workdir / "models.yaml").write_text(yaml.safe_dump(extra))
        args += ["--configfile", "config.yaml", "models.yaml"]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(proc.stderr[-4000:])
    found = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stdout + proc.stderr)
    return {"wall_s": wall, "jobs": len(found),
            "by_rule": {r: found.count(r) for r in sorted(set(found))}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "own_models_cost")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="own-models-cost-"))
    without = cold_run(scratch / "without", args.cores, None)
    print(f"without: {without['wall_s']:.1f} s, {without['jobs']} jobs", flush=True)
    with_models = cold_run(scratch / "with", args.cores, MODELS)
    print(f"with: {with_models['wall_s']:.1f} s, {with_models['jobs']} jobs", flush=True)
    added = {
        rule: n - without["by_rule"].get(rule, 0)
        for rule, n in with_models["by_rule"].items()
        if n != without["by_rule"].get(rule, 0)
    }
    summary = {"cores": args.cores, "models": MODELS["models"], "without": without,
               "with": with_models, "added_jobs": added}  # fmt: skip
    markdown = (
        f"# Two models of your own in the default run, --cores {args.cores}\n\n"
        f"Without: {without['wall_s']:.1f} s, {without['jobs']} jobs. With "
        f"{', '.join(MODELS['models'])}: {with_models['wall_s']:.1f} s, "
        f"{with_models['jobs']} jobs (+{with_models['wall_s'] / without['wall_s'] - 1:.0%}). "
        f"Jobs added, by rule: {added}.\n"
    )
    write_summary(args.out, summary, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
