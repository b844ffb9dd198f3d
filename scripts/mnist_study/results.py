"""Tidy results tables: metrics, study comparison, stage costs, runs across datasets."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import METRIC_FIELDS
from .storage import write_table

METRIC_COLUMNS = ["dataset", *METRIC_FIELDS]

# Figures the original study reported (see README, "Comparison with the study").
STUDY = {
    "pca_component_1": 0.0970,
    "pca_component_2": 0.0710,
    "pca_components_1_2": 0.1680,
    "pca_components_for_80": 50,
    "svm_grid_best_C": 10.0,
    "svm_grid_best_gamma": 0.01,
    "svm_grid_cv_accuracy": 0.880,
    "nn_numpy_auc": 0.9957,
    "mlp_accuracy": 0.98,
    "cnn_accuracy": 0.9859,
}


def metrics_table(rows: list[dict], dataset: str) -> pd.DataFrame:
    """One tidy row per model and evaluation; settings as a compact JSON string."""
    frame = pd.DataFrame([{**row, "dataset": dataset} for row in rows], columns=METRIC_COLUMNS)
    frame["settings"] = frame["settings"].map(lambda s: json.dumps(s, sort_keys=True))
    for column in ("train_size", "test_size"):
        frame[column] = frame[column].astype("Int64")
    return frame


def read_metric_files(paths) -> list[dict]:
    rows = []
    for path in paths:
        rows.extend(json.loads(Path(path).read_text()))
    return rows


def study_comparison(
    pca_variance: pd.DataFrame,
    levels: pd.DataFrame,
    grid_best: dict,
    metrics: pd.DataFrame,
    dataset: str,
) -> pd.DataFrame:
    """Each figure the study reported next to this run's value for the same quantity."""

    def metric(model: str, column: str) -> float | None:
        match = metrics.loc[metrics["model"] == model, column]
        return float(match.iloc[0]) if len(match) else None

    ratio = pca_variance["explained_variance_ratio"].to_numpy()
    at_80 = levels.loc[(levels["variance_level"] - 0.8).abs() < 1e-9, "components"]
    rows = [
        ("PCA explained variance, component 1", "pca_component_1", float(ratio[0]), ""),
        ("PCA explained variance, component 2", "pca_component_2", float(ratio[1]), ""),
        (
            "PCA explained variance, components 1+2",
            "pca_components_1_2",
            float(ratio[:2].sum()),
            "",
        ),
        (
            "PCA components for 80% of variance",
            "pca_components_for_80",
            float(at_80.iloc[0]) if len(at_80) else None,
            "the study said about 50; the full MNIST needs 44",
        ),
        ("SVM grid search: best C", "svm_grid_best_C", grid_best["C"], ""),
        ("SVM grid search: best gamma", "svm_grid_best_gamma", grid_best["gamma"], ""),
        (
            "SVM grid search: best CV accuracy",
            "svm_grid_cv_accuracy",
            grid_best["cv_accuracy"],
            "study: 5-fold CV on 500 random images of full MNIST, with gamma 0.0001 listed twice",
        ),
        (
            "SVM RBF (C=1) accuracy",
            None,
            metric("svm_rbf", "accuracy"),
            "not comparable: the study scored its kernels on their own training subset, "
            "with AUC from hard predictions; this run scores on the test set",
        ),
        (
            "numpy network macro AUC",
            "nn_numpy_auc",
            metric("nn_numpy", "macro_auc"),
            "study: trained on the full 60,000 MNIST training images",
        ),
        (
            "Keras MLP test accuracy",
            "mlp_accuracy",
            metric("mlp", "accuracy"),
            "study: 'more than 98%' (training accuracy, full MNIST)",
        ),
        (
            "Keras CNN test accuracy",
            "cnn_accuracy",
            metric("cnn", "accuracy"),
            "study: full MNIST test set",
        ),
    ]
    table = pd.DataFrame(
        [
            {
                "dataset": dataset,
                "quantity": name,
                "study": STUDY.get(key) if key else None,
                "this_run": value,
                "difference": (value - STUDY[key]) if key and value is not None else None,
                "note": note,
            }
            for name, key, value, note in rows
        ]
    )
    if dataset != "mnist":
        table["note"] = table["note"].where(
            table["note"] != "", f"this run used {dataset}, the study the full MNIST"
        )
    return table


def stage_costs(bench_paths, dataset: str) -> pd.DataFrame:
    """One row per job from Snakemake's benchmark files."""
    rows = []
    for path in sorted(map(Path, bench_paths)):
        bench = pd.read_csv(path, sep="\t")
        for _, line in bench.iterrows():
            rows.append(
                {
                    "dataset": dataset,
                    "job": path.stem,
                    "wall_seconds": float(line["s"]),
                    "cpu_seconds": float(line["cpu_time"]),
                    "max_rss_mb": float(line["max_rss"]) if line["max_rss"] != "-" else None,
                }
            )
    return pd.DataFrame(
        rows, columns=["dataset", "job", "wall_seconds", "cpu_seconds", "max_rss_mb"]
    )


def collect_datasets(metric_tables) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in sorted(map(str, metric_tables))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(
        ["dataset", "stage", "model"], ignore_index=True
    )


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def code_hash(root: str | Path) -> str:
    """Hash of the workflow's code: Snakefile, rules, scripts and the package."""
    root = Path(root)
    files = [root / "Snakefile", *root.glob("rules/**/*"), *root.glob("scripts/**/*.py")]
    digest = hashlib.sha256()
    for path in sorted(p for p in files if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def run_log_row(dataset: str, config: dict, root, metrics: pd.DataFrame) -> dict:
    row = {
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": dataset,
        "config_hash": config_hash(config),
        "code_hash": code_hash(root),
    }
    for record in metrics.itertuples():
        value = record.macro_auc if record.model == "nn_numpy" else record.accuracy
        row[f"{record.model}_{'auc' if record.model == 'nn_numpy' else 'accuracy'}"] = value
    return row


def append_run_log(path: str | Path, row: dict) -> bool:
    """Add `row` to the run log (a CSV that only grows), atomically.

    Returns False, writing nothing, when the dataset's last logged row already has
    the same config, code and metrics: no new results, no new row.
    """
    path = Path(path)
    log = pd.read_csv(path) if path.exists() else pd.DataFrame()
    if len(log) and "dataset" in log:
        earlier = log[log["dataset"] == row["dataset"]]
        if len(earlier):
            last = earlier.iloc[-1]
            same = all(
                key in last.index and _same(last[key], value)
                for key, value in row.items()
                if key != "time"
            )
            if same:
                return False
    write_table(pd.concat([log, pd.DataFrame([row])], ignore_index=True), path)
    return True


def _same(logged, value) -> bool:
    if isinstance(value, float):
        return bool(np.isclose(float(logged), value, rtol=1e-6, atol=0))
    return str(logged) == str(value)
