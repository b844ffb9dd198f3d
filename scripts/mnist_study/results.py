"""The tables of every run: metrics per run, their summary over seeds, the front page's
headline, and the summaries of every dataset side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import stats
from .metrics import METRIC_FIELDS
from .models import readable, short_name, unique_labels

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

# runs: the model's runs; failed: those whose value of the metric is NaN (a diverged
# network), left out; seeds: the runs the mean and interval rest on (runs - failed).
# interval: what ci_low/ci_high cover ("seeds and test images" for the accuracy, whose
# per-image results are known; "seeds" for the rest); seed_se and test_se: the two parts
# of the accuracy's standard error, and `dominant` the larger.
SUMMARY_COLUMNS = ["dataset", "stage", "model", "metric", "runs", "failed", "seeds", "mean",
                   "std", "min", "max", "ci_low", "ci_high", "interval", "seed_se", "test_se",
                   "dominant"]  # fmt: skip


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
    for column in ("seed", "train_size", "test_size", "auc_classes"):
        frame[column] = frame[column].astype("Int64")
    with_accuracy_intervals(frame)
    order = {model: i for i, model in enumerate(dict.fromkeys(frame["model"]))}
    frame = frame.assign(_order=frame["model"].map(order))
    return frame.sort_values(["_order", "seed"], kind="stable", ignore_index=True).drop(
        columns="_order"
    )


def with_accuracy_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Add each run's exact 95% accuracy interval from its test set (in place; returned);
    NaN for a failed run's (its accuracy NaN)."""
    intervals = [
        stats.accuracy_interval(round(accuracy * n), n) if pd.notna(accuracy) else (np.nan, np.nan)
        for accuracy, n in zip(frame["accuracy"], frame["test_size"], strict=True)
    ]
    frame["accuracy_ci_low"] = [low for low, _ in intervals]
    frame["accuracy_ci_high"] = [high for _, high in intervals]
    return frame


def metrics_summary(metrics: pd.DataFrame, correct=None) -> pd.DataFrame:
    """Per model and metric: runs, failed, seeds, mean, std, min, max and the 95% interval
    of the mean.

    A run whose value of a metric is NaN (a failed run: a network that diverged) is
    counted in `runs` and `failed` and left out of that metric's mean and interval,
    which rest on the other `seeds` runs (`failed_runs` names them). A metric no run of
    a model reports (an SVM's test loss) has no row, unless every run of it failed.

    For the accuracy, given each run's per-image correctness (`correct`, {model: {seed:
    0/1 per test image}}), the interval covers both sources of variation, retraining
    with a new seed and testing on new images (`stats.two_source`, over the runs that
    count), and the row keeps the two parts of its standard error. The other metrics'
    interval is the t interval over the seeds (retraining, on the same test images).
    """
    rows = []
    correct = counted_runs(correct, metrics)[0] if correct else {}
    for model, runs in metrics.groupby("model", sort=False):
        for metric in SUMMARY_METRICS:
            values = runs[metric].astype(float)
            if values.isna().all() and runs["accuracy"].notna().any():
                continue  # the model does not report it (an SVM has no test loss)
            summary = stats.summarise(values, bounds=BOUNDED.get(metric))
            row = {
                "dataset": runs["dataset"].iloc[0],
                "stage": runs["stage"].iloc[0],
                "model": model,
                "metric": metric,
                "runs": len(runs),
                "failed": int(values.isna().sum()),
                **summary,
                "interval": "seeds" if summary["seeds"] > 1 else "",
            }
            if metric == "accuracy" and correct.get(model):
                row |= _both_sources(correct[model])
            rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def failed_runs(metrics: pd.DataFrame) -> list[dict]:
    """The runs with a NaN metric that their model reports (a diverged network's
    accuracy, macro AUC and test loss): [{"model", "seed", "metrics"}], in table order."""
    found = []
    for model, runs in metrics.groupby("model", sort=False):
        reported = [m for m in SUMMARY_METRICS if runs[m].notna().any()]
        if runs["accuracy"].isna().all():  # as metrics_summary: every metric, all failed
            reported = list(SUMMARY_METRICS)
        for _, run in runs.iterrows():
            missing = [m for m in reported if pd.isna(run[m])]
            if missing:
                seed = None if pd.isna(run["seed"]) else int(run["seed"])
                found.append({"model": model, "seed": seed, "metrics": missing})
    return found


