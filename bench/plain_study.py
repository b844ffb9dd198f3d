"""The whole study as one plain Python script: the baseline the pipeline is measured against.

It does the computations the pipeline does, with the same library functions and the
settings of config.yaml (and of any --configfile after it), in one process, one step
after another: read and convert the data, PCA, the SVM stages, the numpy network, the
Keras MLP and CNN, the figures, each stochastic model once per seed of repeats.seeds,
and the tables over the seeds. No caching, no logs per step, no report. Used by
bench/run.py.

Usage: python bench/plain_study.py DATASET_DIR OUT_DIR [--dataset NAME] [--threads N]
                                  [--configfile FILE ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dataset", default="mnist-sample")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configfile", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    from mnist_study.config import merge_configs
    from mnist_study.keras_models import configure_backend

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for extra in args.configfile:
        merge_configs(config, yaml.safe_load(extra.read_text()))
    seeds = config["repeats"]["seeds"]
    configure_backend(args.threads, config.get("keras_backend", "tensorflow"))
    import pandas as pd

    from mnist_study import data, figures, idx, kernel_trick, metrics, pca, results, svm
    from mnist_study.datasets import get_spec, verify_file
    from mnist_study.nn_numpy import NeuralNetwork
    from mnist_study.runtime import limit_threads

    limit_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    spec = get_spec(args.dataset)
    lap("imports")

    splits = {}
    for split in ("train", "test"):
        paths = spec.split_paths(args.directory, split)
        for path in paths:
            verify_file(path, spec)
        images, labels = idx.read_split(*paths)
        data.write_split(out / f"{split}.parquet", data.scale_and_flatten(images), labels, {})
        splits[split] = data.read_split(out / f"{split}.parquet")
    train, test = splits["train"], splits["test"]
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(train), 30, replace=False)
    figures.save(
        figures.sample_digits(train.X[chosen], train.y[chosen], spec.classes, "s"),
        out / "samples.png",
    )
    lap("data")

    settings = config["pca"]
    shown = np.sort(
        rng.choice(len(train), min(settings["scatter_points"], len(train)), replace=False)
    )
    for k, draw in ((2, figures.pca_scatter_2d), (3, figures.pca_scatter_3d)):
        model = pca.fit_pca(train.X, k, settings["solver"])
        pca.variance_table(model).to_csv(out / f"pca{k}.csv")
        figures.save(
            draw(
                model.transform(train.X[shown]),
                train.y[shown],
                model.explained_variance_ratio_,
                spec.classes,
                "t",
            ),
            out / f"pca{k}.png",
        )
    table = pca.variance_table(pca.fit_pca(train.X, None, settings["solver"]))
    levels = pca.components_for_levels(table["cumulative"], settings["variance_levels"])
    figures.save(
        figures.cumulative_variance(
            table["cumulative"].to_numpy(),
            [(r.variance_level, r.components) for r in levels.itertuples()],
            "t",
        ),
        out / "cumulative.png",
        out / "cumulative.svg",
    )
    lap("pca")

    s = config["svm"]
    k = s["kernels"]
    b = s["boundaries"]
    subset = data.stratified_subset(train.y, b["subset"], b["seed"])
    Z, panels = svm.decision_regions(
        k["names"], k, train.X[subset], train.y[subset], b["resolution"], b["seed"]
    )
    figures.save(
        figures.decision_boundaries(panels, Z, train.y[subset], spec.classes, "t"),
        out / "boundaries.png",
    )
    g = s["grid"]
    subset = data.stratified_subset(train.y, g["subset"], g["seed"])
    grid, best = svm.grid_search(
        train.X[subset], train.y[subset], g["C"], g["gamma"], g["folds"], g["seed"], args.threads
    )
    figures.save(
        figures.grid_heatmap(
            svm.score_matrix(grid, g["C"], g["gamma"]),
            g["C"],
            g["gamma"],
            (best["C"], best["gamma"]),
            "t",
        ),
        out / "grid.png",
    )
    t = s["kernel_trick"]
    trick_rng = np.random.default_rng(t["seed"])
    fig, (left, right) = figures.plt.subplots(1, 2)
    X, y = kernel_trick.separable(t["points"], trick_rng)
    figures.margin_plot(left, X, y, kernel_trick.linear_svm(X, y, 1e6), "t")
    X, y = kernel_trick.overlapping(t["points"], trick_rng)
    figures.margin_plot(right, X, y, kernel_trick.linear_svm(X, y, 1.0), "t")
    figures.save(fig, out / "margins.png")
    X, y = kernel_trick.concentric(t["points"], trick_rng)
    lifted = kernel_trick.lift(X)
    plane = kernel_trick.linear_svm(lifted, y, 1e3)
    figures.save(
        figures.lift_plot(X, y, lifted, (plane.coef_[0], plane.intercept_[0]), "t"),
        out / "lift.png",
    )
    lap("svm")

    import keras

    from mnist_study import keras_models

    correct: dict[str, dict[int, np.ndarray]] = {}
    rows = []

    def record(model: str, seed: int, predicted, **values) -> None:
        correct.setdefault(model, {})[seed] = np.asarray(predicted) == test.y
        rows.append(metrics.metric_row(model, model, {}, seed=seed, **values))

    f = s["final"]
    n = config["nn_numpy"]
    for seed in seeds:
        subset = data.stratified_subset(train.y, k["subset"], seed)
        for r in svm.compare_kernels(
            k["names"], k, train.X[subset], train.y[subset], test.X, test.y
        ):
            record(
                f"svm_{r['kernel']}",
                seed,
                r["scores"].argmax(axis=1),
                accuracy=r["accuracy"],
                test_size=len(test),
            )
        subset = data.stratified_subset(train.y, f["subset"], seed)
        final = svm.fit_and_score(
            svm.final_model(best["C"], best["gamma"]),
            train.X[subset],
            train.y[subset],
            test.X,
            test.y,
        )
        record("svm_final", seed, final["scores"].argmax(axis=1), accuracy=final["accuracy"],
               test_size=len(test))  # fmt: skip
        figures.save(
            figures.confusion(final["confusion"], spec.classes, "t"), out / f"final_{seed}.png"
        )
        lap(f"svm seed {seed}")

        nn_rng = np.random.default_rng(seed)
        net = NeuralNetwork(784, n["hidden"], 10, n["init_scale"], nn_rng)
        net.fit(train.X, train.y, n["batch_size"], n["epochs"], n["learning_rate"], nn_rng)
        probabilities = net.predict_proba(test.X)
        curves = metrics.roc_curves(test.y, probabilities)
        auc, per_class = metrics.macro_auc(test.y, probabilities)
        aucs = {**dict(enumerate(per_class)), "micro": auc, "macro": auc}
        figures.save(figures.roc_figure(curves, aucs, spec.classes, "t"), out / f"roc_{seed}.png")
        record("nn_numpy", seed, probabilities.argmax(axis=1),
               accuracy=float(np.mean(probabilities.argmax(axis=1) == test.y)),
               test_size=len(test))  # fmt: skip
        lap(f"nn_numpy seed {seed}")

        for kind in ("mlp", "cnn"):
            c = config[kind]
            keras.utils.clear_session()  # as a fresh process would start
            run = keras_models.fit_and_predict(kind, c, seed, train.X, train.y, test.X)
            predicted = run["probabilities"].argmax(axis=1)
            record(kind, seed, predicted, accuracy=float(np.mean(predicted == test.y)),
                   test_size=len(test))  # fmt: skip
            run["model"].save(out / f"{kind}_{seed}.keras")
            figures.save(
                figures.training_history(pd.DataFrame(run["history"]), "t"),
                out / f"{kind}_{seed}.png",
            )
            figures.save(
                figures.confusion(
                    metrics.classification_scores(test.y, predicted, run["probabilities"])[
                        "confusion"
                    ],
                    spec.classes,
                    "t",
                ),
                out / f"{kind}_confusion_{seed}.png",
            )
            lap(f"{kind} seed {seed}")
        image = config["cnn"]["feature_map_image"]
        maps = keras_models.feature_maps(run["model"], train.X[image])
        figures.save(figures.feature_maps(train.X[image], maps, "t"), out / f"maps_{seed}.png")
        lap(f"feature_maps seed {seed}")

    table = results.metrics_table(rows, args.dataset)
    summary = results.metrics_summary(table)
    summary.to_csv(out / "summary.csv", index=False)
    comparison, _ = results.model_comparison(correct, args.dataset)
    comparison.to_csv(out / "comparison.csv", index=False)
    lap("tables")
    accuracy = summary[summary["metric"] == "accuracy"]
    results_by_model = dict(zip(accuracy["model"], accuracy["mean"], strict=True))

    timings["total"] = sum(timings.values())
    (out / "timings.json").write_text(
        json.dumps({"seconds": timings, "accuracy": results_by_model, "seeds": seeds}, indent=2)
    )
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
