"""Seconds per epoch of the Keras MLP and CNN under each training lever, on any backend.

    python bench/keras_levers.py ../shared/datasets/fashion-mnist            # CPU, tensorflow
    KERAS_BACKEND=jax python bench/keras_levers.py DIR --levers fit spe16 spe64

Trains each model for a few epochs on the full training set (the CNN without its held-out
validation share, as in the pipeline; model and batch settings from config.yaml) once per
lever, each run in a fresh process so that no compiled function, thread pool or device
buffer carries over from one lever to the next. The levers are the pipeline's speed
settings of the mlp and cnn sections:

- `fit`: the plain `model.fit` on numpy arrays;
- `spe<N>`: `steps_per_execution=N`, N training steps per call of the train function;
- `scan` (JAX only): `training_loop: scan`, each epoch's Keras train steps run as one
  compiled call (mnist_study.jax_loop).

Reports the steady epoch time (the fastest epoch after the first, which compiles: noise
only ever adds time), the first epoch, the test accuracy after training (a lever must
not change what is learnt), and on the CPU the efficiency: FLOPs per epoch over the
time, divided by the float32 matrix-multiply rate numpy measures in a separate process
just before and just after each run (their mean: the machines here drift by 20% over
minutes, and one measurement at the start made the efficiency drift with them).
Writes bench/results/keras_levers_<backend>_<device>.{json,md} unless --out is given.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, flops_per_example, matmul_rates_around, write_summary  # noqa: E402

from mnist_study.models import KERAS  # noqa: E402

DEFAULT_LEVERS = ["fit", "spe16", "spe64"]


def lever_options(name: str) -> dict:
    """'spe64' -> {'steps_per_execution': 64, 'training_loop': 'fit'}."""
    options = {"steps_per_execution": 1, "training_loop": "fit"}
    for part in name.split("_"):
        if part == "fit":
            continue
        if part == "scan":
            options["training_loop"] = "scan"
        elif re.fullmatch(r"spe\d+", part):
            options["steps_per_execution"] = int(part[3:])
        else:
            raise SystemExit(f"unknown lever part {part!r} in {name!r}")
    return options


def load_arrays(directory: Path, cache: Path) -> None:
    from mnist_study import data, idx
    from mnist_study.datasets import get_spec

    spec = get_spec("mnist")  # MNIST's file names, which Fashion-MNIST's share
    for split in ("train", "test"):
        images, labels = idx.read_split(*spec.split_paths(directory, split))
        np.save(cache / f"{split}_X.npy", data.scale_and_flatten(images))
        np.save(cache / f"{split}_y.npy", labels)


def fit_and_score(kind, settings, arrays, epochs, training_loop, seed=0, **compile_options):
    """One run of config section `kind` through the rules' own `fit_and_predict`.

    `arrays` is (X, y, X_test, y_test) as the pipeline stores them. Returns the model, its
    per-epoch records, the training seconds, the number of training images (the CNN holds
    out its validation share) and the test accuracy.
    """
    from mnist_study import keras_models

    X, y, X_test, y_test = arrays
    settings = {**settings, "epochs": epochs, "training_loop": training_loop}
    run = keras_models.fit_and_predict(kind, settings, seed, X, y, X_test, **compile_options)
    accuracy = float(np.mean(run["probabilities"].argmax(axis=1) == y_test))
    return run["model"], run["history"], run["fit_seconds"], run["train_size"], accuracy


def one_run(model_kind: str, lever: str, epochs: int, threads: int, cache: Path) -> dict:
    """Train one model under one lever in this process; returns its figures."""
    from mnist_study.keras_models import configure_backend
    from mnist_study.runtime import limit_threads

    options = lever_options(lever)
    limit_threads(threads)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    configure_backend(threads, backend)
    import keras

    X, y = np.load(cache / "train_X.npy"), np.load(cache / "train_y.npy")
    X_test, y_test = np.load(cache / "test_X.npy"), np.load(cache / "test_y.npy")
    # The pipeline's model and training settings (config.yaml), but the lever's
    # compile options and training loop, and the benchmark's epochs.
    settings = yaml.safe_load((ROOT / "config.yaml").read_text())[model_kind]
    _, history, total, train_size, accuracy = fit_and_score(
        model_kind,
        settings,
        (X, y, X_test, y_test),
        epochs,
        options["training_loop"],
        steps_per_execution=options["steps_per_execution"],
    )
    seconds = [record["seconds"] for record in history]
    return {
        "model": model_kind,
        "lever": lever,
        "options": options,
        "backend": keras.backend.backend(),
        "train_size": train_size,
        "batch_size": settings["batch_size"],
        "epoch_seconds": seconds,
        "first_epoch_seconds": seconds[0],
        "steady_epoch_seconds": min(seconds[1:]) if len(seconds) > 1 else seconds[0],
        "fit_seconds": total,
        "final_loss": history[-1]["loss"],
        "test_accuracy": accuracy,
    }


DEVICE_PROBES = {
    "jax": "import jax; d = jax.devices()[0]; print(d.device_kind if d.platform != 'cpu' else '')",
    "torch": "import torch; "
    "print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')",
    "tensorflow": "import tensorflow as tf; g = tf.config.list_physical_devices('GPU'); "
    "print(tf.config.experimental.get_device_details(g[0]).get('device_name', 'GPU') "
    "if g else '')",
}


def device_name() -> str:
    """The accelerator the backend trains on, else '<machine> CPU'."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    # Asked in a child process: the backend in this one would hold GPU memory the runs need.
    name = subprocess.run(
        [sys.executable, "-c", DEVICE_PROBES[backend]], check=True, capture_output=True, text=True
    ).stdout.strip()
    return name or f"{os.uname().machine} CPU"


