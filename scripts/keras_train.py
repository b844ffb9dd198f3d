"""Rules train_mlp and train_cnn: one seed's run of a Keras model, saved and scored.

The CNN's job also draws the feature maps of one training image from the model it
has just trained. The config's own Keras models (`models:`, kind keras) train here too,
as kind "own" (rules/own_models.smk): the model their file's function builds, their
`model` param their name, `own_file` the file (an input of the rule).
"""

import numpy as np
import pandas as pd

from mnist_study import data, figures, metrics, phases
from mnist_study.datasets import DatasetSpec
from mnist_study.keras_models import configure_backend
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import atomic_path, record_checksum, write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    configure_backend(snakemake.params.threads, snakemake.params.backend)
    from mnist_study import keras_models

    if __name__ == "__main__":  # the job's own process, not bench/plain_study.py's
        keras_models.skip_unused_probes(snakemake.params.backend)
    import keras  # noqa: F401  # here, so that the framework's import counts in the start

    kind = snakemake.params.kind
    name = snakemake.params.get("model", kind)
    settings = snakemake.params.settings
    # An own model's function comes from its file, as the rule found it.
    built = {**settings, "file": snakemake.input.own_file} if kind == "own" else settings
    seed = snakemake.params.seed
    phases.begin("read")
    train, test = data.read_train_test(snakemake.input)
    if kind == "cnn":  # before the training, so that a bad index costs nothing
        image = snakemake.params.feature_map_image
        if image >= len(train):
            raise ValueError(
                f"cnn.feature_map_image is {image}, but the training set has {len(train)} "
                f"images: give an index from 0 to {len(train) - 1}"
            )
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    phases.begin("compute")
    run = keras_models.fit_and_predict(
        kind, built, seed, train.X, train.y, test.X, classes=spec.n_classes
    )
    model, probabilities = run["model"], run["probabilities"]
    scores, row = metrics.score_probabilities(
        "own" if kind == "own" else kind,
        name,
        dict(settings),
        test.y,
        probabilities,
        run["train_size"],
        run["fit_seconds"],
        run["predict_seconds"],
        seed=seed,
    )
    log.info(
        "seed %d: test loss %.4f, accuracy %.4f, macro AUC %.4f",
        seed,
        scores["test_loss"],
        scores["accuracy"],
        scores["macro_auc"],
    )

    phases.begin("write")
    with atomic_path(snakemake.output.model) as tmp:
        staging = tmp.with_suffix(".keras")  # Keras insists on the .keras suffix
        try:
            model.save(staging)
            staging.replace(tmp)
        finally:
            staging.unlink(missing_ok=True)
    record_checksum(snakemake.output.model)
    history_table = pd.DataFrame(run["history"])
    write_table(history_table, snakemake.output.history)
    write_json(snakemake.output.metrics, [row])
    data.write_predictions(snakemake.output.predictions, name, test.y, probabilities)
    if kind == "mlp":
        label = f"MLP 784-{'-'.join(map(str, settings['hidden']))}-{spec.n_classes}"
    elif kind == "own":
        label = name
    else:
        label = "LeNet-5-like CNN"
    label += f", seed {seed}"
    figures.save(
        figures.training_history(history_table, f"{label}: training history"),
        snakemake.output.history_figure,
    )
    figures.save(
        figures.confusion(
            scores["confusion"], spec.classes, f"{label}: test accuracy {scores['accuracy']:.4f}"
        ),
        snakemake.output.confusion,
    )
    if kind == "cnn":
        draw_feature_maps(model, train, image, spec, seed, snakemake.output, log)


def draw_feature_maps(model, train, index, spec, seed, output, log):
    """Activations of each conv and pooling layer for training image `index`."""
    from mnist_study import keras_models

    maps = keras_models.feature_maps(model, train.X[index])
    for name, activations in maps:
        log.info("feature maps of %s: %s", name, activations.shape)
    with atomic_path(output.feature_map_arrays) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, image=train.X[index].reshape(28, 28), **dict(maps))
    title = (
        f"CNN (seed {seed}) feature maps of training image {index} "
        f"({spec.classes[int(train.y[index])]})"
    )
    figures.save(figures.feature_maps(train.X[index], maps, title), output.feature_maps)


run_rule(main, globals())
