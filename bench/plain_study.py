"""The whole study in one plain Python process: the baseline the pipeline is measured against.

It calls each rule's own code, `main(snakemake)` of scripts/<rule>.py, with the files
and settings the rule would give it, one step after another in this one process: no
Snakemake, no process per job, no caching and no logs, so the pipeline and this differ
only in how the same work is run. The settings are config.yaml's, with any --configfile
merged over them, each stochastic model once per seed of repeats.seeds. Writes the same
files under OUT_DIR as the pipeline under results/<dataset>/, and OUT_DIR/timings.json.
Used by bench/run.py.

Usage: python bench/plain_study.py DATASET_DIR OUT_DIR [--dataset NAME] [--threads N]
                                  [--configfile FILE ...]

Every step computes with the config's `threads`, as the rules do; --threads is the grid
search's worker threads, which change none of its scores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from mnist_study.models import KERAS, MODELS, SAVED  # noqa: E402


class Named(list):
    """Files in order that are also named, as Snakemake hands a rule script its files."""

    def __init__(self, **named):
        super().__init__(named.values())
        self.__dict__.update(named)

    def __getitem__(self, key):
        return self.__dict__[key] if isinstance(key, str) else super().__getitem__(key)


def paths(folder: Path, spec: str) -> dict:
    """{"name": "folder/file"} from "name=file ..."; a bare "file.ext" is named "file"."""
    pairs = (
        item.split("=") if "=" in item else (item.split(".")[0], item) for item in spec.split()
    )
    return {name: str(folder / file) for name, file in pairs}


def job(threads: int, inputs: dict, outputs: dict, params: dict, **wildcards):
    """What a rule script reads of its `snakemake` object."""
    return SimpleNamespace(
        input=Named(**inputs),
        output=Named(**outputs),
        params=SimpleNamespace(**params),
        wildcards=SimpleNamespace(**wildcards),
        threads=threads,
        log=[None],
    )


def setup_steps(config: dict, spec, directory: Path, out: Path, threads: int):
    """(script, job) of the steps that run once: data, PCA, the SVM's grid and figures."""
    data = paths(out / "data", "train=train.parquet test=test.parquet")
    dataset, svm, pca = spec.as_params(), config["svm"], config["pca"]
    computing = config["threads"]  # the config's threads, for the steps that compute
    train = {"train": data["train"]}
    raw = [str(directory / spec.files[role]) for role in spec.files]
    yield "prepare_data", job(1, {"raw": raw}, data | paths(out / "data", "summary.json"),
                              {"dataset": dataset})  # fmt: skip
    params = {"dataset": dataset, "samples": config["data"]["samples"]}
    yield (
        "plot_sample_digits",
        job(1, train, paths(out / "data", "figure=sample_digits.png"), params),
    )
    for k in (2, 3):
        outputs = paths(out / "pca", f"table=pca{k}_variance.csv figure=pca{k}_scatter.png")
        params = {"dataset": dataset, "settings": pca, "threads": computing}
        yield "pca_projection", job(computing, train, outputs, params, components=str(k),
                                    dataset=spec.name)  # fmt: skip
    outputs = paths(
        out / "pca",
        "variance_csv=explained_variance.csv variance_parquet=explained_variance.parquet "
        "levels=components_for_variance.csv timing=timing.json "
        "figure=cumulative_variance.png figure_svg=cumulative_variance.svg",
    )
    params = {"settings": pca, "threads": computing}
    yield "pca_variance", job(computing, train, outputs, params, dataset=spec.name)
    params = {"dataset": dataset, "kernels": svm["kernels"], "settings": svm["boundaries"],
              "seed": svm["boundaries"]["seed"], "threads": computing}  # fmt: skip
    yield "svm_boundaries", job(computing, train,
                                paths(out / "svm", "figure=decision_boundaries.png"),
                                params)  # fmt: skip
    outputs = paths(out / "kernel_trick", "margins.png lift.png summary.json")
    yield "svm_kernel_trick", job(1, {}, outputs, {"settings": svm["kernel_trick"]})
    seeds, grid = config["repeats"]["seeds"], out / "svm" / "grid"
    for seed in seeds:
        outputs = {"table": str(grid / f"seed-{seed}.csv")}
        params = {"settings": svm["grid"], "seed": seed}
        yield "svm_grid_search", job(threads, train, outputs, params)
    tables = {"tables": [str(grid / f"seed-{seed}.csv") for seed in seeds]}
    outputs = paths(
        out / "svm", "table=grid_search.csv best=grid_best.json figure=grid_heatmap.png"
    )
    yield "svm_grid_choice", job(1, tables, outputs, {"settings": svm["grid"]})


