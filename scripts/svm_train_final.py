"""Rule train_final_svm: the best grid settings, trained on a larger subset (or all),
saved, and scored on the test set.

One job trains and scores: a job of its own that only loaded the model just saved
would pay a second start and the model's load for a scoring of a second or two. The
model file and its checksum stay, for the record's model card and for reuse.
"""

import time

from mnist_study import data, figures, phases, svm
from mnist_study.datasets import DatasetSpec
from mnist_study.metrics import metric_row
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import read_json, save_model, write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    phases.begin("read")
    best = read_json(snakemake.input.best)  # the grid search's choice
    train, test = data.read_train_test(snakemake.input)
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    phases.begin("compute")
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
    fit_seconds = time.perf_counter() - start
    log.info("fitted in %.1f s", fit_seconds)
    result = svm.score_on_test(model, test.X, test.y, spec.n_classes)
    predict_seconds = result.pop("predict_seconds")
    result.pop("test_size")
    log.info(
        "final SVM, seed %d: test accuracy %.4f, macro AUC %.4f",
        seed,
        result["accuracy"],
        result["macro_auc"],
    )
    phases.begin("write")
    digest = save_model(model, snakemake.output.model)
    svm.save_scoring_arrays({"svm_final": model}, snakemake.output.arrays)
    write_json(
        snakemake.output.info,
        {
            "C": best["C"],
            "gamma": best["gamma"],
            "pca_components": components,
            "train_size": len(y),
            "seed": seed,
            "fit_seconds": fit_seconds,
            "model_sha256": digest,
        },
    )
    data.write_predictions(snakemake.output.predictions, "svm_final", test.y, result.pop("scores"))
    shown = {"kernel": "rbf", "C": best["C"], "gamma": best["gamma"]}
    shown["pca_components"] = components
    write_json(
        snakemake.output.metrics,
        [
            metric_row(
                "svm",
                "svm_final",
                shown,
                seed=seed,
                train_size=len(y),
                test_size=len(test),
                accuracy=result["accuracy"],
                macro_auc=result["macro_auc"],
                auc_classes=result["auc_classes"],
                fit_seconds=fit_seconds,
                predict_seconds=predict_seconds,
            )
        ],
    )
    write_json(snakemake.output.scores, {**shown, **result})
    fig = figures.confusion(
        result["confusion"],
        spec.classes,
        f"final RBF SVM (C={best['C']:g}, gamma={best['gamma']:g}, "
        f"{len(y):,} training images, seed {seed}): "
        f"accuracy {result['accuracy']:.4f}",
    )
    figures.save(fig, snakemake.output.figure)


run_rule(main, globals())
