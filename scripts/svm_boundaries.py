"""Rule plot_svm_boundaries: the kernels refitted on 2 PCA components, decision regions."""

from mnist_study import data, figures, svm
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import limit_threads, run_rule, setup_logging


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    kernels = snakemake.params.kernels
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    train = data.read_split(snakemake.input.train)
    chosen = data.stratified_subset(train.y, settings["subset"], seed)
    Z, panels = svm.decision_regions(
        kernels["names"], kernels, train.X[chosen], train.y[chosen], settings["resolution"], seed
    )
    for name, *_grid in panels:
        log.info("%s, on 2 PCA components of %d training images", name, len(chosen))
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    fig = figures.decision_boundaries(
        panels,
        Z,
        train.y[chosen],
        spec.classes,
        f"SVM decision regions on 2 PCA components ({len(chosen):,} training images)",
    )
    figures.save(fig, snakemake.output.figure)


run_rule(main, globals())
