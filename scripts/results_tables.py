"""Rules metrics_table, study_comparison and stage_costs: the dataset's tidy tables."""

import pandas as pd

from mnist_study import results
from mnist_study.runtime import setup_logging
from mnist_study.storage import read_json, write_table


def write_all(frame, outputs):
    for path in outputs:
        write_table(frame, path)


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    dataset = snakemake.wildcards.dataset
    table = snakemake.params.table
    if table == "metrics":
        frame = results.metrics_table(results.read_metric_files(snakemake.input.metrics), dataset)
    elif table == "study_comparison":
        frame = results.study_comparison(
            pd.read_parquet(snakemake.input.pca_variance),
            pd.read_csv(snakemake.input.levels),
            read_json(snakemake.input.grid_best),
            pd.read_parquet(snakemake.input.metrics),
            dataset,
        )
    elif table == "stage_costs":
        frame = results.stage_costs(snakemake.input.benchmarks, dataset)
    else:
        raise ValueError(f"unknown table {table!r}")
    log.info("%s: %d rows\n%s", table, len(frame), frame.to_string(max_colwidth=40))
    write_all(frame, snakemake.output)


if "snakemake" in globals():
    main(globals()["snakemake"])
