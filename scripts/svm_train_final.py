"""Rule train_final_svm: the best grid settings, trained on a larger subset (or all)."""

import time

from mnist_study import data, svm
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import read_json, save_model, write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    best = read_json(snakemake.input.best)  # the grid search's choice
    train = data.read_split(snakemake.input.train)
    if settings["full_training_set"]:
        chosen = slice(None)
        components = settings["pca_components"]
    else:
        chosen = data.stratified_subset(train.y, settings["subset"], seed)
        components = 0
    X, y = train.X[chosen], train.y[chosen]
    model = svm.final_model(best["C"], best["gamma"], components, seed)
    log.info(
        "seed %d: training the final RBF SVM (C=%g, gamma=%g) on %d images, %s",
        seed,
        best["C"],
        best["gamma"],
        len(y),
        f"{components} PCA components" if components else "all 784 features",
    )
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    log.info("fitted in %.1f s", seconds)
    digest = save_model(model, snakemake.output.model)
    write_json(
        snakemake.output.info,
        {
            "C": best["C"],
            "gamma": best["gamma"],
            "pca_components": components,
            "train_size": len(y),
            "seed": seed,
            "fit_seconds": seconds,
            "model_sha256": digest,
        },
    )


run_rule(main, globals())
