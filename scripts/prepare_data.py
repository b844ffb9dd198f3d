"""Rule prepare_data: verify the IDX files, scale and flatten, write Parquet."""

from pathlib import Path

import numpy as np

from mnist_study import data, idx
from mnist_study.datasets import get_spec, verify_file
from mnist_study.runtime import setup_logging
from mnist_study.storage import write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    spec = get_spec(snakemake.wildcards.dataset)
    files = {Path(p).name: p for p in snakemake.input.raw}
    checksums = {}
    for name, path in files.items():
        checksums[name] = verify_file(path, spec)["sha256"]
        log.info("verified %s (sha256 %s)", path, checksums[name])

    summary = {"dataset": spec.name, "description": spec.description, "classes": spec.classes}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = idx.read_split(
            files[f"{prefix}-images-idx3-ubyte.gz"], files[f"{prefix}-labels-idx1-ubyte.gz"]
        )
        X = data.scale_and_flatten(images)
        metadata = {
            "dataset": spec.name,
            "split": split,
            "source_sha256": {name: checksums[name] for name in files if name.startswith(prefix)},
        }
        data.write_split(snakemake.output[split], X, labels, metadata)
        counts = np.bincount(labels, minlength=10).tolist()
        summary[split] = {"examples": int(len(labels)), "class_counts": counts}
        log.info("%s: %d examples, class counts %s", split, len(labels), counts)
    write_json(snakemake.output.summary, summary)


if "snakemake" in globals():
    main(globals()["snakemake"])
