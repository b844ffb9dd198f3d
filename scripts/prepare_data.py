"""Rule prepare_data: verify the IDX files, scale and flatten, write Parquet."""

from pathlib import Path

import numpy as np

from mnist_study import data, idx
from mnist_study.datasets import DatasetSpec, verify_file
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    files = {Path(p).name: p for p in snakemake.input.raw}
    checksums = {}
    for name, path in files.items():
        checksums[name] = verify_file(path, spec)["sha256"]
        if spec.verify:
            log.info("verified %s (sha256 %s)", path, checksums[name])
    summary = {
        "dataset": spec.name,
        "description": spec.description,
        "classes": spec.classes,
        "label_offset": spec.label_offset,
        "verified": spec.verify,
    }
    for split in ("train", "test"):
        images_name, labels_name = spec.split_names(split)
        images, labels = idx.read_split(
            files[images_name], files[labels_name], spec.n_classes, spec.label_offset, spec.name
        )
        X = data.scale_and_flatten(images)
        metadata = {
            "dataset": spec.name,
            "split": split,
            "classes": list(spec.classes),
            "label_offset": spec.label_offset,
            # false: the dataset's config says verify: false, the source files were not checked
            "verified": spec.verify,
            "source_sha256": {name: checksums[name] for name in (images_name, labels_name)},
        }
        data.write_split(snakemake.output[split], X, labels, metadata)
        counts = np.bincount(labels, minlength=spec.n_classes).tolist()
        summary[split] = {"examples": int(len(labels)), "class_counts": counts}
        log.info("%s: %d examples, class counts %s", split, len(labels), counts)
        for line in data.absent_class_lines(split, counts, spec.classes):
            log.warning(line)
    write_json(snakemake.output.summary, summary)


run_rule(main, globals())
