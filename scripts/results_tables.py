"""The dataset's tidy tables: metrics per run, their summary over seeds, paired model
comparisons, the study comparison and the stage costs (rules in rules/results.smk)."""

import pandas as pd

from mnist_study import results
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import read_json, write_table


def write_all(frame, outputs):
    for path in outputs:
        write_table(frame, path)


def metrics(snakemake, dataset):
    frame = results.metrics_table(results.read_metric_files(snakemake.input.metrics), dataset)
    write_all(frame, snakemake.output)
    return frame


def summary(snakemake, dataset):
    from mnist_study import figures

    runs = pd.read_parquet(snakemake.input.metrics)
    frame = results.metrics_summary(runs)
    write_all(frame, snakemake.output.tables)
    write_table(results.headline(frame), snakemake.output.headline)
    accuracy = frame[frame["metric"] == "accuracy"]
    fig = figures.accuracy_over_seeds(
        runs[["model", "seed", "accuracy"]].itertuples(index=False),
        accuracy[["model", "mean", "ci_low", "ci_high"]].itertuples(index=False),
        f"{dataset}: test accuracy of every model over {runs['seed'].nunique()} seeds",
    )
    figures.save(fig, snakemake.output.figure)
    return frame


def comparison(snakemake, dataset):
    from mnist_study import figures

    correct = results.correct_by_run(snakemake.input.predictions)
    frame, by_seed = results.model_comparison(correct, dataset)
    write_all(frame, snakemake.output.tables)
    write_table(by_seed, snakemake.output.by_seed)
    fig = figures.paired_differences(
        [
            (f"{r.model_a} - {r.model_b}", r.difference, r.ci_low, r.ci_high, r.ci_low > 0)
            for r in frame.itertuples()
        ],
        f"{dataset}: paired accuracy differences, pooled over seeds",
    )
    figures.save(fig, snakemake.output.figure)
    return frame


def study_comparison(snakemake, dataset):
    frame = results.study_comparison(
        pd.read_parquet(snakemake.input.pca_variance),
        pd.read_csv(snakemake.input.levels),
        read_json(snakemake.input.grid_best),
        pd.read_parquet(snakemake.input.summary),
        dataset,
    )
    write_all(frame, snakemake.output)
    return frame


def stage_costs(snakemake, dataset):
    frame = results.stage_costs(snakemake.input.benchmarks, dataset)
    write_all(frame, snakemake.output)
    return frame


TABLES = {
    "metrics": metrics,
    "summary": summary,
    "comparison": comparison,
    "study_comparison": study_comparison,
    "stage_costs": stage_costs,
}


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    table = snakemake.params.table
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}")
    frame = TABLES[table](snakemake, snakemake.wildcards.dataset)
    log.info("%s: %d rows\n%s", table, len(frame), frame.to_string(max_colwidth=60))


run_rule(main, globals())
