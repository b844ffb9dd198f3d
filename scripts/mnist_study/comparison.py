"""Every pair of models compared on the same test images."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from . import stats


def correct_by_run(prediction_files) -> dict[str, dict[int, np.ndarray]]:
    """{model: {seed: 0/1 per test image}} from the runs' predictions files, each read
    once; every run must have scored the same test images in the same order
    (`data.read_runs`)."""
    from .data import read_runs

    return {
        model: {seed: run["predicted"] == run["label"] for seed, run in by_seed.items()}
        for model, by_seed in read_runs(prediction_files).items()
    }


BY_SEED_COLUMNS = ["dataset", "model_a", "model_b", "seed", "accuracy_a", "accuracy_b",
                   "a_only_correct", "b_only_correct", "mcnemar_p"]  # fmt: skip


def model_comparison(correct: dict[str, dict[int, np.ndarray]], dataset: str, alpha=0.05):
    """Every pair of models on the same test images: (pairs table, per-seed table).

    Per pair, A is the model with the higher mean accuracy over the seeds both ran. The
    verdict rests on one test of all the evidence: the mean difference A - B with its 95%
    interval over seeds and test images (`stats.two_source` of the per-image differences,
    the same images for both models; a generalized test whose size is its level), its p-value,
    and Holm's correction across all pairs, so that more seeds and more images give
    more power. `detectable` is the smallest true difference this design detects with
    80% power at Holm's strictest level (alpha over the number of pairs: a bound that
    holds for every pair), from the pair's estimated variance parts
    (`stats.detectable_difference`), and `detectable_seeds_x2` and
    `detectable_images_x2` the same with twice the seeds or twice the test images. How
    often A beat B and
    McNemar's exact test per seed (Holm across the pairs of that seed) stay for
    reference.
    """
    pairs, per_seed, designs = [], [], []
    for first, second in itertools.combinations(correct, 2):
        seeds = sorted(set(correct[first]) & set(correct[second]))
        if not seeds:
            continue
        a, b = (np.array([correct[model][s] for s in seeds]) for model in (first, second))
        if a.mean() < b.mean():
            (first, second), (a, b) = (second, first), (b, a)
        names = {"dataset": dataset, "model_a": first, "model_b": second}
        summary, components = pair_summary(a, b)
        pairs.append(names | summary)
        designs.append(components)
        per_seed += [names | {"seed": s} | _seed_test(a[k], b[k]) for k, s in enumerate(seeds)]
    by_seed = pd.DataFrame(per_seed, columns=BY_SEED_COLUMNS)
    by_seed["mcnemar_p_holm"] = by_seed.groupby("seed")["mcnemar_p"].transform(
        lambda p: stats.holm(p.to_numpy())
    )
    table = pd.DataFrame(pairs)
    if table.empty:
        return table, by_seed
    table["p_holm"] = stats.holm(table["p_value"].to_numpy())
    table["supported"] = table["p_holm"] < alpha
    grouped = by_seed.groupby(["model_a", "model_b"], sort=False)["mcnemar_p_holm"]
    significant = grouped.agg(lambda p: int(np.sum(p < alpha)))
    key = list(zip(table["model_a"], table["model_b"], strict=True))
    table["mcnemar_significant_seeds"] = [int(significant[k]) for k in key]
    table["verdict"] = [verdict(row, len(table), alpha) for row in table.itertuples()]
    resolution = [stats.detectable_difference(c, alpha / len(table)) for c in designs]
    table["detectable"] = [r["mdd"] for r in resolution]
    table["detectable_seeds_x2"] = [r["mdd_seeds_x2"] for r in resolution]
    table["detectable_images_x2"] = [r["mdd_images_x2"] for r in resolution]
    return table, by_seed


def pair_summary(a: np.ndarray, b: np.ndarray) -> tuple[dict, dict]:
    """One pair over its seeds (rows of per-image correctness): the difference with its
    interval over seeds and test images and its p-value, and how many seeds each won;
    and the estimated variance parts of the difference (`stats.two_source`)."""
    test = stats.two_source(a.astype(float) - b.astype(float))
    wins = a.mean(axis=1) - b.mean(axis=1)
    return {
        "seeds": len(a),
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "difference": test["mean"],
        "ci_low": test["ci_low"],
        "ci_high": test["ci_high"],
        "seed_se": test["seed_se"],
        "test_se": test["test_se"],
        "p_value": test["p_value"],
        "a_better_seeds": int(np.sum(wins > 0)),
        "b_better_seeds": int(np.sum(wins < 0)),
        "tied_seeds": int(np.sum(wins == 0)),
    }, test["components"]


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


def verdict(row, pairs: int, alpha: float = 0.05) -> str:
    """What the data support about one pair, in words, from its difference, interval and
    Holm-corrected p-value alone."""
    points = (
        f"{100 * row.difference:+.2f} points, 95% interval {100 * row.ci_low:+.2f} to "
        f"{100 * row.ci_high:+.2f} over seeds and test images"
    )
    corrected = f"p = {row.p_holm:.2g} after Holm's correction for {pairs} pairs"
    if row.p_holm < alpha:
        return f"{row.model_a} beats {row.model_b} ({points}; {corrected}): supported"
    if row.ci_low > 0 or row.ci_high < 0:
        return (
            f"{row.model_a} ahead of {row.model_b} ({points}), but {corrected}: "
            "not supported once every pair is counted"
        )
    return f"{row.model_a} vs {row.model_b}: no difference the data support ({points}; {corrected})"
