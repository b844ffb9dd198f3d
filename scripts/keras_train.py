"""Rules train_mlp and train_cnn: fit a Keras model, save it, score it on the test set."""

import time

import pandas as pd

from mnist_study import data, figures, metrics
from mnist_study.datasets import get_spec
from mnist_study.keras_models import configure_backend
from mnist_study.runtime import limit_threads, setup_logging
from mnist_study.storage import atomic_path, record_checksum, write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.threads)
    configure_backend(snakemake.threads, snakemake.params.backend)
    from mnist_study import keras_models

    kind = snakemake.params.kind
    settings = snakemake.params.settings
    keras_models.set_seed(settings["seed"])  # before building: seeds the initial weights
    train = data.read_split(snakemake.input.train)
    test = data.read_split(snakemake.input.test)
    model = keras_models.build(kind, settings)
    X_fit, y_fit, validation, X_test = keras_models.training_arrays(
        kind, settings, train.X, train.y, test.X
    )
    log.info(
        "%s: %d parameters, training on %d images%s",
        kind,
        model.count_params(),
        len(y_fit),
        f", validating on {len(validation[1])}" if validation else "",
    )
    start = time.perf_counter()
    history = keras_models.train(
        model,
        X_fit,
        y_fit,
        settings["epochs"],
        settings["batch_size"],
        settings["seed"],
        validation,
        settings["training_loop"],
    )
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = model.predict(X_test, batch_size=1024, verbose=0)
    predict_seconds = time.perf_counter() - start
    scores, row = metrics.score_probabilities(
        kind,
        kind,
        dict(settings),
        test.y,
        probabilities,
        len(y_fit),
        fit_seconds,
        predict_seconds,
    )
    test_loss = scores["test_loss"]
    log.info(
        "test loss %.4f, accuracy %.4f, macro AUC %.4f",
        test_loss,
        scores["accuracy"],
        scores["macro_auc"],
    )

    with atomic_path(snakemake.output.model) as tmp:
        staging = tmp.with_suffix(".keras")  # Keras insists on the .keras suffix
        try:
            model.save(staging)
            staging.replace(tmp)
        finally:
            staging.unlink(missing_ok=True)
    record_checksum(snakemake.output.model)
    history_table = pd.DataFrame(history)
    write_table(history_table, snakemake.output.history)
    write_json(snakemake.output.metrics, [row])
    spec = get_spec(snakemake.wildcards.dataset)
    if kind == "mlp":
        label = "MLP 784-" + "-".join(map(str, settings["hidden"])) + "-10"
    else:
        label = "LeNet-5-like CNN"
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


if "snakemake" in globals():
    main(globals()["snakemake"])
