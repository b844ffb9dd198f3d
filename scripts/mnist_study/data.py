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
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import PipelineError
from .storage import atomic_path

log = logging.getLogger(__name__)

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

    def warn_absent_classes(self) -> None:
        """One warning line for each class of the dataset with no image in this split
        (`absent_class_lines`)."""
        counts = np.bincount(self.y, minlength=self.n_classes)
        names = self.metadata.get("classes") or [str(k) for k in range(self.n_classes)]
        for line in absent_class_lines(self.metadata.get("split", "test"), counts, names):
            log.warning(line)

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


def read_train_test(inputs) -> tuple[Split, Split]:
    """The `train` and `test` splits of a training rule's inputs; a warning line for each
    class the test split lacks (`Split.warn_absent_classes`)."""
    train, test = read_split(inputs.train), read_split(inputs.test)
    test.warn_absent_classes()
    return train, test


def subset_indices(y: np.ndarray, size: int, seed: int, minimum: int = 1):
    """Indices of a seeded, stratified subset of `size` examples (all when size >= n),
    and the rare classes it treated apart: {class: {"images", "expected", "kept"}}.

    A class is rare when its stratified share of the subset (size x its images / n, the
    `expected` count) is below `minimum`: stratification would give it fewer than
    `minimum` images, perhaps none, or fail outright (scikit-learn refuses a class of one
    image). A rare class keeps `minimum` of its images, drawn with `seed`, or all of them
    where it has no more (`kept`); the other classes share the rest of the subset,
    stratified as usual. With no rare class the subset is the plain stratified one.
    """
    from sklearn.model_selection import train_test_split

    n = len(y)
    if size >= n:
        return np.arange(n), {}
    counts = np.bincount(y)
    expected = size * counts / n
    rare = np.flatnonzero((counts > 0) & (expected < minimum))
    if not len(rare):
        idx, _ = train_test_split(np.arange(n), train_size=size, stratify=y, random_state=seed)
        return np.sort(idx), {}
    rng = np.random.default_rng(seed)
    kept, notes = [], {}
    for k in rare:
        members = np.flatnonzero(y == k)
        take = min(len(members), minimum)
        kept.append(rng.choice(members, size=take, replace=False))
        notes[int(k)] = {"images": int(counts[k]), "expected": float(expected[k]), "kept": take}
    rest = np.flatnonzero(~np.isin(y, rare))
    rest_size = size - sum(len(part) for part in kept)
    if rest_size >= len(rest):
        chosen = rest
    elif rest_size <= 0:
        chosen = rest[:0]
    else:
        chosen, _ = train_test_split(
            rest, train_size=rest_size, stratify=y[rest], random_state=seed
        )
    return np.sort(np.concatenate([*kept, chosen])), notes


def stratified_subset(y: np.ndarray, size: int, seed: int, minimum: int = 1) -> np.ndarray:
    """Indices of a seeded, stratified subset of `size` examples (all when size >= n).

    Every class keeps at least `minimum` images, or all it has (`subset_indices`); each
    rare class this changes gets one warning line in the log, naming it and saying what
    was kept.
    """
    idx, rare = subset_indices(y, size, seed, minimum)
    for k, note in rare.items():
        log.warning(rare_class_line(k, note, size, minimum))
    return idx


def rare_class_line(k: int, note: dict, size: int, minimum: int) -> str:
    """What `stratified_subset` did with rare class `k`, in one line."""
    if note["kept"] < note["images"]:
        kept = f"{note['kept']} kept (at least {minimum} of each class)"
    else:
        kept = f"all {note['kept']} kept" if note["kept"] > 1 else "its only image kept"
    return (
        f"class {k} has {note['images']} training image{'s' if note['images'] > 1 else ''}, "
        f"{note['expected']:.3g} expected in a stratified subset of {size}: {kept}, "
        "the other classes stratified as usual"
    )


def absent_class_lines(split: str, counts, classes) -> list[str]:
    """One warning line for each class with no images in `split` ("train" or "test"),
    saying what follows from it."""
    consequence = {
        "train": "no model learns it, and its test images, if any, count as errors",
        "test": "the models are scored on the other classes: no ROC curve for it, and "
        "the macro AUC averages the classes present",
    }[split]
    what = "training" if split == "train" else "test"
    return [
        f"class {k} ({name}) has no {what} images: {consequence}"
        for k, (name, count) in enumerate(zip(classes, counts, strict=True))
        if count == 0
    ]


NO_PREDICTION = -1


def predicted_labels(scores: np.ndarray) -> np.ndarray:
    """The label of each row's highest score (column k is label k), as int16, and
    NO_PREDICTION where a row's scores are not all finite: no label, never a match."""
    predicted = np.argmax(scores, axis=1).astype(np.int16)
    predicted[~np.isfinite(scores).all(axis=1)] = NO_PREDICTION
    return predicted


def write_predictions(path: str | Path, model: str, y: np.ndarray, scores: np.ndarray) -> None:
    """A run's test-set predictions: the rows of `model`, written by `write_model_predictions`."""
    write_model_predictions(path, {model: (y, scores)})


def write_model_predictions(path: str | Path, runs: dict, images=None) -> None:
    """Test-set predictions of one job's models, for paired comparisons without retraining.

    `runs` maps a model name to (true labels, scores): class probabilities, or an SVM's
    decision values (`svm.class_scores`), shape (n, classes), column k for label k. One
    row per model and test image: `model`, `image` (its index in test.parquet: `images`,
    by default 0 to n-1, the whole test set in its order), `label`, `predicted` (the
    label of the highest score; NO_PREDICTION, -1, where the scores are not finite, as
    a diverged network's are) and `scores` (fixed_size_list<float32>).
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
                    "predicted": pa.array(predicted_labels(scores)),
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


def aligned_runs(paths):
    """Every run of the predictions files `paths` as (path, model, run), each file read
    once and each run checked against the first one read (`check_aligned`): every run
    must have scored the same test images in the same order, since the paired
    comparisons and the accuracy's interval match runs image by image."""
    reference, against = None, ""
    for path in paths:
        for model, run in read_predictions(path).items():
            if reference is None:
                reference, against = run, f"{path}: {model}"
            else:
                check_aligned(reference, run, f"{path}: {model}", against)
            yield path, model, run


def check_predictions_aligned(paths) -> int:
    """Check the runs of the predictions files `paths` as `aligned_runs` does, for a rule
    that reads them otherwise. Returns the number of runs checked."""
    return sum(1 for _ in aligned_runs(paths))


def read_runs(prediction_files) -> dict:
    """{table model: {seed: {"image", "label", "predicted", "scores"}}} from the runs'
    predictions files (.../seed-<n>/predictions.parquet), checked by `aligned_runs`."""
    runs: dict = {}
    for path, model, run in aligned_runs(prediction_files):
        runs.setdefault(model, {})[int(Path(path).parent.name.removeprefix("seed-"))] = run
    return runs
