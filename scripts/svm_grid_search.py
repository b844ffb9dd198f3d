"""Rule svm_grid_search: cross-validated accuracy of the RBF SVM over C x gamma."""

import time

from mnist_study import data, figures, svm
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(1)  # parallelism comes from fitting folds in worker threads
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    train = data.read_split(snakemake.input.train)
    chosen = data.stratified_subset(train.y, settings["subset"], seed)
    n_fits = len(settings["C"]) * len(settings["gamma"]) * settings["folds"]
    log.info(
        "grid search: %d settings x %d folds = %d fits on %d images, %d threads",
        n_fits // settings["folds"],
        settings["folds"],
        n_fits,
        len(chosen),
        snakemake.threads,
    )
    start = time.perf_counter()
    table, best = svm.grid_search(
        train.X[chosen],
        train.y[chosen],
        settings["C"],
        settings["gamma"],
        settings["folds"],
        seed,
        snakemake.threads,
    )
    seconds = time.perf_counter() - start  # in the log and the benchmark, not in the tables
    log.info(
        "best: C=%g gamma=%g, CV accuracy %.4f +/- %.4f (%.1f s); %d setting(s) tied: %s (%s)",
        best["C"],
        best["gamma"],
        best["cv_accuracy"],
        best["cv_std"],
        seconds,
        len(best["tied"]),
        best["tied"],
        svm.TIE_BREAK,
    )
    write_table(table, snakemake.output.table)
    write_json(snakemake.output.best, best)
    fig = figures.grid_heatmap(
        svm.score_matrix(table, settings["C"], settings["gamma"]),
        settings["C"],
        settings["gamma"],
        (best["C"], best["gamma"]),
        f"RBF SVM, {settings['folds']}-fold CV accuracy on {len(chosen)} images"
        + (
            f"\nbold: chosen; *: tied with it ({svm.TIE_BREAK})"
            if len(best["tied"]) > 1
            else "; bold: the best"
        ),
        best["tied"],
    )
    figures.save(fig, snakemake.output.figure)


run_rule(main, globals())
