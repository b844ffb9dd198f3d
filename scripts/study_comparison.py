"""study_comparison: the study's figures next to this run's."""

import pandas as pd

from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import read_json, write_tables
from mnist_study.study import study_comparison


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    frame = study_comparison(
        pd.read_parquet(snakemake.input.pca_variance),
        pd.read_csv(snakemake.input.levels),
        read_json(snakemake.input.grid_best),
        pd.read_parquet(snakemake.input.summary),
        snakemake.wildcards.dataset,
    )
    write_tables(frame, snakemake.output)
    log.info("comparison with the study\n%s", frame.to_string(max_colwidth=60))


run_rule(main, globals())
