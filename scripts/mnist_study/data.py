"""Preprocessing and the Parquet layout every later stage reads.

Schema of `train.parquet` and `test.parquet`:

    label:  uint8                                  the class, 0-9
    pixels: fixed_size_list<float32>[784]          the image, row-major, scaled to [0, 1]

A fixed-size list keeps all pixels of a split in one contiguous float32 buffer,
so `read_split` turns a file back into an (n, 784) matrix without copying per
row. The file's key-value metadata records the dataset, the split and the
sha256 of each source file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import PipelineError
from .storage import atomic_path

NUM_FEATURES = 784
METADATA_KEY = b"mnist_study"


@dataclass
class Split:
    """One split of a dataset: features (n, 784) float32 in [0, 1] and labels (n,) uint8."""

    X: np.ndarray
    y: np.ndarray
    metadata: dict

    def __len__(self) -> int:
        return len(self.y)

    def images(self) -> np.ndarray:
        return self.X.reshape(-1, 28, 28)

    @property
    def n_classes(self) -> int:
        """The dataset's class count (its metadata's `classes`), not only those present."""
        if "classes" in self.metadata:
            return len(self.metadata["classes"])
        return int(self.y.max()) + 1 if len(self.y) else 0


def scale_and_flatten(images: np.ndarray) -> np.ndarray:
    """uint8 images (n, 28, 28) -> float32 features (n, 784) in [0, 1]."""
    if images.dtype != np.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    flat = images.reshape(len(images), -1)
    if flat.shape[1] != NUM_FEATURES:
        raise ValueError(f"expected {NUM_FEATURES} pixels per image, got {flat.shape[1]}")
    return flat.astype(np.float32) / np.float32(255.0)


def to_table(X: np.ndarray, y: np.ndarray, metadata: dict) -> pa.Table:
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != NUM_FEATURES or len(X) != len(y):
        raise ValueError(f"features {X.shape} and labels {np.shape(y)} do not fit (n, 784), (n,)")
    pixels = pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), NUM_FEATURES)
    table = pa.table({"label": pa.array(np.asarray(y, dtype=np.uint8)), "pixels": pixels})
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata, sort_keys=True)})


def write_split(path: str | Path, X: np.ndarray, y: np.ndarray, metadata: dict) -> None:
    table = to_table(X, y, metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=len(y) or None)


def read_split(path: str | Path) -> Split:
    table = pq.read_table(path)
    if table.schema.names != ["label", "pixels"]:
        raise ValueError(f"{path}: expected columns label, pixels; found {table.schema.names}")
    pixels = table.column("pixels").combine_chunks()
    X = pixels.flatten().to_numpy(zero_copy_only=False).reshape(-1, NUM_FEATURES)
    y = table.column("label").to_numpy()
    raw = (table.schema.metadata or {}).get(METADATA_KEY, b"{}")
    return Split(X=X, y=y, metadata=json.loads(raw))


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of a seeded, stratified subset of `size` examples (all when size >= n)."""
    n = len(y)
    if size >= n:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(n), train_size=size, stratify=y, random_state=seed)
    return np.sort(idx)


def write_predictions(path: str | Path, model: str, y: np.ndarray, scores: np.ndarray) -> None:
    """A run's test-set predictions: the rows of `model`, written by `write_model_predictions`."""
    write_model_predictions(path, {model: (y, scores)})


