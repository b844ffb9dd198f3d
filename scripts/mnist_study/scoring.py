"""Every saved run scored again on other test images: the robustness stage's scoring.

Each stochastic model's run folder holds its saved model (`models.SAVED`), checked against its
recorded sha256 before it is loaded. A scoring job loads one run's model once and scores it
on every corrupted test set of the config; the rows it writes (`write_scores`) are those of
`data.write_model_predictions`, with the corruption and the run's seed beside each: the
table models of a run (one per kernel for the kernels' run) and their class scores, column
k for label k.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .data import predicted_labels
from .models import KERAS, MODELS
from .storage import atomic_path

log = logging.getLogger(__name__)

# What a loaded run scores: images (n, 784) -> {table model: class scores (n, n_classes)}.
Scorer = Callable[[np.ndarray], dict[str, np.ndarray]]


def run_of(path: str | Path) -> tuple[str, int]:
    """(registry model, seed) of a saved model's path .../<model>/<point>/seed-<n>/<file>."""
    path = Path(path)
    return path.parents[2].name, int(path.parent.name.removeprefix("seed-"))


def load_scorer(
    model: str, path: str | Path, n_classes: int, settings: dict | None = None
) -> Scorer:
    """The saved run of registry `model` at `path`, loaded once (its checksum checked
    first), as a function of the images it scores. A scikit-learn model of the config's
    own needs its run's `settings` (its estimator's import path: the types its file may
    hold, own_models.trusted_types); it scores as its run did, by probabilities where
    it gives them, decision values otherwise."""
    kind = MODELS[model].kind if model in MODELS else "study"
    if kind == "sklearn":
        from . import own_models

        estimator = own_models.load_sklearn(path, settings["estimator"])
        probabilities = MODELS[model].probabilities
        return lambda X: {model: own_models.class_scores(estimator, X, n_classes, probabilities)}
    if model in ("svm_kernels", "svm_final"):
        from . import svm

        arrays = svm.load_scoring_arrays(path)
        return lambda X: {name: svm.class_scores(a, X, n_classes) for name, a in arrays.items()}
    if model == "nn_numpy":
        from .nn_numpy import NeuralNetwork

        network = NeuralNetwork.load(path)
        return lambda X: {"nn_numpy": network.predict_proba(X)}
    if model in KERAS or kind == "keras":
        from . import keras_models

        network = keras_models.load(path)
        # The MLP takes flat images; the CNN and a Keras model of the config's, 28x28x1.
        shape = np.asarray if model == "mlp" else keras_models.as_images
        return lambda X: {model: keras_models.predict(network, shape(X))}
    raise ValueError(f"no way to score a saved run of {model!r}")


def score_run(
    path: str | Path, tests: dict, n_classes: int, settings: dict | None = None
) -> list[dict]:
    """The saved run at `path` scored on each test set of `tests` ({corruption: Split}):
    one dict per corruption and table model (corruption, model, seed, label, scores).
    Logs a line per corruption. `settings`: the run's, for a model of the config's own."""
    model, seed = run_of(path)
    start = time.perf_counter()
    scorer = load_scorer(model, path, n_classes, settings)
    log.info("%s, seed %d: loaded in %.1f s", model, seed, time.perf_counter() - start)
    rows = []
    for corruption, test in tests.items():
        start = time.perf_counter()
        for name, scores in scorer(test.X).items():
            rows.append(
                {"corruption": corruption, "model": name, "seed": seed, "label": test.y,
                 "scores": scores}
            )  # fmt: skip
            log.info(
                "%s, %s, seed %d: accuracy %.4f (%.1f s)",
                corruption,
                name,
                seed,
                (predicted_labels(scores) == test.y).mean(),
                time.perf_counter() - start,
            )
    return rows


def write_scores(path: str | Path, rows: list[dict]) -> None:
    """One row per corruption, table model, seed and test image: corruption, model, seed,
    image (its index in the test set), label, predicted (data.predicted_labels), scores
    (float32 per class)."""
    tables = []
    for row in rows:
        scores = np.ascontiguousarray(row["scores"], dtype=np.float32)
        n = len(scores)
        tables.append(
            pa.table(
                {
                    "corruption": pa.array([row["corruption"]] * n),
                    "model": pa.array([row["model"]] * n),
                    "seed": pa.array(np.full(n, row["seed"], dtype=np.int32)),
                    "image": pa.array(np.arange(n, dtype=np.int32)),
                    "label": pa.array(np.asarray(row["label"], dtype=np.uint8)),
                    "predicted": pa.array(predicted_labels(scores)),
                    "scores": pa.FixedSizeListArray.from_arrays(
                        pa.array(scores.reshape(-1)), scores.shape[1]
                    ),
                }
            )
        )
    with atomic_path(path) as tmp:
        pq.write_table(pa.concat_tables(tables), tmp, compression="zstd")


def read_scores(paths) -> dict[str, dict[str, dict[int, dict[str, np.ndarray]]]]:
    """{corruption: {table model: {seed: {"label", "predicted", "scores"}}}} of the
    `write_scores` files `paths` (a path, or several: every scored run)."""
    out: dict[str, dict[str, dict[int, dict[str, np.ndarray]]]] = {}
    for path in [paths] if isinstance(paths, str | Path) else paths:
        table = pq.read_table(path)
        columns = {
            name: table.column(name).to_numpy() for name in ("seed", "label", "predicted")
        }
        names = {
            name: table.column(name).to_numpy().astype(str) for name in ("corruption", "model")
        }
        width = table.schema.field("scores").type.list_size
        scores = table.column("scores").combine_chunks().flatten().to_numpy().reshape(-1, width)
        keys = np.char.add(
            np.char.add(names["corruption"], "\t"),
            np.char.add(np.char.add(names["model"], "\t"), columns["seed"].astype(str)),
        )
        unique, first, which = np.unique(keys, return_index=True, return_inverse=True)
        for k in np.argsort(first):  # in the file's order: the config's corruptions
            rows = which == k
            corruption, model, seed = unique[k].split("\t")
            out.setdefault(corruption, {}).setdefault(model, {})[int(seed)] = {
                "label": columns["label"][rows],
                "predicted": columns["predicted"][rows],
                "scores": scores[rows],
            }
    return out
