"""Rule svm_grid_search: one seed's cross-validated grid search of the RBF SVM.

The seed draws the training subset and the folds; svm_grid_choice chooses the setting
from every seed's table.
"""

import time

from mnist_study import data, phases, svm
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    # One BLAS thread in each worker thread, each fitting folds: see grid_search_threads
    limit_threads(1, workers=snakemake.threads)
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    phases.begin("read")
    train = data.read_split(snakemake.input.train)
    phases.begin("compute")
    chosen = svm.grid_subset(train.y, settings["subset"], settings["folds"], seed)
    settings_count = len(settings["C"]) * len(settings["gamma"])
    log.info(
        "seed %d: %d settings x %d folds on %d images, %d threads",
        seed,
        settings_count,
        settings["folds"],
        len(chosen),
        snakemake.threads,
    )
    start = time.perf_counter()
    table = svm.grid_search(
        train.X[chosen],
        train.y[chosen],
        settings["C"],
        settings["gamma"],
        settings["folds"],
        seed,
        snakemake.threads,
    )
    best = table.loc[table["mean_accuracy"].idxmax()]
    log.info(
        "%.1f s; this seed's best: C=%g gamma=%g, CV accuracy %.4f",
        time.perf_counter() - start,
        best["C"],
        best["gamma"],
        best["mean_accuracy"],
    )
    phases.begin("write")
    write_table(table, snakemake.output.table)


run_rule(main, globals())
