"""Every saved run scored again on other test images: the robustness stage's scoring.

Each stochastic model's run folder holds its saved model (`models.SAVED`), checked against its
recorded sha256 before it is loaded. A scoring job loads each once and scores it on one
corrupted test set; the rows it writes (`write_scores`) are those of
`data.write_model_predictions`, with the run's seed beside each: the table models of a
run (one per kernel for the kernels' run) and their class scores, column k for label k.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .data import predicted_labels
from .models import KERAS
from .storage import atomic_path

log = logging.getLogger(__name__)


def run_of(path: str | Path) -> tuple[str, int]:
    """(registry model, seed) of a saved model's path .../<model>/<point>/seed-<n>/<file>."""
    path = Path(path)
    return path.parents[2].name, int(path.parent.name.removeprefix("seed-"))


def score_run(model: str, path: str | Path, X: np.ndarray, n_classes: int) -> dict:
    """{table model: class scores (n, n_classes)} of the saved run of registry `model`
    at `path` on the images X (n, 784); its checksum is checked first."""
    if model in ("svm_kernels", "svm_final"):
        from . import svm

        return {
            name: svm.class_scores(arrays, X, n_classes)
            for name, arrays in svm.load_scoring_arrays(path).items()
        }
    if model == "nn_numpy":
        from .nn_numpy import NeuralNetwork

        return {"nn_numpy": NeuralNetwork.load(path).predict_proba(X)}
    if model in KERAS:
        from . import keras_models

        network = keras_models.load(path)
        inputs = keras_models.as_images(X) if model == "cnn" else X
        return {model: keras_models.predict(network, inputs)}
    raise ValueError(f"no way to score a saved run of {model!r}")


def score_runs(paths, X: np.ndarray, y: np.ndarray, n_classes: int) -> list[dict]:
    """Every saved run of `paths` scored on (X, y): one dict per table model and seed
    (model, seed, label, scores). Logs a line per run."""
    rows = []
    for path in paths:
        model, seed = run_of(path)
        start = time.perf_counter()
        for name, scores in score_run(model, path, X, n_classes).items():
            rows.append({"model": name, "seed": seed, "label": y, "scores": scores})
            correct = predicted_labels(scores) == y
            log.info(
                "%s, seed %d: accuracy %.4f (%.1f s)",
                name,
                seed,
                correct.mean(),
                time.perf_counter() - start,
            )
    return rows


def write_scores(path: str | Path, rows: list[dict]) -> None:
    """One row per table model, seed and test image: model, seed, image (its index in the
    test set), label, predicted (data.predicted_labels), scores (float32 per class)."""
    tables = []
    for row in rows:
        scores = np.ascontiguousarray(row["scores"], dtype=np.float32)
        n = len(scores)
        tables.append(
            pa.table(
                {
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


def read_scores(path: str | Path) -> dict[str, dict[int, dict[str, np.ndarray]]]:
    """{table model: {seed: {"label", "predicted", "scores"}}} of a `write_scores` file."""
    table = pq.read_table(path)
    models = table.column("model").to_numpy(zero_copy_only=False)
    seeds = table.column("seed").to_numpy()
    labels = table.column("label").to_numpy()
    predicted = table.column("predicted").to_numpy()
    width = table.schema.field("scores").type.list_size
    scores = table.column("scores").combine_chunks().flatten().to_numpy().reshape(-1, width)
    out: dict[str, dict[int, dict[str, np.ndarray]]] = {}
    keys = np.char.add(models.astype(str), np.char.add(":", seeds.astype(str)))
    for key in dict.fromkeys(keys):
        rows = keys == key
        model, seed = key.rsplit(":", 1)
        out.setdefault(model, {})[int(seed)] = {
            "label": labels[rows],
            "predicted": predicted[rows],
            "scores": scores[rows],
        }
    return out