def seed_steps(config: dict, spec, out: Path, seed: int):
    """(script, job) of one seed's runs of every stochastic model."""
    from mnist_study.sweeps import base_settings

    data = paths(out / "data", "train=train.parquet test=test.parquet")
    dataset = spec.as_params()
    computing = config["threads"]  # the config's threads, for the steps that compute

    def run(model: str, files: str) -> dict:
        return paths(out / model / "base" / f"seed-{seed}", files)

    outputs = run("svm_kernels", "table=kernels.csv confusion.csv metrics.json predictions.parquet "
                  "models=models.skops models_checksum=models.skops.sha256 arrays=models.npz "
                  "arrays_checksum=models.npz.sha256")  # fmt: skip
    kernels = {"settings": config["svm"]["kernels"], "seed": seed}
    yield "svm_kernels", job(1, data, outputs, kernels)
    outputs = run("svm_final", "model=model.skops checksum=model.skops.sha256 arrays=model.npz "
                  "arrays_checksum=model.npz.sha256 info=model.json "
                  "metrics.json scores.json predictions.parquet figure=confusion.png")  # fmt: skip
    inputs = {**data, "best": str(out / "svm/grid_best.json")}
    params = {"dataset": dataset, "settings": base_settings(config, "svm_final"), "seed": seed,
              "threads": computing}  # fmt: skip
    yield "svm_train_final", job(computing, inputs, outputs, params)
    outputs = run("nn_numpy", "weights=weights.npz checksum=weights.npz.sha256 history.csv "
                  "auc.csv metrics.json predictions.parquet roc=roc_curves.png")  # fmt: skip
    params = {"dataset": dataset, "settings": base_settings(config, "nn_numpy"), "seed": seed,
              "threads": computing}  # fmt: skip
    yield "nn_numpy_train", job(computing, data, outputs, params)
    for kind in KERAS:
        outputs = run(kind, "model=model.keras checksum=model.keras.sha256 history.csv "
                      "history_figure=history.png confusion=confusion.png metrics.json "
                      "predictions.parquet")  # fmt: skip
        params = {"dataset": dataset, "kind": kind, "settings": base_settings(config, kind),
                  "seed": seed, "backend": config["keras_backend"],
                  "threads": computing}  # fmt: skip
        if kind == "cnn":
            outputs |= run(
                kind, "feature_maps=feature_maps.png feature_map_arrays=feature_maps.npz"
            )
            params["feature_map_image"] = config["cnn"]["feature_map_image"]
        yield "keras_train", job(computing, data, outputs, params)


def table_steps(config: dict, spec, out: Path):
    """(script, job) of the tables over every seed's runs."""
    runs = [out / m / "base" / f"seed-{s}" for m in MODELS for s in config["repeats"]["seeds"]]
    tables, name = out / "tables", {"dataset": spec.name}

    def each(stem: str, *extensions: str) -> list[str]:
        return [str(tables / f"{stem}.{ext}") for ext in extensions]

    metrics = {"metrics": [str(r / "metrics.json") for r in runs]}
    outputs = paths(tables, "csv=metrics.csv parquet=metrics.parquet md=metrics.md")
    yield "metrics_table", job(1, metrics, outputs, {}, **name)
    predictions = {"predictions": [str(r / "predictions.parquet") for r in runs]}
    outputs = {"tables": each("metrics_summary", "csv", "parquet", "md")}
    outputs |= paths(tables, "figure=accuracy_over_seeds.png")
    inputs = {"metrics": str(tables / "metrics.parquet"), **predictions}
    yield "metrics_summary", job(1, inputs, outputs, {}, **name)
    outputs = {"tables": each("model_comparison", "csv", "md")}
    outputs |= paths(tables, "by_seed=model_comparison_by_seed.csv figure=paired_differences.png")
    inputs = {**predictions, "metrics": str(tables / "metrics.parquet")}
    yield "model_comparison", job(1, inputs, outputs, {}, **name)
    inputs = paths(tables, "summary=metrics_summary.parquet comparison=model_comparison.csv "
                   "metrics=metrics.parquet")  # fmt: skip
    outputs = paths(tables, "table=headline.csv conclusions=conclusions.csv")
    yield "headline", job(1, inputs, outputs, {}, **name)
    inputs = paths(out / "pca", "pca_variance=explained_variance.parquet "
                   "levels=components_for_variance.csv")  # fmt: skip
    inputs |= paths(out, "grid_best=svm/grid_best.json summary=tables/metrics_summary.parquet")
    outputs = paths(tables, "csv=study_comparison.csv md=study_comparison.md")
    yield "study_comparison", job(1, inputs, outputs, {}, **name)


