"""Rule download_dataset: fetch one IDX file from the dataset's mirrors, verified."""

from pathlib import Path

from mnist_study.datasets import download_file, get_spec
from mnist_study.runtime import setup_logging


def main(snakemake):
    setup_logging(snakemake.log[0])
    spec = get_spec(snakemake.wildcards.dataset)
    settings = snakemake.params.download
    download_file(
        Path(snakemake.output[0]).name,
        snakemake.output[0],
        spec,
        retries=settings["retries"],
        timeout=settings["timeout_s"],
    )


if "snakemake" in globals():
    main(globals()["snakemake"])