def failed_run_lines(metrics: pd.DataFrame) -> list[str]:
    """One warning line per failed run (`failed_runs`), naming it and its NaN metrics."""
    return [
        f"{run['model']} seed {run['seed']}: {', '.join(run['metrics'])} NaN (a failed run: "
        "a diverged network's outputs are not finite); left out of the mean and interval "
        "of each, and counted in metrics_summary's `failed`"
        for run in failed_runs(metrics)
    ]


def counted_runs(correct: dict, metrics: pd.DataFrame) -> tuple[dict, list[tuple[str, int]]]:
    """`correct` ({model: {seed: 0/1 per test image}}, comparison.correct_by_run) less
    the runs whose accuracy is NaN in `metrics` (failed runs, which predicted nothing),
    and the (model, seed) pairs left out."""
    failed = {
        (model, int(seed))
        for model, seed in metrics.loc[metrics["accuracy"].isna(), ["model", "seed"]].itertuples(
            index=False
        )
        if pd.notna(seed)
    }
    kept = {
        model: {seed: c for seed, c in runs.items() if (model, seed) not in failed}
        for model, runs in correct.items()
    }
    return kept, sorted(failed & {(m, s) for m, runs in correct.items() for s in runs})


def _both_sources(by_seed: dict[int, np.ndarray]) -> dict:
    """The accuracy's interval over seeds and test images, and its parts."""
    scores = np.array([by_seed[seed] for seed in sorted(by_seed)], dtype=float)
    test = stats.two_source(scores)
    return {
        "ci_low": max(test["ci_low"], 0.0),
        "ci_high": min(test["ci_high"], 1.0),
        "interval": "seeds and test images" if len(scores) > 1 else "test images (one seed)",
        "seed_se": test["seed_se"],
        "test_se": test["test_se"],
        "dominant": test["dominant"],
    }


def model_labels(metrics: pd.DataFrame) -> dict[str, str]:
    """Each model's label (models.readable) from its runs' settings and size, checked
    unique (models.unique_labels)."""
    labels = {}
    for model, runs in metrics.groupby("model", sort=False):
        settings = json.loads(runs["settings"].iloc[0])
        labels[model] = readable(model, settings, int(runs["train_size"].median()))
    return unique_labels(labels)


# The columns of a table that name a model, and the label column each gains beside it.
LABEL_COLUMNS = {
    "model": "label",
    "model_a": "label_a",
    "model_b": "label_b",
    "most_by": "most_by_label",
}


