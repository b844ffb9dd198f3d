"""Rule collect_sweeps: the sweep summaries of every dataset in one table.

This run's dataset contributes the sweeps of its config; other datasets' sweep tables
are read as they are on disk.
"""

import glob
from pathlib import Path

from mnist_study import sweep_results
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    dataset = snakemake.config["dataset"]
    others = [
        path
        for path in glob.glob(snakemake.params.tables)
        if Path(path).parts[-3] != dataset  # results/<dataset>/sweeps/<name>_summary.parquet
    ]
    combined = sweep_results.collect_sweeps([*snakemake.input.tables, *others])
    for path in snakemake.output:
        write_table(combined, path)
    log.info(
        "sweeps: %s",
        sorted(set(zip(combined["dataset"], combined["sweep"], strict=True))),
    )


run_rule(main, globals())
