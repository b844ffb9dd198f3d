"""Scoring shared by every model, and the one row format all stages report in."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

# The scores are numpy's own (ranks and cumulative counts, as scikit-learn computes
# them; tests/test_results.py checks them against it): a job that scores a network
# then imports no scikit-learn, which costs a job a second or more to import.

# Columns of a metrics row; each model stage writes a list of such rows to metrics.json.
METRIC_FIELDS = (
    "stage",
    "model",
    "seed",
    "settings",
    "train_size",
    "test_size",
    "accuracy",
    "macro_auc",
    "auc_classes",
    "test_loss",
    "fit_seconds",
    "predict_seconds",
)


def macro_auc(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, dict[int, float]]:
    """One-vs-rest ROC AUC of each class present in `y_true`, from continuous scores, and
    their mean: ({class: AUC}, over the classes it averaged) as (mean, per_class).

    Works with any scores that rank examples (SVM decision values, probabilities);
    hard 0/1 predictions would throw the ranking away. A class with no test images has
    no ROC curve (no positives to rank), so it is left out of the mean rather than
    made NaN; with fewer than two classes present there is no AUC at all (NaN, {}).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != len(y_true) or scores.shape[1] < 3:
        raise ValueError(
            f"scores must have shape ({len(y_true)}, classes), 3 classes or more; "
            f"got {scores.shape}"
        )
    y_true = np.asarray(y_true)
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= scores.shape[1]):
        raise ValueError(
            f"labels {y_true.min()}-{y_true.max()} do not fit scores of shape {scores.shape} "
            f"(one column a class, classes 0-{scores.shape[1] - 1})"
        )
    present = np.unique(y_true)
    if len(present) < 2:
        return float("nan"), {}
    per_class = {int(k): binary_auc(y_true == k, scores[:, k]) for k in present}
    return float(np.mean(list(per_class.values()))), per_class


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """The area under the ROC curve of `scores` for the `positive` examples (both kinds
    present): the Mann-Whitney statistic with tied scores at their mean rank, which is
    the trapezoidal area scikit-learn's roc_auc_score gives."""
    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)  # 1-based mean ranks
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) of `scores` for the `positive`
    examples, one point per distinct score from (0, 0), without the points on a straight
    line between two others: scikit-learn's roc_curve (drop_intermediate)."""
    positive = np.asarray(positive, dtype=bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ranked = np.asarray(scores, dtype=np.float64)[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tps = np.cumsum(positive[order], dtype=np.float64)[ends]
    fps = 1.0 + ends - tps
    if len(fps) > 2:
        kept = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps = fps[kept], tps[kept]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1]


def absent_classes(y_true: np.ndarray, n_classes: int) -> list[int]:
    """The classes 0 to n_classes-1 with no example in `y_true`."""
    return np.flatnonzero(np.bincount(np.asarray(y_true), minlength=n_classes) == 0).tolist()


def roc_curves(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """Per-class ROC curves of the classes present in `y_true` (an absent class has
    none), plus the micro average (over every class's column) and the macro average
    (over the present classes' curves)."""
    classes = np.arange(np.shape(scores)[1])
    onehot = np.asarray(y_true)[:, None] == classes
    present = np.unique(y_true).tolist()
    curves = {}
    for k in present:
        curves[int(k)] = roc_curve(onehot[:, k], scores[:, k])
    fpr, tpr = roc_curve(onehot.ravel(), np.asarray(scores).ravel())
    curves["micro"] = (fpr, tpr)
    grid = np.unique(np.concatenate([curves[int(k)][0] for k in present]))
    mean_tpr = np.mean([np.interp(grid, *curves[int(k)]) for k in present], axis=0)
    curves["macro"] = (grid, mean_tpr)
    return curves


def cross_entropy(y_true: np.ndarray, probabilities: np.ndarray, eps: float = 1e-12) -> float:
    p = np.clip(probabilities[np.arange(len(y_true)), y_true], eps, 1.0)
    return float(-np.mean(np.log(p)))


def classification_scores(y_true: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> dict:
    """Accuracy, macro AUC (`auc_classes`: how many classes it averages), each class's
    AUC and the confusion counts.

    Scores that are not all finite (a network that diverged: its loss NaN) make a failed
    run: it predicted nothing, so its accuracy and macro AUC are NaN (not the accuracy
    of an argmax over NaN), its confusion counts are zero, and one warning line says so.
    The tables count the run as failed (`results.metrics_summary`).
    """
    n_classes = np.shape(scores)[1]
    if not np.isfinite(scores).all():
        bad = int(np.sum(~np.isfinite(scores).all(axis=1)))
        log.warning(
            "the model's scores are not finite for %d of the %d test images (NaN or "
            "infinite: a diverged network): a failed run, its accuracy, macro AUC and "
            "test loss NaN; the tables count it as failed",
            bad,
            len(scores),
        )
        return {
            "accuracy": float("nan"),
            "macro_auc": float("nan"),
            "auc_classes": 0,
            "per_class_auc": {},
            "confusion": np.zeros((n_classes, n_classes), dtype=int).tolist(),
        }
    auc, per_class = macro_auc(y_true, scores)
    y_true, predicted = np.asarray(y_true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    counts = np.bincount(y_true * n_classes + predicted, minlength=n_classes * n_classes)
    return {
        "accuracy": float(np.mean(y_true == predicted)),
        "macro_auc": auc,
        "auc_classes": len(per_class),
        "per_class_auc": per_class,
        "confusion": counts.reshape(n_classes, n_classes).tolist(),  # rows: true labels
    }


def metric_row(stage: str, model: str, settings: dict, **values) -> dict:
    unknown = set(values) - set(METRIC_FIELDS)
    if unknown:
        raise ValueError(f"unknown metric fields {sorted(unknown)}")
    row = dict.fromkeys(METRIC_FIELDS)
    row.update(stage=stage, model=model, settings=settings, **values)
    return row


def score_probabilities(
    stage: str,
    model: str,
    settings: dict,
    y_test,
    probabilities,
    train_size: int,
    fit_seconds: float,
    predict_seconds: float,
    seed: int | None = None,
) -> tuple[dict, dict]:
    """Scores of a model that outputs class probabilities, and its metrics row."""
    scores = classification_scores(y_test, np.argmax(probabilities, axis=1), probabilities)
    finite = np.isfinite(probabilities).all()
    scores["test_loss"] = cross_entropy(y_test, probabilities) if finite else float("nan")
    row = metric_row(
        stage,
        model,
        settings,
        seed=seed,
        train_size=train_size,
        test_size=len(y_test),
        accuracy=scores["accuracy"],
        macro_auc=scores["macro_auc"],
        auc_classes=scores["auc_classes"],
        test_loss=scores["test_loss"],
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
    )
    return scores, row
