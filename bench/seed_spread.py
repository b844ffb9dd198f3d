"""How far the Keras models' test accuracy moves with the seed and the thread count.

    python bench/seed_spread.py                      # bundled sample, seeds 0-4, 1 and 2 threads
    KERAS_BACKEND=jax python bench/seed_spread.py --seeds 10 --threads 1

Trains the MLP and the CNN of config.yaml (all their settings but `seed`) once per seed
on the training images of DIR (default: the bundled sample), and scores each on its test
images: the pipeline's training, as `train_mlp` and `train_cnn` run it. The seed sets the
initial weights, dropout, the shuffling and the CNN's validation split, so the spread
over seeds is how much one run's accuracy says about the settings; the same seeds on
another thread count show what the order of floating-point sums adds. Each thread count
runs in a fresh process. Writes bench/results/seed_spread_<backend>.{json,md} unless
--out is given; the Markdown table counts the runs that meet the accuracy goals of the
networks' issue (MLP 0.95, CNN 0.94 on the bundled sample).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BUNDLED, ROOT, write_summary  # noqa: E402

GOALS = {"mlp": 0.95, "cnn": 0.94}


def one_run(threads: int, seeds: list[int], cache: Path) -> dict:
    """Both models, once per seed, on `threads` threads in this process."""
    from mnist_study.keras_models import configure_backend
    from mnist_study.runtime import limit_threads

    limit_threads(threads)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    configure_backend(threads, backend)
    import keras
    from keras_levers import fit_and_score

    X, y = np.load(cache / "train_X.npy"), np.load(cache / "train_y.npy")
    X_test, y_test = np.load(cache / "test_X.npy"), np.load(cache / "test_y.npy")
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    accuracy = {}
    for kind in GOALS:
        accuracy[kind] = []
        for seed in seeds:
            settings = config[kind]
            keras.utils.clear_session()  # each model as in a fresh job
            *_, score = fit_and_score(
                kind,
                settings,
                (X, y, X_test, y_test),
                settings["epochs"],
                settings["training_loop"],
                seed,
            )
            accuracy[kind].append(score)
            print(f"{kind} seed {seed}: {accuracy[kind][-1]:.4f}", file=sys.stderr, flush=True)
    return {"threads": threads, "backend": backend, "accuracy": accuracy}


def markdown(summary: dict) -> str:
    lines = [
        f"# Test accuracy over seeds: {summary['backend']}, {summary['dataset']}",
        "",
        f"Command: `{summary['command']}`. Seeds {summary['seeds']}; every other setting "
        "from config.yaml. Test images: " + f"{summary['test_size']}.",
        "",
        "| model | threads | mean | min | max | meets the goal | per seed |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in summary["runs"]:
        for kind, values in run["accuracy"].items():
            met = sum(v >= GOALS[kind] for v in values)
            lines.append(
                f"| {kind} | {run['threads']} | {np.mean(values):.4f} | {min(values):.4f} | "
                f"{max(values):.4f} | {met} of {len(values)} (>= {GOALS[kind]}) | "
                + ", ".join(f"{v:.4f}" for v in values)
                + " |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, nargs="?", default=BUNDLED)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 to N-1 (default 5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="output path without suffix")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    if args.one:
        print("RESULT " + json.dumps(one_run(args.one, seeds, args.cache)), flush=True)
        return
    from keras_levers import load_arrays

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    out = args.out or ROOT / "bench" / "results" / f"seed_spread_{backend}"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "backend": backend,
        "dataset": args.directory.resolve().name,
        "command": " ".join(["python", *sys.argv]),
        "seeds": seeds,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as cache:
        load_arrays(args.directory, Path(cache))
        summary["test_size"] = len(np.load(Path(cache) / "test_y.npy"))
        for threads in args.threads:
            print(f"[{threads} threads] seeds {seeds} ...", flush=True)
            child = [sys.executable, __file__, "--seeds", str(args.seeds), "--one", str(threads)]
            proc = subprocess.run(
                [*child, "--cache", cache], stdout=subprocess.PIPE, text=True, check=False
            )
            lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                raise SystemExit(f"the {threads}-thread run failed (its output is above)")
            summary["runs"].append(json.loads(lines[-1].removeprefix("RESULT ")))
    write_summary(out, summary, markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