def markdown(summary: dict) -> str:
    lines = [
        f"# Keras training levers: {summary['backend']} on {summary['device']}",
        "",
        f"Command: `{summary['command']}`. {summary['epochs']} epochs per run; steady = fastest "
        "of the epochs after the first.",
    ]
    if summary.get("note"):
        lines.append(summary["note"])
    lines.append(
        f"{summary['threads']} threads. On a CPU, numpy's float32 matmul rate is measured just "
        "before and just after each run (this kind of machine drifts); efficiency is "
        "against their mean."
    )
    lines += [
        "",
        "| model | lever | steady epoch (s) | first epoch (s) | numpy GFLOP/s before, after "
        "| efficiency | test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in (r for r in summary["runs"] if "error" not in r):
        eff = f"{r['efficiency']:.2f}" if "efficiency" in r else "-"
        rates = ", ".join(f"{g:.0f}" for g in r.get("matmul_gflops", [])) or "-"
        lines.append(
            f"| {r['model']} | {r['lever']} | {r['steady_epoch_seconds']:.3f} | "
            f"{r['first_epoch_seconds']:.2f} | {rates} | {eff} | {r['test_accuracy']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a dataset directory of four IDX .gz files")
    parser.add_argument("--models", nargs="+", default=KERAS, choices=KERAS)
    parser.add_argument("--levers", nargs="+", default=DEFAULT_LEVERS)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", type=Path, help="output path without suffix")
    parser.add_argument(
        "--one", nargs=3, metavar=("MODEL", "LEVER", "CACHE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        model_kind, lever, cache = args.one
        result = one_run(model_kind, lever, args.epochs, args.threads, Path(cache))
        print("RESULT " + json.dumps(result), flush=True)
        return
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    for lever in args.levers:  # reject a misspelt lever before anything runs
        options = lever_options(lever)
        if options["training_loop"] == "scan" and backend != "jax":
            raise SystemExit(f"lever {lever!r} needs KERAS_BACKEND=jax")
        if options["steps_per_execution"] > 1 and backend == "torch":
            raise SystemExit(f"lever {lever!r}: Keras's torch trainer runs one step per call")
    summary = {
        "backend": backend,
        "device": device_name(),
        "threads": args.threads,
        "epochs": args.epochs,
        "command": " ".join(["python", *sys.argv]),
        "runs": [],
    }
    on_cpu = summary["device"].endswith(" CPU")

    out = args.out or ROOT / "bench" / "results" / (
        f"keras_levers_{backend}_{re.sub(r'[^A-Za-z0-9]+', '-', summary['device']).strip('-')}"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    flops = {kind: flops_per_example(kind) for kind in args.models}
    with tempfile.TemporaryDirectory() as cache:
        load_arrays(args.directory, Path(cache))
        for model_kind in args.models:
            for lever in args.levers:
                print(f"[{model_kind}] {lever} ...", flush=True)
                child = [
                    sys.executable,
                    __file__,
                    str(args.directory),
                    "--epochs",
                    str(args.epochs),
                    "--threads",
                    str(args.threads),
                    "--one",
                    model_kind,
                    lever,
                    cache,
                ]
                train = partial(subprocess.run, child, capture_output=True, text=True)
                if on_cpu:
                    proc, rates = matmul_rates_around(args.threads, train)
                else:
                    proc = train()
                lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
                if proc.returncode != 0 or not lines:
                    print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                    summary["runs"].append(
                        {"model": model_kind, "lever": lever, "error": proc.stderr[-2000:]}
                    )
                    continue
                result = json.loads(lines[-1][len("RESULT ") :])
                if on_cpu:
                    result["matmul_gflops"] = rates
                    floor = flops[model_kind] * result["train_size"] / (np.mean(rates) * 1e9)
                    result["floor_seconds"] = floor
                    result["efficiency"] = floor / result["steady_epoch_seconds"]
                summary["runs"].append(result)
                print(
                    f"  steady {result['steady_epoch_seconds']:.3f} s, "
                    f"first {result['first_epoch_seconds']:.2f} s, "
                    f"accuracy {result['test_accuracy']:.4f}",
                    flush=True,
                )
                out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    write_summary(out, summary, markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
