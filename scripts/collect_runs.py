"""Rule collect_datasets: every dataset's metrics in one table, and one run-log row."""

from pathlib import Path

import mnist_study
from mnist_study import results
from mnist_study.runtime import setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    combined = results.collect_datasets(snakemake.input.tables)
    for path in snakemake.output:
        write_table(combined, path)
    current = combined[combined["dataset"] == snakemake.config["dataset"]]
    root = Path(mnist_study.__file__).resolve().parents[2]
    row = results.run_log_row(snakemake.config["dataset"], snakemake.config, root, current)
    run_log = results.append_run_log(snakemake.params.run_log, row)
    log.info(
        "datasets: %s; run log %s now has %d rows",
        sorted(combined["dataset"].unique()),
        snakemake.params.run_log,
        len(run_log),
    )


if "snakemake" in globals():
    main(globals()["snakemake"])
