"""Rule svm_kernel_trick: the intuition figures on seeded synthetic 2-D data."""

import numpy as np

from mnist_study import figures, kernel_trick
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    settings = snakemake.params.settings
    rng = np.random.default_rng(settings["seed"])
    n = settings["points"]
    summary = {}

    fig, (left, right) = figures.plt.subplots(1, 2, figsize=(12, 5.5))
    X, y = kernel_trick.separable(n, rng)
    hard = kernel_trick.linear_svm(X, y, C=1e6)  # a very large C: the hard margin
    figures.margin_plot(left, X, y, hard, "separable classes: the maximal margin")
    summary["separable"] = {"points": len(y), "train_accuracy": float(hard.score(X, y))}
    X, y = kernel_trick.overlapping(n, rng)
    soft = kernel_trick.linear_svm(X, y, C=1.0)
    figures.margin_plot(right, X, y, soft, "overlapping classes: a soft margin (C = 1)")
    summary["overlapping"] = {"points": len(y), "train_accuracy": float(soft.score(X, y))}
    fig.suptitle("Support vector classifiers on synthetic 2-D data")
    figures.save(fig, snakemake.output.margins)

    X, y = kernel_trick.concentric(n, rng)
    lifted = kernel_trick.lift(X)
    plane = kernel_trick.linear_svm(lifted, y, C=1e3)
    summary["concentric"] = {
        "points": len(y),
        "lifted_train_accuracy": float(plane.score(lifted, y)),
        "flat_linear_train_accuracy": float(kernel_trick.linear_svm(X, y, C=1.0).score(X, y)),
    }
    fig = figures.lift_plot(
        X, y, lifted, (plane.coef_[0], plane.intercept_[0]), "The kernel trick: lifting into 3-D"
    )
    figures.save(fig, snakemake.output.lift)
    write_json(snakemake.output.summary, summary)
    log.info("kernel-trick summary: %s", summary)


run_rule(main, globals())
