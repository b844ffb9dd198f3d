"""Tidy results tables: metrics per run, their summary over seeds, paired model
comparisons, the study comparison, stage costs, and runs across datasets."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import stats
from .metrics import METRIC_FIELDS
from .storage import write_table

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

# Figures the original study reported (see README, "Comparison with the study"): the
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


def correct_by_run(prediction_files) -> dict[str, dict[int, np.ndarray]]:
    """{model: {seed: 0/1 per test image}} from the runs' predictions files.

    Every run must have scored the same test images: their labels are compared.
    """
    from .data import read_predictions

    correct: dict[str, dict[int, np.ndarray]] = {}
    labels = None
    for path in prediction_files:
        seed = int(Path(path).parent.name.removeprefix("seed-"))
        for model, run in read_predictions(path).items():
            if labels is None:
                labels = run["label"]
            elif not np.array_equal(labels, run["label"]):
                raise ValueError(f"{path}: {model} was scored on other test images than the rest")
            correct.setdefault(model, {})[seed] = run["predicted"] == run["label"]
    return correct


def model_comparison(correct: dict[str, dict[int, np.ndarray]], dataset: str, alpha=0.05):
    """Every pair of models on the same test images: (pairs table, per-seed table).

    Per pair, A is the model with the higher mean accuracy over the seeds both ran:
    the mean difference with its paired bootstrap interval over test images, how
    often A beat B, and McNemar's exact test per seed with Holm's correction across
    all pairs of that seed.
    """
    models = list(correct)
    per_seed, pairs = [], []
    for i, first in enumerate(models):
        for second in models[i + 1 :]:
            seeds = sorted(set(correct[first]) & set(correct[second]))
            if not seeds:
                continue
            a = np.array([correct[first][s] for s in seeds])
            b = np.array([correct[second][s] for s in seeds])
            if a.mean() < b.mean():
                (first_, second_), (a, b) = (second, first), (b, a)
            else:
                first_, second_ = first, second
            difference, low, high = stats.paired_difference_interval(a, b)
            wins = a.mean(axis=1) - b.mean(axis=1)
            pairs.append(
                {
                    "dataset": dataset,
                    "model_a": first_,
                    "model_b": second_,
                    "seeds": len(seeds),
                    "accuracy_a": float(a.mean()),
                    "accuracy_b": float(b.mean()),
                    "difference": difference,
                    "ci_low": low,
                    "ci_high": high,
                    "a_better_seeds": int(np.sum(wins > 0)),
                    "b_better_seeds": int(np.sum(wins < 0)),
                    "tied_seeds": int(np.sum(wins == 0)),
                }
            )
            for k, seed in enumerate(seeds):
                test = stats.mcnemar_exact(a[k], b[k])
                per_seed.append(
                    {
                        "dataset": dataset,
                        "model_a": first_,
                        "model_b": second_,
                        "seed": seed,
                        "accuracy_a": float(a[k].mean()),
                        "accuracy_b": float(b[k].mean()),
                        "a_only_correct": test["a_only"],
                        "b_only_correct": test["b_only"],
                        "mcnemar_p": test["p_value"],
                    }
                )
    by_seed = pd.DataFrame(
        per_seed,
        columns=[
            "dataset",
            "model_a",
            "model_b",
            "seed",
            "accuracy_a",
            "accuracy_b",
            "a_only_correct",
            "b_only_correct",
            "mcnemar_p",
        ],  # fmt: skip
    )
    by_seed["mcnemar_p_holm"] = by_seed.groupby("seed")["mcnemar_p"].transform(
        lambda p: stats.holm(p.to_numpy())
    )
    table = pd.DataFrame(pairs)
    if table.empty:
        return table, by_seed
    grouped = by_seed.groupby(["model_a", "model_b"], sort=False)["mcnemar_p_holm"]
    significant = grouped.agg(lambda p: int(np.sum(p < alpha)))
    largest = grouped.max()
    key = list(zip(table["model_a"], table["model_b"], strict=True))
    table["significant_seeds"] = [int(significant[k]) for k in key]
    table["mcnemar_p_holm_max"] = [float(largest[k]) for k in key]
    table["verdict"] = [verdict(row, alpha) for row in table.itertuples()]
    return table, by_seed


def verdict(row, alpha: float = 0.05) -> str:
    """What the data support about one pair, in words."""
    points = f"{100 * row.difference:+.2f} points, 95% interval {100 * row.ci_low:+.2f} to "
    points += f"{100 * row.ci_high:+.2f}"
    tests = f"McNemar (Holm) p < {alpha:g} in {row.significant_seeds} of {row.seeds} seeds"
    if row.ci_low > 0 and row.significant_seeds == row.seeds:
        return f"{row.model_a} beats {row.model_b} ({points}; {tests}): supported"
    if row.ci_low > 0:
        return (
            f"{row.model_a} ahead of {row.model_b} on average ({points}), but {tests}: "
            "a small difference, not shown for every seed"
        )
    return f"{row.model_a} vs {row.model_b}: no difference the data support ({points}; {tests})"


def read_metric_files(paths) -> list[dict]:
    rows = []
    for path in paths:
        rows.extend(json.loads(Path(path).read_text()))
    return rows


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

    def metric(model: str, column: str) -> dict | None:
        match = summary[(summary["model"] == model) & (summary["metric"] == column)]
        return match.iloc[0].to_dict() if len(match) else None

    ratio = pca_variance["explained_variance_ratio"].to_numpy()
    at_80 = levels.loc[(levels["variance_level"] - 0.8).abs() < 1e-9, "components"]
    at_80 = float(at_80.iloc[0]) if len(at_80) else None
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
            at_80,
            f"the study said 'about 50'; the full MNIST needs {at_80:g}"
            if dataset == STUDY_DATASET and at_80 is not None
            else "",
        ),
        ("SVM grid search: best C", "svm_grid_best_C", grid_best["C"], ""),
        ("SVM grid search: best gamma", "svm_grid_best_gamma", grid_best["gamma"], ""),
        (
            "SVM grid search: best CV accuracy",
            "svm_grid_cv_accuracy",
            grid_best["cv_accuracy"],
            "",
        ),
        (
            "SVM RBF (C=1) accuracy",
            None,
            metric("svm_rbf", "accuracy"),
            "not compared: the study scored its kernels on their own training subset, "
            "with AUC from hard predictions; this run scores on the test set",
        ),
        ("numpy network macro AUC", "nn_numpy_auc", metric("nn_numpy", "macro_auc"), ""),
        ("Keras MLP test accuracy", "mlp_accuracy", metric("mlp", "accuracy"), ""),
        ("Keras CNN test accuracy", "cnn_accuracy", metric("cnn", "accuracy"), ""),
    ]
    records = []
    for name, key, value, note in rows:
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
        records.append(
            {
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
        )
    table = pd.DataFrame(records)
    table["seeds"] = table["seeds"].astype("Int64")
    return table


def stage_costs(bench_paths, dataset: str) -> pd.DataFrame:
    """One row per job from Snakemake's benchmark files.

    A job run once per dataset has its rule's name (`benchmarks/<job>.tsv`); a job run
    per point and seed (`benchmarks/<job>/<point>/seed-<n>.tsv`) names them too.
    """
    rows = []
    for path in map(Path, bench_paths):
        run = path.parent.name if path.stem.startswith("seed-") else None
        job = path.parent.parent.name if run else path.stem
        bench = pd.read_csv(path, sep="\t")
        for _, line in bench.iterrows():
            rows.append(
                {
                    "dataset": dataset,
                    "job": job,
                    "point": run,
                    "seed": int(path.stem.removeprefix("seed-")) if run else None,
                    "wall_seconds": float(line["s"]),
                    "cpu_seconds": float(line["cpu_time"]),
                    "max_rss_mb": float(line["max_rss"]) if line["max_rss"] != "-" else None,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=["dataset", "job", "point", "seed", "wall_seconds", "cpu_seconds", "max_rss_mb"],
    )
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


def collect_datasets(summary_tables) -> pd.DataFrame:
    """Every dataset's summary over seeds (mean and interval per model and metric)."""
    frames = [pd.read_parquet(p) for p in sorted(map(str, summary_tables))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values(
        ["dataset", "stage", "model", "metric"], ignore_index=True
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


def run_log_row(dataset: str, config: dict, root, summary: pd.DataFrame) -> dict:
    """One run-log row: hashes, and each model's headline metric (mean and interval)."""
    row = {
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": dataset,
        "config_hash": config_hash(config),
        "code_hash": code_hash(root),
    }
    for record in summary.itertuples():
        wanted = "macro_auc" if record.model == "nn_numpy" else "accuracy"
        if record.metric != wanted:
            continue
        name = f"{record.model}_{'auc' if wanted == 'macro_auc' else 'accuracy'}"
        row["seeds"] = record.seeds
        row[f"{name}_mean"] = record.mean
        row[f"{name}_ci_low"] = record.ci_low
        row[f"{name}_ci_high"] = record.ci_high
    return row


def append_run_log(path: str | Path, row: dict) -> bool:
    """Add `row` to the run log (a CSV that only grows), atomically.

    Returns False, writing nothing, when the dataset's last logged row already has
    the same config, code and metrics: no new results, no new row.
    """
    path = Path(path)
    # Hashes are text: "012345678901" or "1234e5678901" would otherwise be read as numbers.
    hashes = {"config_hash": str, "code_hash": str}
    log = pd.read_csv(path, dtype=hashes) if path.exists() else pd.DataFrame()
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
        return bool(np.isclose(float(logged), value, rtol=1e-5, atol=0, equal_nan=True))
    return str(logged) == str(value)


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


def sweep_markdown(runs: pd.DataFrame, summary: pd.DataFrame, sweep: dict) -> str:
    """The sweep's summary table, then every run, as Markdown."""
    settings = ", ".join(sweep["settings"])
    keys = ["point", *sweep["settings"]]
    summary = summary[[*keys, "seeds", "accuracy_mean", "accuracy_std", "accuracy_ci_low",
                       "accuracy_ci_high", "fit_seconds_mean"]]  # fmt: skip
    runs = runs[[*keys, "seed", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "macro_auc",
                 "fit_seconds"]]  # fmt: skip
    return (
        f"# Sweep {sweep['name']}: {sweep['model']} over {settings}\n\n"
        "Per point, over the seeds: the test accuracy's mean, standard deviation and 95% t "
        "interval of the mean, and the mean seconds to fit "
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