def with_labels(table: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """`table` with each column that names a model (LABEL_COLUMNS) followed by that
    model's label (`labels`, model_labels; a model without one, its short name)."""
    table = table.copy()
    for column, label in LABEL_COLUMNS.items():
        if column in table:
            named = [labels.get(m, short_name(m)) if pd.notna(m) else m for m in table[column]]
            table.insert(table.columns.get_loc(column) + 1, label, named)
    return table


def headline(summary: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """The report's front-page table: each model by its readable name, best first, with
    its mean test accuracy over the seeds and the 95% interval over seeds and images."""
    accuracy = summary[summary["metric"] == "accuracy"].sort_values(
        "mean", ascending=False, kind="stable"
    )
    return pd.DataFrame(
        {
            "model": [labels.get(m, m) for m in accuracy["model"]],
            "test accuracy": [f"{m:.4f}" for m in accuracy["mean"]],
            "95% interval": [
                f"{low:.4f}-{high:.4f}" if np.isfinite(low) else ""
                for low, high in zip(accuracy["ci_low"], accuracy["ci_high"], strict=True)
            ],
        }
    )


def conclusions(summary: pd.DataFrame, comparison: pd.DataFrame, leaders: int = 3) -> list[str]:
    """One or two sentences from the tables: which model is best, and which differences
    among the `leaders` most accurate the data support (model_comparison's verdicts)."""
    accuracy = summary[summary["metric"] == "accuracy"].sort_values(
        "mean", ascending=False, kind="stable"
    )
    if accuracy.empty:
        return []
    best = accuracy.iloc[0]
    interval = ""
    if np.isfinite(best["ci_low"]):
        interval = f" (95% interval {best['ci_low']:.4f}-{best['ci_high']:.4f})"
    lines = [f"The {short_name(best['model'])} is the most accurate, {best['mean']:.4f}{interval}."]
    top = list(accuracy["model"][:leaders])
    shown, unshown, untold, refused = [], [], [], []
    for row in comparison.itertuples():
        if {row.model_a, row.model_b} <= set(top):
            a, b = short_name(row.model_a), short_name(row.model_b)
            points = f"{100 * row.difference:+.2f} points"
            if getattr(row, "method", "paired") == "refused":
                refused.append(f"the {a} with the {b}")
            elif row.supported:
                shown.append(f"the {a} over the {b} ({points})")
            else:
                unshown.append(f"the {a} from the {b} ({points})")
                untold.append(row)
    parts = []
    if shown:
        parts.append("the data support " + ", ".join(shown))
    if unshown:
        parts.append(f"{'they' if shown else 'the data'} cannot tell " + ", ".join(unshown))
    if refused:
        parts.append("the run could not compare " + ", ".join(refused) + " (one seed)")
    if parts:
        lines.append(f"Of the {len(top)} most accurate, " + "; ".join(parts) + ".")
    if untold and "detectable" in comparison:
        lines.append(resolution(pd.DataFrame(untold)))
    return lines


# What each answer of stats.advice says, in the conclusions; the rule behind it is in
# config/README.md (`helps`), off the front page, which fits one window.
ADVICE = {
    "more seeds": "more seeds would help most",
    "more test images": "more test images would help most",
    "cannot tell": "the run cannot tell whether seeds or test images limit it",
}


def _span(values, digits: int = 2) -> str:
    """A range of figures as the conclusions write it: "0.77" or "0.77-0.81"."""
    low, high = f"{np.nanmin(values):.{digits}f}", f"{np.nanmax(values):.{digits}f}"
    return low if low == high else f"{low}-{high}"


def resolution(untold: pd.DataFrame) -> str:
    """What the run can resolve among the pairs it cannot tell apart (model_comparison's
    `detectable` columns): the smallest difference its design detects with 80% power at
    the level Holm's procedure holds each pair to; what twice the test images and twice
    the seeds would bring it to, and how much of the seeds' gain is their degrees of
    freedom alone (a surer estimate of the seeds' part) rather than averaging more
    seeds; how far the seeds move a difference, with its 95% interval; and the advice
    (`stats.advice`: more seeds only where the seeds' part of the error exceeds the test
    images' even at the low end of its interval)."""
    now = 100 * untold["detectable"]
    if not np.isfinite(now).any():
        return "With one seed the run cannot say what more seeds would resolve."
    untold = untold[np.isfinite(now)]
    now = now[np.isfinite(now)]
    images, seeds = (100 * untold[f"detectable_{what}_x2"].mean() for what in ("images", "seeds"))
    said = (
        f"Differences below {_span(now)} points are beyond this run (80% power at Holm's "
        f"level per pair); twice the test images would bring that to {images:.2f}, twice "
        f"the seeds to {seeds:.2f}"
    )
    if "detectable_seeds_df" in untold:
        df_only = 100 * untold["detectable_seeds_df"].mean()
        said += f" ({now.mean() - df_only:.2f} of that by their degrees of freedom)"
    said += "."
    if "seed_sd" in untold:
        said += (
            f" Seeds move a difference by {_span(100 * untold['seed_sd'])} points (95% bound "
            f"{100 * untold['seed_sd_high'].max():.2f})"
        )
    if "helps" in untold:
        answers = untold["helps"].value_counts()
        if len(answers) == 1:
            said += f"; {ADVICE[answers.index[0]]}"
        else:
            said += "; advice: " + ", ".join(
                f"{answer} for {count} pair{'s' * (count > 1)}"
                for answer, count in answers.items()
            )
    said += "."
    return said


def collect_datasets(summary_tables) -> pd.DataFrame:
    """Every dataset's summary over seeds (mean and interval per model and metric)."""
    frames = [pd.read_parquet(p) for p in sorted(map(str, summary_tables))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(
        ["dataset", "stage", "model", "metric"], ignore_index=True
    )