def robustness_steps(config: dict, spec, out: Path):
    """(script, job) of the robustness stage and the errors' tables: each corruption's
    test set, then each saved run scored on all of them, then the tables over them."""
    seeds, robustness = config["repeats"]["seeds"], config["robustness"]
    runs = [(m, out / m / "base" / f"seed-{s}") for m in MODELS for s in seeds]
    test, tables, name = str(out / "data/test.parquet"), out / "tables", {"dataset": spec.name}
    models = [str(run / SAVED[m]) for m, run in runs]
    predictions = [str(run / "predictions.parquet") for _, run in runs]
    threads = config["threads"]
    for corruption in robustness["corruptions"]:
        corrupted = {"test": str(out / "robustness/test" / f"{corruption}.parquet")}
        params = {"severity": robustness["severity"][corruption], "seed": robustness["seed"]}
        yield "corrupt_test_set", job(1, {"test": test}, corrupted, params, corruption=corruption)
    tests = [str(out / "robustness/test" / f"{c}.parquet") for c in robustness["corruptions"]]
    for (model, run), saved in zip(runs, models, strict=True):
        inputs = {"tests": tests, "model": saved, "checksum": f"{saved}.sha256"}
        scores = out / "robustness/scores" / model / f"{run.name}.parquet"
        params = {"dataset": spec.as_params(), "threads": threads}
        seed = run.name.removeprefix("seed-")
        if robustness["corruptions"]:
            yield "score_run", job(threads, inputs, {"scores": str(scores)}, params,
                                   model=model, seed=seed)  # fmt: skip
    folder = out / "robustness"
    inputs = {
        "scores": [str(folder / "scores" / m / f"{run.name}.parquet") for m, run in runs],
        "corrupted": [str(folder / "test" / f"{c}.parquet") for c in robustness["corruptions"]],
        "test": test,
        "predictions": predictions,
        "metrics": str(tables / "metrics.parquet"),
    }
    outputs = paths(
        tables,
        "accuracy=robustness.csv accuracy_md=robustness.md summary=robustness_summary.csv "
        "comparison=robustness_comparison.csv calibration=calibration.csv "
        "conclusions=robustness_conclusions.txt heatmap=robustness_heatmap.png "
        "examples=corruption_examples.png reliability=reliability.png",
    )
    params = {"dataset": spec.as_params(), "corruptions": robustness["corruptions"],
              "bins": robustness["calibration_bins"], "bootstrap": robustness["bootstrap"],
              "seed": robustness["seed"]}  # fmt: skip
    if robustness["corruptions"]:
        yield "robustness_tables", job(1, inputs, outputs, params, **name)
    inputs = {"test": test, "predictions": predictions, "metrics": str(tables / "metrics.parquet")}
    outputs = paths(
        tables,
        "per_class=per_class_accuracy.csv per_class_md=per_class_accuracy.md "
        "confused=confused_pairs.csv hard=hard_images.csv gallery=hard_images.png "
        "label_issues=label_issues.csv label_issues_md=label_issues.md "
        "label_issues_gallery=label_issues.png",
    )
    params = {"dataset": spec.as_params(), "hard_images": robustness["hard_images"],
              "label_issues": robustness["label_issues"]}  # fmt: skip
    yield "errors_tables", job(1, inputs, outputs, params, **name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dataset", default="mnist-sample")
    parser.add_argument("--threads", type=int, default=2, help="the grid search's workers")
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    parser.add_argument("--scoring", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    start = time.perf_counter()
    from mnist_study.config import merge_configs
    from mnist_study.datasets import get_spec
    from mnist_study.keras_models import SCORING_BACKEND, configure_backend

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for extra in args.configfile:
        merge_configs(config, yaml.safe_load(extra.read_text()))
    # One process per Keras backend: this one trains; the scoring steps, which run the
    # saved models on Keras's numpy backend as the rule does, run in one child process.
    configure_backend(
        config["threads"], SCORING_BACKEND if args.scoring else config["keras_backend"]
    )
    spec = get_spec(args.dataset)
    steps = [*setup_steps(config, spec, args.directory, args.out, args.threads)]
    for seed in config["repeats"]["seeds"]:
        steps += seed_steps(config, spec, args.out, seed)
    steps += table_steps(config, spec, args.out)
    steps += robustness_steps(config, spec, args.out)
    timings: dict[str, float] = {}
    for script, step in steps:
        if (script == "score_run") != args.scoring:
            if script == "score_run" and script not in timings:
                began = time.perf_counter()
                subprocess.run([sys.executable, *sys.argv, "--scoring"], check=True)
                timings[script] = time.perf_counter() - began
            continue
        began = time.perf_counter()
        importlib.import_module(script).main(step)
        timings[script] = timings.get(script, 0.0) + time.perf_counter() - began
    if args.scoring:
        return
    timings["total"] = time.perf_counter() - start
    (args.out / "timings.json").write_text(json.dumps({"seconds": timings}, indent=2) + "\n")
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
