"""A sweep's tables: its runs, its summary per point, and every dataset's sweeps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from . import stats
from .results import BOUNDED, read_metric_files, with_accuracy_intervals

# A sweep's summary per point: what is summarised over the seeds.
SWEEP_METRICS = ("accuracy", "fit_seconds")


def sweep_tables(metric_files, sweep: dict, seeds, dataset: str):
    """A sweep's runs (one row per point and seed) and its summary (one row per point).

    `metric_files` are the runs' metrics.json in the order of `sweep["points"]` x
    `seeds`; `sweep` is `Sweep.as_params()`. The varied settings are columns of their
    own, with the values as the sweep gives them. The summary has, per point, the seeds,
    mean, std, min, max and 95% t interval over the seeds of the accuracy (clipped to
    [0, 1]) and of the fit seconds, from the same code as the metrics summary.
    """
    files = list(metric_files)
    labels = [(point, values) for point, values in sweep["points"] for _ in seeds]
    if len(files) != len(labels):
        raise ValueError(
            f"sweep {sweep['name']}: {len(files)} runs for {len(labels)} points x seeds"
        )
    rows = read_metric_files(files)
    if len(rows) != len(files):
        raise ValueError(f"sweep {sweep['name']}: expected one row per metrics file")
    # (not metrics_table, which sorts the runs by seed: these stay in the points' order)
    runs = with_accuracy_intervals(pd.DataFrame(rows))
    front = pd.DataFrame(
        {
            "dataset": dataset,
            "sweep": sweep["name"],
            "model": sweep["model"],
            "point": [point for point, _ in labels],
            **{key: _column([values[key] for _, values in labels]) for key in sweep["settings"]},
        }
    )
    keep = ["seed", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_auc",
            "test_loss", "fit_seconds", "train_size", "test_size"]  # fmt: skip
    runs = pd.concat([front, runs[keep].reset_index(drop=True)], axis=1)
    summary_rows = []
    for point, _ in sweep["points"]:
        chosen = runs[runs["point"] == point]
        # the point's columns as its runs have them (one type per column, as above)
        row = chosen.iloc[0][front.columns].to_dict()
        for metric in SWEEP_METRICS:
            summary = stats.summarise(chosen[metric].astype(float), bounds=BOUNDED.get(metric))
            row["seeds"] = summary.pop("seeds")
            row |= {f"{metric}_{key}": value for key, value in summary.items()}
        summary_rows.append(row)
    return runs, pd.DataFrame(summary_rows)


def mark_best(summary: pd.DataFrame, prediction_files, seeds: int) -> pd.DataFrame:
    """The sweep's best point, and the points the data cannot tell from it.

    `prediction_files` are the runs' predictions in the summary's point order, `seeds`
    a point. The best point has the highest mean accuracy; another is tied with it when
    the 95% interval of their paired difference, over seeds and test images
    (`stats.two_source` of the per-image differences, seeds paired in order), includes
    0. Adds `best`, `tied_with_best`, `difference_to_best` and its `difference_ci_low`
    and `difference_ci_high`.
    """
    from .comparison import correct_by_run

    files = list(prediction_files)
    by_point = [
        np.array(
            [run for runs in correct_by_run(files[k * seeds : (k + 1) * seeds]).values()
             for run in runs.values()],
            dtype=float,
        )
        for k in range(len(summary))
    ]  # fmt: skip
    best = int(np.argmax(summary["accuracy_mean"].to_numpy()))
    tests = [stats.two_source(scores - by_point[best]) for scores in by_point]
    summary = summary.copy()
    summary["best"] = [k == best for k in range(len(summary))]
    summary["difference_to_best"] = [t["mean"] for t in tests]
    summary["difference_ci_low"] = [t["ci_low"] if k != best else 0.0 for k, t in enumerate(tests)]
    summary["difference_ci_high"] = [
        t["ci_high"] if k != best else 0.0 for k, t in enumerate(tests)
    ]
    summary["tied_with_best"] = (summary["difference_ci_low"] <= 0) & (
        summary["difference_ci_high"] >= 0
    )
    return summary


def sweep_markdown(runs: pd.DataFrame, summary: pd.DataFrame, sweep: dict) -> str:
    """The sweep's summary table, then every run, as Markdown."""
    settings = ", ".join(sweep["settings"])
    keys = ["point", *sweep["settings"]]
    wanted = [*keys, "seeds", "accuracy_mean", "accuracy_std", "accuracy_ci_low",
              "accuracy_ci_high", "fit_seconds_mean", "best", "tied_with_best"]  # fmt: skip
    summary = summary[[c for c in wanted if c in summary]]
    runs = runs[[*keys, "seed", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_auc",
                 "fit_seconds"]]  # fmt: skip
    return (
        f"# Sweep {sweep['name']}: {sweep['model']} over {settings}\n\n"
        "Per point, over the seeds: the test accuracy's mean, standard deviation and 95% t "
        "interval of the mean, the mean seconds to fit, the best point and those the data "
        "cannot tell from it (the 95% interval of their paired difference to the best, over "
        "seeds and test images, includes 0) "
        f"(`{sweep['name']}_summary.csv` has the rest).\n\n"
        + summary.to_markdown(index=False, floatfmt=".4f")
        + "\n\nEvery run (the accuracy's interval is the test set's sampling error):\n\n"
        + runs.to_markdown(index=False, floatfmt=".4f")
        + "\n"
    )


def collect_sweeps(summary_tables) -> pd.DataFrame:
    """Every dataset's sweep summaries in one long table, the varied settings as JSON."""
    frames = []
    for path in sorted(map(str, summary_tables)):
        frame = pd.read_parquet(path)
        if not len(frame):
            continue
        fixed = ["dataset", "sweep", "model", "point", "seeds"]
        metrics = [c for c in frame.columns if c.startswith(SWEEP_METRICS)]
        varied = [c for c in frame.columns if c not in fixed and c not in metrics]
        settings = [
            json.dumps({key: _plain(row[key]) for key in varied}, sort_keys=True)
            for _, row in frame.iterrows()
        ]
        frames.append(frame[fixed].assign(settings=settings).join(frame[metrics]))
    if not frames:
        return pd.DataFrame(columns=["dataset", "sweep", "model", "point", "seeds", "settings"])
    return pd.concat(frames, ignore_index=True).sort_values(
        ["sweep", "dataset"], kind="stable", ignore_index=True
    )


def _column(values: list) -> list:
    """A setting's values as one column type: ints and floats together become floats."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numbers and any(isinstance(v, float) for v in values):
        return [float(v) for v in values]
    return values


def _plain(value):
    """A value read back from Parquet as plain Python (numpy scalars and arrays are not JSON)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value
