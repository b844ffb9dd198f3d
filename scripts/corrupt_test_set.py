"""Rule corrupt_test_set: one corruption of the clean test set, written as its own split.

Same layout and labels as test.parquet (data.write_split); the metadata adds the
corruption, its severity and seed.
"""

from mnist_study import corruptions, data, phases
from mnist_study.runtime import run_rule, setup_logging


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    name = snakemake.wildcards.corruption
    severity, seed = snakemake.params.severity, snakemake.params.seed
    phases.begin("read")
    test = data.read_split(snakemake.input.test)
    phases.begin("compute")
    images = corruptions.corrupt(test.images(), name, severity, seed)
    metadata = test.metadata | {"corruption": name, "severity": severity, "corruption_seed": seed}
    changed = (images.reshape(len(test), -1) != test.X).any(axis=1).mean()
    phases.begin("write")
    data.write_split(snakemake.output.test, images.reshape(len(test), -1), test.y, metadata)
    log.info(
        "%s at severity %d (seed %d): %d test images, %.1f%% of them changed",
        name,
        severity,
        seed,
        len(test),
        100 * changed,
    )


run_rule(main, globals())
