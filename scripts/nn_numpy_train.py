"""Rule train_nn_numpy: the from-scratch network, trained and scored with ROC curves."""

import time

import numpy as np
import pandas as pd

from mnist_study import data, figures, metrics, phases
from mnist_study.datasets import DatasetSpec
from mnist_study.nn_numpy import NeuralNetwork
from mnist_study.runtime import limit_threads, run_rule, seed_everything, setup_logging
from mnist_study.storage import write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    rng = seed_everything(seed)
    phases.begin("read")
    train, test = data.read_train_test(snakemake.input)
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    classes = spec.n_classes
    phases.begin("compute")
    net = NeuralNetwork(784, settings["hidden"], classes, settings["init_scale"], rng)
    log.info(
        "training a 784-%d-%d network, seed %d: %d epochs, batch %d, learning rate %g",
        settings["hidden"],
        classes,
        seed,
        settings["epochs"],
        settings["batch_size"],
        settings["learning_rate"],
    )
    start = time.perf_counter()
    history = net.fit(
        train.X, train.y, settings["batch_size"], settings["epochs"], settings["learning_rate"], rng
    )
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = net.predict_proba(test.X)
    predict_seconds = time.perf_counter() - start
    shown = {k: settings[k] for k in ("hidden", "batch_size", "epochs", "learning_rate")}
    scores, row = metrics.score_probabilities(
        "nn_numpy",
        "nn_numpy",
        shown,
        test.y,
        probabilities,
        len(train),
        fit_seconds,
        predict_seconds,
        seed=seed,
    )
    failed = not np.isfinite(probabilities).all()  # diverged: no curves to draw
    curves = {} if failed else metrics.roc_curves(test.y, probabilities)
    micro = float("nan") if failed else float(np.trapezoid(*curves["micro"][::-1]))
    log.info(
        "test accuracy %.4f, macro AUC %.4f, micro AUC %.4f",
        scores["accuracy"],
        scores["macro_auc"],
        micro,
    )

    phases.begin("write")
    net.save(snakemake.output.weights)  # and its .sha256
    write_table(pd.DataFrame(history), snakemake.output.history)
    per_class = scores["per_class_auc"]  # the classes present in the test set
    auc_table = pd.DataFrame(
        {
            "class": list(per_class) + ["micro", "macro"],
            "auc": list(per_class.values()) + [micro, scores["macro_auc"]],
        }
    )
    write_table(auc_table, snakemake.output.auc)
    write_json(snakemake.output.metrics, [row])
    data.write_predictions(snakemake.output.predictions, "nn_numpy", test.y, probabilities)
    aucs = {**per_class, "micro": micro, "macro": scores["macro_auc"]}
    fig = figures.roc_figure(
        curves,
        aucs,
        spec.classes,
        f"numpy network 784-{settings['hidden']}-{classes}, seed {seed}: "
        f"ROC curves on {len(test):,} test images"
        + ("\nnone: the network diverged, its outputs are not finite" if failed else ""),
    )
    figures.save(fig, snakemake.output.roc)


run_rule(main, globals())
