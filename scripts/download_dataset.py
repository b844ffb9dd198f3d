"""Rule download_dataset: fetch one IDX file from the dataset's mirrors, verified."""

from pathlib import Path

from mnist_study.datasets import DatasetSpec
from mnist_study.download import download_file
from mnist_study.runtime import run_rule, setup_logging


def main(snakemake):
    setup_logging(snakemake.log[0])
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    settings = snakemake.params.download
    download_file(
        Path(snakemake.output[0]).name,
        snakemake.output[0],
        spec,
        retries=settings["retries"],
        timeout=settings["timeout_s"],
    )


run_rule(main, globals())
