"""stage_costs: every job's wall time, CPU time and peak memory."""

from mnist_study.costs import stage_costs
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_tables


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    frame = stage_costs(snakemake.input.benchmarks, snakemake.wildcards.dataset)
    write_tables(frame, snakemake.output)
    log.info("%d jobs\n%s", len(frame), frame.to_string(max_colwidth=60))


run_rule(main, globals())
