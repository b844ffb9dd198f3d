"""Rule collect_datasets: every dataset's metrics in one table, and one run-log row.

The row is added only when this dataset's results differ from its last logged row, so
a run that produced nothing new (switching back to a finished dataset) adds none.
"""

import glob
from pathlib import Path

import mnist_study
from mnist_study import results, runlog
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    tables = sorted(set(glob.glob(snakemake.params.tables)) | {snakemake.input.table})
    combined = results.collect_datasets(tables)
    for path in snakemake.output:
        write_table(combined, path)
    current = combined[combined["dataset"] == snakemake.config["dataset"]]
    root = Path(mnist_study.__file__).resolve().parents[2]
    row = runlog.run_log_row(snakemake.config["dataset"], snakemake.config, root, current)
    added = runlog.append_run_log(snakemake.params.run_log, row)
    log.info(
        "datasets: %s; %s",
        sorted(combined["dataset"].unique()),
        "new results logged" if added else "results as last logged, run log unchanged",
    )


run_rule(main, globals())