def write_model_predictions(path: str | Path, runs: dict, images=None) -> None:
    """Test-set predictions of one job's models, for paired comparisons without retraining.

    `runs` maps a model name to (true labels, scores): class probabilities, or an SVM's
    decision values (`svm.class_scores`), shape (n, classes), column k for label k. One
    row per model and test image: `model`, `image` (its index in test.parquet: `images`,
    by default 0 to n-1, the whole test set in its order), `label`, `predicted` (the
    label of the highest score) and `scores` (fixed_size_list<float32>).
    """
    tables = []
    for model, (y, scores) in runs.items():
        scores = np.ascontiguousarray(scores, dtype=np.float32)
        y = np.asarray(y)
        if scores.ndim != 2 or len(scores) != len(y):
            raise ValueError(f"{model}: scores {scores.shape} do not fit {len(y)} labels")
        if len(y) and int(y.max()) >= scores.shape[1]:
            raise ValueError(
                f"{model}: label {int(y.max())} has no column among the scores' "
                f"{scores.shape[1]}: give one column per class of the dataset, column k for "
                "label k (svm.class_scores for an SVM)"
            )
        index = np.arange(len(y)) if images is None else np.asarray(images)
        if index.shape != y.shape:
            raise ValueError(f"{model}: {len(index)} image indices for {len(y)} labels")
        tables.append(
            pa.table(
                {
                    "model": pa.array([model] * len(y)),
                    "image": pa.array(index.astype(np.int32)),
                    "label": pa.array(y.astype(np.uint8)),
                    "predicted": pa.array(np.argmax(scores, axis=1).astype(np.uint8)),
                    "scores": pa.FixedSizeListArray.from_arrays(
                        pa.array(scores.reshape(-1)), scores.shape[1]
                    ),
                }
            )
        )
    with atomic_path(path) as tmp:
        pq.write_table(pa.concat_tables(tables), tmp, compression="zstd")


def read_predictions(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """{model: {"image", "label", "predicted", "scores"}} from a file of
    `write_model_predictions`. A file without the `image` column holds the whole test
    set in its order (image 0 to n-1)."""
    table = pq.read_table(path)
    out = {}
    models = table.column("model").to_numpy(zero_copy_only=False)
    for model in dict.fromkeys(models):
        rows = table.filter(pc.equal(table.column("model"), model))
        scores = rows.column("scores").combine_chunks()
        out[str(model)] = {
            "image": (
                rows.column("image").to_numpy()
                if "image" in rows.column_names
                else np.arange(len(rows), dtype=np.int32)
            ),
            "label": rows.column("label").to_numpy(),
            "predicted": rows.column("predicted").to_numpy(),
            "scores": scores.flatten().to_numpy().reshape(len(rows), -1),
        }
    return out


class PredictionsMismatch(PipelineError, ValueError):
    """Two runs' predictions are not on the same test images in the same order."""

    advice = (
        "Runs are compared image by image: rerun the run that wrote the file "
        "(snakemake --forcerun with its rule) so that every run scores test.parquet whole"
    )


def check_aligned(reference: dict, run: dict, where: str, against: str) -> None:
    """Refuse `run` (one model's entry of `read_predictions`, named `where`) unless it
    holds the same test images as `reference` (named `against`), in the same order and
    with the same labels: PredictionsMismatch, one line naming both and the first row
    that differs."""
    images, expected = np.asarray(run["image"]), np.asarray(reference["image"])
    if len(images) != len(expected):
        detail = f"{len(images)} test images against {len(expected)}"
    elif not np.array_equal(images, expected):
        row = int(np.flatnonzero(images != expected)[0])
        order = (
            "the same images in another order" if set(images) == set(expected) else "other images"
        )
        detail = f"{order}: row {row} holds image {images[row]}, not {expected[row]}"
    elif not np.array_equal(run["label"], reference["label"]):
        row = int(np.flatnonzero(np.asarray(run["label"]) != reference["label"])[0])
        detail = (
            f"other labels: image {images[row]} is labelled {run['label'][row]}, not "
            f"{reference['label'][row]}"
        )
    else:
        return
    raise PredictionsMismatch(f"{where} was scored on other test images than {against} ({detail})")


def check_predictions_aligned(paths) -> int:
    """Check every run of the predictions files `paths` against the first one read
    (`check_aligned`): every run must have scored the same test images in the same order,
    since the paired comparisons and the accuracy's interval match runs image by image
    (`comparison.correct_by_run`). Returns the number of runs checked."""
    reference, against, runs = None, "", 0
    for path in paths:
        for model, run in read_predictions(path).items():
            runs += 1
            if reference is None:
                reference, against = run, f"{path}: {model}"
            else:
                check_aligned(reference, run, f"{path}: {model}", against)
    return runs
