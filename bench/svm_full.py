"""Benchmark: PCA with all components and the final SVM on the full 60,000 images.

Usage: python bench/svm_full.py [DATASET_DIR] [--out bench/results/svm_full.json]

DATASET_DIR holds Fashion-MNIST's four IDX files (default ../shared/datasets/fashion-mnist).
Measures (1) PCA with all 784 components by the pipeline's solver, (2) the RBF SVM
with the grid search's best settings trained on all 60,000 training images after a
100-component PCA projection (the default of svm.final.pca_components), then scored on
the 10,000 test images, and (3) the same
SVM on all 784 features, for the accuracy comparison.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from mnist_study import data, idx, pca, svm
from mnist_study.runtime import limit_threads


def load(directory: Path):
    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = idx.read_split(
            directory / f"{prefix}-images-idx3-ubyte.gz",
            directory / f"{prefix}-labels-idx1-ubyte.gz",
        )
        splits[split] = (data.scale_and_flatten(images), labels)
    return splits


def timed_fit_score(model, X, y, X_test, y_test):
    start = time.perf_counter()
    model.fit(X, y)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    return {
        "fit_seconds": fit,
        "predict_seconds": time.perf_counter() - start,
        "accuracy": accuracy,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="../shared/datasets/fashion-mnist")
    parser.add_argument("--out", default="bench/results/svm_full.json")
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--skip-784", action="store_true", help="skip the slow 784-feature SVM")
    parser.add_argument(
        "--baseline", help="a previous result file whose 784-feature SVM to compare against"
    )
    args = parser.parse_args()
    limit_threads(2)
    splits = load(Path(args.directory))
    (X, y), (X_test, y_test) = splits["train"], splits["test"]
    result = {
        "dataset_dir": args.directory,
        "train_size": len(y),
        "test_size": len(y_test),
        "machine": platform.processor() or platform.machine(),
    }

    start = time.perf_counter()
    pca.fit_pca(X, None, "covariance_eigh")
    result["pca_all_components_seconds"] = time.perf_counter() - start
    print(f"PCA, all components: {result['pca_all_components_seconds']:.2f} s", flush=True)

    subset = data.stratified_subset(y, 500, seed=0)
    _, best = svm.grid_search(
        X[subset],
        y[subset],
        [0.01, 0.1, 1, 10, 100, 1000, 10000],
        [0.0001, 0.001, 0.01, 0.1, 1],
        folds=5,
        seed=0,
        n_jobs=2,
    )
    result["grid_best"] = best
    print(f"grid best: C={best['C']:g} gamma={best['gamma']:g}", flush=True)

    model = svm.final_model(best["C"], best["gamma"], args.components)
    result[f"svm_pca{args.components}"] = timed_fit_score(model, X, y, X_test, y_test)
    print(f"SVM on {args.components} components: {result[f'svm_pca{args.components}']}", flush=True)
    if not args.skip_784:
        model = svm.final_model(best["C"], best["gamma"], 0)
        result["svm_784"] = timed_fit_score(model, X, y, X_test, y_test)
        print(f"SVM on 784 features: {result['svm_784']}", flush=True)
    if args.skip_784 and args.baseline:
        previous = json.loads(Path(args.baseline).read_text())
        if previous.get("grid_best", {}).get("C") == best["C"] and "svm_784" in previous:
            result["svm_784"] = previous["svm_784"]
            result["svm_784_from"] = args.baseline
    if "svm_784" in result:
        result["accuracy_gap_points"] = 100 * (
            result["svm_784"]["accuracy"] - result[f"svm_pca{args.components}"]["accuracy"]
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
