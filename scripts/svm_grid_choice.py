"""Rule svm_grid_choice: the SVM setting chosen from every seed's grid search.

The best mean CV accuracy over the seeds, the settings tied with it and the one chosen
among them (mnist_study.svm.choose_grid), and the heatmap of the mean.
"""

import pandas as pd

from mnist_study import figures, svm
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    settings = snakemake.params.settings
    table, choice = svm.choose_grid([pd.read_csv(path) for path in snakemake.input.tables])
    choice["subset"] = settings["subset"]
    write_table(table, snakemake.output.table)
    write_json(snakemake.output.best, choice)
    log.info(
        "chosen over %d seed(s): C=%g gamma=%g, mean CV accuracy %.4f; best C=%g gamma=%g "
        "(%.4f); %d setting(s) tied (%s): %s; chosen by %s",
        len(choice["seeds"]),
        choice["C"],
        choice["gamma"],
        choice["cv_accuracy"],
        *choice["best"],
        choice["best_cv_accuracy"],
        len(choice["tied"]),
        svm.TIE_RULE,
        choice["tied"],
        svm.TIE_BREAK,
    )
    seeds = len(choice["seeds"])
    title = (
        f"RBF SVM, mean {settings['folds']}-fold CV accuracy on {settings['subset']} images, "
        f"{seeds} seed{'s' if seeds > 1 else ''}\nbold: chosen"
        + ("; *: tied with the best (within one standard error)" if len(choice["tied"]) > 1 else "")
    )
    fig = figures.grid_heatmap(
        svm.score_matrix(table, settings["C"], settings["gamma"]),
        settings["C"],
        settings["gamma"],
        (choice["C"], choice["gamma"]),
        title,
        choice["tied"],
    )
    figures.save(fig, snakemake.output.figure)


run_rule(main, globals())
