"""Rule score_corruption: every saved run of every model scored on one corrupted test set.

Each model file is checked against its .sha256 and loaded once; the SVMs' are their plain
arrays (svm.scoring_arrays), so the job never imports scikit-learn. The Keras models run
on Keras's inference-only numpy backend (keras_models.SCORING_BACKEND), whichever backend
trained them, so the job never imports TensorFlow either; the frameworks' tries of
packages the job never uses are skipped (keras_models.UNUSED_PROBES).
"""

from mnist_study import data, keras_models, phases, scoring
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import limit_threads, run_rule, setup_logging


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    backend = keras_models.SCORING_BACKEND
    keras_models.configure_backend(snakemake.params.threads, backend)
    if __name__ == "__main__":  # the job's own process, not a test's
        keras_models.skip_unused_probes(backend)
    import keras  # noqa: F401  # here, so that the framework's import counts in the start

    phases.begin("read")
    test = data.read_split(snakemake.input.test)
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    log.info(
        "%s: scoring %d saved runs on %d corrupted test images",
        snakemake.wildcards.corruption,
        len(snakemake.input.models),
        len(test),
    )
    phases.begin("compute")
    rows = scoring.score_runs(snakemake.input.models, test.X, test.y, spec.n_classes)
    phases.begin("write")
    scoring.write_scores(snakemake.output.scores, rows)


run_rule(main, globals())
