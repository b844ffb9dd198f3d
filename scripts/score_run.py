"""Rule score_run: one saved run scored on every corrupted test set of the config.

The model file is checked against its .sha256 and loaded once. The SVMs' are their plain
arrays (svm.scoring_arrays), so the job never imports scikit-learn. The Keras models run
on Keras's inference-only numpy backend (keras_models.SCORING_BACKEND), whichever backend
trained them, so the job never imports TensorFlow either; the frameworks' tries of
packages the job never uses are skipped (keras_models.UNUSED_PROBES). Only a Keras run's
job imports Keras. A scikit-learn model of the config's own (`models:`) is loaded from
its skops file (own_models.load_sklearn), so its job imports scikit-learn.
"""

from pathlib import Path

from mnist_study import data, keras_models, phases, scoring
from mnist_study.datasets import DatasetSpec
from mnist_study.models import KERAS, MODELS
from mnist_study.runtime import limit_threads, run_rule, setup_logging


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    model = snakemake.wildcards.model
    if model in KERAS or MODELS[model].kind == "keras":
        backend = keras_models.SCORING_BACKEND
        keras_models.configure_backend(snakemake.params.threads, backend)
        if __name__ == "__main__":  # the job's own process, not a test's
            keras_models.skip_unused_probes(backend)
        import keras  # noqa: F401  # here, so that the framework's import counts in the start

    phases.begin("read")
    tests = {Path(path).stem: data.read_split(path) for path in snakemake.input.tests}
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    log.info(
        "%s, seed %s: scoring on %d corrupted test sets (%s)",
        snakemake.wildcards.model,
        snakemake.wildcards.seed,
        len(tests),
        ", ".join(tests),
    )
    phases.begin("compute")
    settings = snakemake.params.get("settings")  # a scikit-learn model of the config's own
    rows = scoring.score_run(snakemake.input.model, tests, spec.n_classes, settings)
    phases.begin("write")
    scoring.write_scores(snakemake.output.scores, rows)


run_rule(main, globals())
