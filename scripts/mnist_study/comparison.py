"""Every pair of models compared on the same test images."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from . import stats


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


BY_SEED_COLUMNS = ["dataset", "model_a", "model_b", "seed", "accuracy_a", "accuracy_b",
                   "a_only_correct", "b_only_correct", "mcnemar_p"]  # fmt: skip


def model_comparison(correct: dict[str, dict[int, np.ndarray]], dataset: str, alpha=0.05):
    """Every pair of models on the same test images: (pairs table, per-seed table).

    Per pair, A is the model with the higher mean accuracy over the seeds both ran:
    the mean difference with its paired bootstrap interval over test images, how
    often A beat B, and McNemar's exact test per seed with Holm's correction across
    all pairs of that seed.
    """
    pairs, per_seed = [], []
    for first, second in itertools.combinations(correct, 2):
        seeds = sorted(set(correct[first]) & set(correct[second]))
        if not seeds:
            continue
        a, b = (np.array([correct[model][s] for s in seeds]) for model in (first, second))
        if a.mean() < b.mean():
            (first, second), (a, b) = (second, first), (b, a)
        names = {"dataset": dataset, "model_a": first, "model_b": second}
        pairs.append(names | _pair_summary(a, b))
        per_seed += [names | {"seed": s} | _seed_test(a[k], b[k]) for k, s in enumerate(seeds)]
    by_seed = pd.DataFrame(per_seed, columns=BY_SEED_COLUMNS)
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


def _pair_summary(a: np.ndarray, b: np.ndarray) -> dict:
    """One pair over its seeds (rows of per-image correctness): the pooled difference with
    its paired bootstrap interval, and how many seeds each model won."""
    difference, low, high = stats.paired_difference_interval(a, b)
    wins = a.mean(axis=1) - b.mean(axis=1)
    return {
        "seeds": len(a),
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "difference": difference,
        "ci_low": low,
        "ci_high": high,
        "a_better_seeds": int(np.sum(wins > 0)),
        "b_better_seeds": int(np.sum(wins < 0)),
        "tied_seeds": int(np.sum(wins == 0)),
    }


def _seed_test(a: np.ndarray, b: np.ndarray) -> dict:
    """One seed of a pair: both accuracies and McNemar's exact test."""
    test = stats.mcnemar_exact(a, b)
    return {
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "a_only_correct": test["a_only"],
        "b_only_correct": test["b_only"],
        "mcnemar_p": test["p_value"],
    }


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
