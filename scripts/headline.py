"""headline: the report's front page, each model's accuracy and what the data say."""

import pandas as pd

from mnist_study import results
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    summary = pd.read_parquet(snakemake.input.summary)
    pairs = pd.read_csv(snakemake.input.comparison)
    labels = results.model_labels(pd.read_parquet(snakemake.input.metrics))
    write_table(results.headline(summary, labels), snakemake.output.table)
    said = results.conclusions(summary, pairs)
    write_table(pd.DataFrame({"what the data say": said}), snakemake.output.conclusions)
    log.info("\n".join(said))


run_rule(main, globals())
