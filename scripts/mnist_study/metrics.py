"""Scoring shared by every model, and the one row format all stages report in."""

from __future__ import annotations

import numpy as np

# scikit-learn is imported inside the scoring functions: the table rules import this
# module for METRIC_FIELDS alone, and importing sklearn.metrics costs them seconds.

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
    "test_loss",
    "fit_seconds",
    "predict_seconds",
)


def macro_auc(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, list[float]]:
    """One-vs-rest ROC AUC of each class from continuous scores, and their mean.

    Works with any scores that rank examples (SVM decision values, probabilities);
    hard 0/1 predictions would throw the ranking away.
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
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import label_binarize

    classes = np.arange(scores.shape[1])
    onehot = label_binarize(y_true, classes=classes)
    per_class = [float(roc_auc_score(onehot[:, k], scores[:, k])) for k in classes]
    return float(np.mean(per_class)), per_class


def roc_curves(y_true: np.ndarray, scores: np.ndarray) -> dict:
    """Per-class ROC curves plus the micro and macro averages."""
    from sklearn.metrics import roc_curve
    from sklearn.preprocessing import label_binarize

    classes = np.arange(np.shape(scores)[1])
    onehot = label_binarize(y_true, classes=classes)
    curves = {}
    for k in classes:
        fpr, tpr, _ = roc_curve(onehot[:, k], scores[:, k])
        curves[int(k)] = (fpr, tpr)
    fpr, tpr, _ = roc_curve(onehot.ravel(), np.asarray(scores).ravel())
    curves["micro"] = (fpr, tpr)
    grid = np.unique(np.concatenate([curves[int(k)][0] for k in classes]))
    mean_tpr = np.mean([np.interp(grid, *curves[int(k)]) for k in classes], axis=0)
    curves["macro"] = (grid, mean_tpr)
    return curves


def cross_entropy(y_true: np.ndarray, probabilities: np.ndarray, eps: float = 1e-12) -> float:
    p = np.clip(probabilities[np.arange(len(y_true)), y_true], eps, 1.0)
    return float(-np.mean(np.log(p)))


def classification_scores(y_true: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix

    auc, per_class = macro_auc(y_true, scores)
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "macro_auc": auc,
        "per_class_auc": per_class,
        "confusion": confusion_matrix(
            y_true, predicted, labels=np.arange(np.shape(scores)[1])
        ).tolist(),
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
    scores["test_loss"] = cross_entropy(y_test, probabilities)
    row = metric_row(
        stage,
        model,
        settings,
        seed=seed,
        train_size=train_size,
        test_size=len(y_test),
        accuracy=scores["accuracy"],
        macro_auc=scores["macro_auc"],
        test_loss=scores["test_loss"],
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
    )
    return scores, row
