"""metrics_summary: each model's metrics over the seeds (the accuracy's interval over seeds
and test images, from the runs' predictions), and its figure."""

import pandas as pd

from mnist_study import comparison, figures, result_figures, results
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_tables


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    runs = pd.read_parquet(snakemake.input.metrics)
    for line in results.failed_run_lines(runs):
        log.warning(line)
    correct = comparison.correct_by_run(snakemake.input.predictions)
    # Each model by code and by label (results.with_labels); the figure's rows by label.
    labels = results.model_labels(runs)
    frame = results.with_labels(results.metrics_summary(runs, correct), labels)
    write_tables(frame, snakemake.output.tables)
    accuracy = frame[frame["metric"] == "accuracy"]
    fig = result_figures.accuracy_over_seeds(
        results.with_labels(runs, labels)[["label", "seed", "accuracy"]].itertuples(index=False),
        accuracy[["label", "mean", "ci_low", "ci_high"]].itertuples(index=False),
        f"{snakemake.wildcards.dataset}: test accuracy of every model over "
        f"{runs['seed'].nunique()} seeds",
    )
    figures.save(fig, snakemake.output.figure)
    log.info("summary over seeds\n%s", frame.to_string(max_colwidth=60))


run_rule(main, globals())
