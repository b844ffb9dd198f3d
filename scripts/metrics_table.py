"""metrics_table: one row per model and seed, with each run's accuracy interval."""

from mnist_study import results
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_tables


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    rows = results.read_metric_files(snakemake.input.metrics)
    frame = results.metrics_table(rows, snakemake.wildcards.dataset)
    write_tables(frame, snakemake.output)
    log.info("metrics of %d runs\n%s", len(frame), frame.to_string(max_colwidth=60))


run_rule(main, globals())
