"""model_comparison: every pair of models on the same test images, and its figure."""

import pandas as pd

from mnist_study import comparison, figures, result_figures, results
from mnist_study.models import short_name
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_table, write_tables


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    dataset = snakemake.wildcards.dataset
    correct = comparison.correct_by_run(snakemake.input.predictions)
    metrics = pd.read_parquet(snakemake.input.metrics)
    correct, failed = results.counted_runs(correct, metrics)
    for model, seed in failed:
        log.warning(
            "%s seed %d: a failed run (accuracy NaN: it predicted nothing), left out of the pairs",
            model,
            seed,
        )
    frame, by_seed = comparison.model_comparison(correct, dataset, left_out=failed)
    *notes, count = comparison.log_lines(frame)
    for line in notes:
        log.warning(line)
    log.info(count)
    # Each pair's models by code and by label (label_a, label_b); the figure names them
    # by their short names, which are unique too (models.short_name).
    labels = results.model_labels(metrics)
    write_tables(results.with_labels(frame, labels), snakemake.output.tables)
    write_table(results.with_labels(by_seed, labels), snakemake.output.by_seed)
    fig = result_figures.paired_differences(
        [
            (
                f"{short_name(r.model_a)} - {short_name(r.model_b)}",
                r.difference,
                r.ci_low,
                r.ci_high,
                r.supported,
            )
            for r in frame.itertuples()
            if r.method != "refused"
        ],
        f"{dataset}: paired accuracy differences (red: supported after Holm)",
    )
    figures.save(fig, snakemake.output.figure)
    log.info("%d pairs\n%s", len(frame), frame.to_string(max_colwidth=60))


run_rule(main, globals())
