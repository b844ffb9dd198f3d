"""The study's own figures next to this run's values for the same quantities."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Figures the original study reported: the
# value, what it measured, and whether it is the quantity this run reports (a test-set
# figure, as this run's; the MLP's was its training accuracy).
STUDY = {
    "pca_component_1": (0.0970, "explained variance ratio, full MNIST", True),
    "pca_component_2": (0.0710, "explained variance ratio, full MNIST", True),
    "pca_components_1_2": (0.1680, "explained variance ratio, full MNIST", True),
    "pca_components_for_80": (50, "'about 50' components, full MNIST", True),
    "svm_grid_best_C": (10.0, "5-fold CV on 500 images of full MNIST", True),
    "svm_grid_best_gamma": (0.01, "5-fold CV on 500 images of full MNIST", True),
    "svm_grid_cv_accuracy": (
        0.880,
        "5-fold CV accuracy on 500 images of full MNIST, gamma 0.0001 listed twice",
        True,
    ),
    "nn_numpy_auc": (0.9957, "test macro AUC, trained on all 60,000 MNIST images", True),
    "mlp_accuracy": (0.98, "training accuracy ('more than 98%'), full MNIST", False),
    "cnn_accuracy": (0.9859, "test accuracy, full MNIST", True),
}

# The dataset the study's figures come from: only this run's on it is compared.
STUDY_DATASET = "mnist"


def study_comparison(
    pca_variance: pd.DataFrame,
    levels: pd.DataFrame,
    grid_best: dict,
    summary: pd.DataFrame,
    dataset: str,
) -> pd.DataFrame:
    """Each figure the study reported next to this run's value for the same quantity.

    For the models, this run's value is the mean over seeds, with its 95% interval and
    whether the study's figure lies inside it. A difference is reported only where the
    study measured the same quantity on the same dataset (full MNIST); elsewhere its
    value stays for reference, `study_measured` says what it was, and the note why the
    two are not compared.
    """
    rows = _pca_rows(pca_variance, levels, dataset) + _model_rows(grid_best, summary)
    table = pd.DataFrame([_record(*row, dataset) for row in rows])
    table["seeds"] = table["seeds"].astype("Int64")
    return table


def _pca_rows(pca_variance: pd.DataFrame, levels: pd.DataFrame, dataset: str) -> list[tuple]:
    """(quantity, key in STUDY, this run's value, note) of the PCA stage."""
    ratio = pca_variance["explained_variance_ratio"].to_numpy()
    at_80 = levels.loc[(levels["variance_level"] - 0.8).abs() < 1e-9, "components"]
    at_80 = float(at_80.iloc[0]) if len(at_80) else None
    note = ""
    if dataset == STUDY_DATASET and at_80 is not None:
        note = f"the study said 'about 50'; the full MNIST needs {at_80:g}"
    both = float(ratio[:2].sum())
    return [
        ("PCA explained variance, component 1", "pca_component_1", float(ratio[0]), ""),
        ("PCA explained variance, component 2", "pca_component_2", float(ratio[1]), ""),
        ("PCA explained variance, components 1+2", "pca_components_1_2", both, ""),
        ("PCA components for 80% of variance", "pca_components_for_80", at_80, note),
    ]


def _model_rows(grid_best: dict, summary: pd.DataFrame) -> list[tuple]:
    """(quantity, key in STUDY, value, note) of the grid search and the models; a model's
    value is its summary row (mean and interval over seeds), None if it did not run."""

    def metric(model: str, column: str) -> dict | None:
        match = summary[(summary["model"] == model) & (summary["metric"] == column)]
        return match.iloc[0].to_dict() if len(match) else None

    kernels_note = (
        "not compared: the study scored its kernels on their own training subset, "
        "with AUC from hard predictions; this run scores on the test set"
    )
    return [
        ("SVM grid search: best C", "svm_grid_best_C", grid_best["C"], ""),
        ("SVM grid search: best gamma", "svm_grid_best_gamma", grid_best["gamma"], ""),
        ("SVM grid search: best CV accuracy", "svm_grid_cv_accuracy", grid_best["cv_accuracy"], ""),
        ("SVM RBF (C=1) accuracy", None, metric("svm_rbf", "accuracy"), kernels_note),
        ("numpy network macro AUC", "nn_numpy_auc", metric("nn_numpy", "macro_auc"), ""),
        ("Keras MLP test accuracy", "mlp_accuracy", metric("mlp", "accuracy"), ""),
        ("Keras CNN test accuracy", "cnn_accuracy", metric("cnn", "accuracy"), ""),
    ]  # fmt: skip


def _record(name: str, key: str | None, value, note: str, dataset: str) -> dict:
    """One row of the comparison: the study's figure, this run's, and whether they compare."""
    spread = value if isinstance(value, dict) else None
    value = spread["mean"] if spread else value
    study, measured, same_quantity = STUDY[key] if key else (None, "", False)
    comparable = same_quantity and dataset == STUDY_DATASET and value is not None
    if key and not same_quantity:
        note = f"not compared: the study reported its {measured.split(' (')[0]}, this run "
        note += "test accuracy"
    elif key and dataset != STUDY_DATASET:
        note = f"not compared: this run used {dataset}, the study the full MNIST"
    low, high = (spread["ci_low"], spread["ci_high"]) if spread else (None, None)
    inside = None
    if comparable and low is not None and np.isfinite(low):
        inside = bool(low <= study <= high)
    return {
        "dataset": dataset,
        "quantity": name,
        "study": study,
        "study_measured": measured,
        "this_run": value,
        "seeds": spread["seeds"] if spread else None,
        "ci_low": low,
        "ci_high": high,
        "study_inside_interval": inside,
        "difference": (value - study) if comparable else None,
        "note": note,
    }
