"""The tables of every run: metrics per run, their summary over seeds, the front page's
headline, and the summaries of every dataset side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import stats
from .metrics import METRIC_FIELDS

_at = METRIC_FIELDS.index("accuracy") + 1
METRIC_COLUMNS = [
    "dataset",
    *METRIC_FIELDS[:_at],
    "accuracy_ci_low",
    "accuracy_ci_high",
    *METRIC_FIELDS[_at:],
]

# What the summary over seeds reports, per model; the headline metric of each model.
SUMMARY_METRICS = ("accuracy", "macro_auc", "test_loss", "fit_seconds")

# Metrics that cannot leave [0, 1]: their intervals are clipped there.
BOUNDED = {"accuracy": (0.0, 1.0), "macro_auc": (0.0, 1.0)}

SUMMARY_COLUMNS = ["dataset", "stage", "model", "metric", "seeds", "mean", "std", "min",
                   "max", "ci_low", "ci_high"]  # fmt: skip


def read_metric_files(paths) -> list[dict]:
    rows = []
    for path in paths:
        rows.extend(json.loads(Path(path).read_text()))
    return rows


def metrics_table(rows: list[dict], dataset: str) -> pd.DataFrame:
    """One tidy row per model and seed, with the exact 95% interval of its test accuracy.

    The interval is the test set's sampling error of that one run (Clopper-Pearson).
    Models keep the order they come in; each model's runs are sorted by seed.
    """
    frame = pd.DataFrame([{**row, "dataset": dataset} for row in rows])
    frame = frame.reindex(columns=METRIC_COLUMNS)
    frame["settings"] = frame["settings"].map(lambda s: json.dumps(s, sort_keys=True))
    for column in ("seed", "train_size", "test_size"):
        frame[column] = frame[column].astype("Int64")
    with_accuracy_intervals(frame)
    order = {model: i for i, model in enumerate(dict.fromkeys(frame["model"]))}
    frame = frame.assign(_order=frame["model"].map(order))
    return frame.sort_values(["_order", "seed"], kind="stable", ignore_index=True).drop(
        columns="_order"
    )


def with_accuracy_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Add each run's exact 95% accuracy interval from its test set (in place; returned)."""
    intervals = [
        stats.accuracy_interval(round(accuracy * n), n)
        for accuracy, n in zip(frame["accuracy"], frame["test_size"], strict=True)
    ]
    frame["accuracy_ci_low"] = [low for low, _ in intervals]
    frame["accuracy_ci_high"] = [high for _, high in intervals]
    return frame


def metrics_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per model and metric: seeds, mean, std, min, max and the 95% t interval of the mean.

    The interval is across seeds (retraining with another seed on the same data); the
    test set's own sampling error is in each run's interval and in the paired tests.
    """
    rows = []
    for model, runs in metrics.groupby("model", sort=False):
        for metric in SUMMARY_METRICS:
            if runs[metric].isna().all():  # an SVM has no test loss
                continue
            rows.append(
                {
                    "dataset": runs["dataset"].iloc[0],
                    "stage": runs["stage"].iloc[0],
                    "model": model,
                    "metric": metric,
                    **stats.summarise(runs[metric].astype(float), bounds=BOUNDED.get(metric)),
                }
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The report's front-page table: each model's mean accuracy and interval over seeds."""
    accuracy = summary[summary["metric"] == "accuracy"]
    return pd.DataFrame(
        {
            "model": accuracy["model"].to_numpy(),
            "test accuracy: mean (95% interval)": [
                f"{mean:.4f} ({low:.4f}-{high:.4f})" if np.isfinite(low) else f"{mean:.4f}"
                for mean, low, high in zip(
                    accuracy["mean"], accuracy["ci_low"], accuracy["ci_high"], strict=True
                )
            ],
            "range over the seeds": [
                f"{low:.4f}-{high:.4f}"
                for low, high in zip(accuracy["min"], accuracy["max"], strict=True)
            ],
        }
    )


def collect_datasets(summary_tables) -> pd.DataFrame:
    """Every dataset's summary over seeds (mean and interval per model and metric)."""
    frames = [pd.read_parquet(p) for p in sorted(map(str, summary_tables))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(
        ["dataset", "stage", "model", "metric"], ignore_index=True
    )
