"""The whole study as one plain Python script: the baseline the pipeline is measured against.

It does the computations the pipeline does, with the same library functions and the
settings of config.yaml, in one process, one step after another: read and convert the
data, PCA, the SVM stages, the numpy network, the Keras MLP and CNN, the figures and the
tables. No caching, no logs per step, no report. Used by bench/run.py.

Usage: python bench/plain_study.py DATASET_DIR OUT_DIR [--dataset NAME] [--threads N]
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
    args = parser.parse_args()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    from mnist_study.keras_models import configure_backend

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    configure_backend(args.threads, config.get("keras_backend", "tensorflow"))
    import pandas as pd

    from mnist_study import data, figures, idx, kernel_trick, metrics, pca, svm
    from mnist_study.datasets import get_spec, verify_file
    from mnist_study.nn_numpy import NeuralNetwork
    from mnist_study.runtime import limit_threads

    limit_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    spec = get_spec(args.dataset)
    lap("imports")

    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        paths = [
            args.directory / f"{prefix}-{kind}"
            for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")
        ]
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
    subset = data.stratified_subset(train.y, k["subset"], s["seed"])
    rows = svm.compare_kernels(k["names"], k, train.X[subset], train.y[subset], test.X, test.y)
    pd.DataFrame(rows).to_csv(out / "kernels.csv")
    b = s["boundaries"]
    subset = data.stratified_subset(train.y, b["subset"], s["seed"])
    Z, panels = svm.decision_regions(
        k["names"], k, train.X[subset], train.y[subset], b["resolution"], s["seed"]
    )
    figures.save(
        figures.decision_boundaries(panels, Z, train.y[subset], spec.classes, "t"),
        out / "boundaries.png",
    )
    g = s["grid"]
    subset = data.stratified_subset(train.y, g["subset"], s["seed"])
    grid, best = svm.grid_search(
        train.X[subset], train.y[subset], g["C"], g["gamma"], g["folds"], s["seed"], args.threads
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
    f = s["final"]
    subset = data.stratified_subset(train.y, f["subset"], s["seed"])
    final = svm.fit_and_score(
        svm.final_model(best["C"], best["gamma"]), train.X[subset], train.y[subset], test.X, test.y
    )
    figures.save(figures.confusion(final["confusion"], spec.classes, "t"), out / "final.png")
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

    n = config["nn_numpy"]
    nn_rng = np.random.default_rng(n["seed"])
    net = NeuralNetwork(784, n["hidden"], 10, n["init_scale"], nn_rng)
    net.fit(train.X, train.y, n["batch_size"], n["epochs"], n["learning_rate"], nn_rng)
    probabilities = net.predict_proba(test.X)
    curves = metrics.roc_curves(test.y, probabilities)
    auc, per_class = metrics.macro_auc(test.y, probabilities)
    aucs = {**dict(enumerate(per_class)), "micro": auc, "macro": auc}
    figures.save(figures.roc_figure(curves, aucs, spec.classes, "t"), out / "roc.png")
    lap("nn_numpy")

    from mnist_study import keras_models

    results = {}
    for kind in ("mlp", "cnn"):
        c = config[kind]
        keras_models.set_seed(c["seed"])
        model = keras_models.build(kind, c)
        X, y, validation, X_test = keras_models.training_arrays(kind, c, train.X, train.y, test.X)
        history = keras_models.train(
            model, X, y, c["epochs"], c["batch_size"], c["seed"], validation
        )
        probabilities = model.predict(X_test, batch_size=1024, verbose=0)
        results[kind] = float(np.mean(np.argmax(probabilities, axis=1) == test.y))
        model.save(out / f"{kind}.keras")
        figures.save(figures.training_history(pd.DataFrame(history), "t"), out / f"{kind}.png")
        lap(kind)
    maps = keras_models.feature_maps(model, train.X[config["cnn"]["feature_map_image"]])
    figures.save(figures.feature_maps(train.X[2], maps, "t"), out / "maps.png")
    lap("feature_maps")

    timings["total"] = sum(timings.values())
    (out / "timings.json").write_text(
        json.dumps({"seconds": timings, "accuracy": results}, indent=2)
    )
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
