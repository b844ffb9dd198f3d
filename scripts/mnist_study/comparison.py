"""Every pair of models compared on the same test images."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from . import stats
from .models import short_name


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

# How a pair is compared, from the seeds each model ran (`pair_method`), and what the
# verdict says the interval covers.
METHODS = {
    "paired": "over seeds and test images",
    "unpaired": "over all seeds of each (unpaired) and test images",
    "test images only": "over the test images only (one seed: retraining not counted)",
    "refused": "",
}


def _seed_list(seeds) -> str:
    """Seeds as a reader writes them: "0", "0, 1 and 4"."""
    seeds = [str(s) for s in sorted(seeds)]
    return seeds[0] if len(seeds) == 1 else ", ".join(seeds[:-1]) + f" and {seeds[-1]}"


def pair_method(first: str, seeds_a, second: str, seeds_b) -> tuple[str, str]:
    """How two models are compared, from the seeds each ran: (method, reason), the reason
    naming the models by their short names (models.short_name).

    - "paired": the same two or more seeds; the per-image differences seed by seed
      (`stats.two_source`);
    - "unpaired": two or more seeds each, not the same ones (a failed run, a seed added
      to one model): over all seeds of each (`stats.two_source_unpaired`), none dropped;
    - "test images only": one seed each, the same one (a one-seed study): the paired
      differences over the test images, which say nothing of retraining;
    - "refused": a model with one seed against one with more, different single seeds,
      or a model with no run: its seeds' spread cannot be estimated, and a test over one
      seed's images would read as one over seeds. The pair is left out of Holm's family.
    """
    a, b = sorted(seeds_a), sorted(seeds_b)
    first, second = short_name(first), short_name(second)  # the note names them so
    if len(a) >= 2 and a == b:
        return "paired", ""
    if len(a) >= 2 and len(b) >= 2:
        common = sorted(set(a) & set(b))
        return "unpaired", (
            f"the seeds differ ({first}: {_seed_list(a)}; {second}: {_seed_list(b)}; "
            f"{len(common)} in common): compared over all seeds of each, unpaired"
        )
    if len(a) == 1 and a == b:
        return "test images only", f"one seed each ({a[0]}): the test images only"
    few = [(name, seeds) for name, seeds in ((first, a), (second, b)) if len(seeds) < 2]
    if any(not seeds for _, seeds in few):
        missing = " and ".join(name for name, seeds in few if not seeds)
        return "refused", f"refused: {missing} has no run to compare"
    if len(few) == 2:
        return "refused", (
            f"refused: one seed each, different ones ({first}: {a[0]}; {second}: {b[0]}): "
            "no seed to pair and no seed spread to estimate"
        )
    name, seeds = few[0]
    return "refused", (
        f"refused: {name} ran one seed ({seeds[0]}), so its spread over seeds cannot be "
        "estimated; a test over that seed's test images alone would not cover retraining"
    )


def compare_pair(first: str, runs_a: dict, second: str, runs_b: dict) -> tuple[dict, dict]:
    """One pair of models ({seed: 0/1 per test image} each), compared as `pair_method`
    says: ({model_a, model_b, method, note, ...pair_summary's columns}, components), A
    the model with the higher mean accuracy over the seeds the comparison uses (all of
    each where refused). A refused pair has NaN for the test's columns and no
    components."""
    method, note = pair_method(first, runs_a, second, runs_b)
    common = sorted(set(runs_a) & set(runs_b))
    use_a, use_b = (common, common) if method == "paired" else (sorted(runs_a), sorted(runs_b))
    a, b = (
        np.array([runs[s] for s in seeds]) if seeds else np.zeros((0, 0), bool)
        for runs, seeds in ((runs_a, use_a), (runs_b, use_b))
    )
    mean_a, mean_b = (x.mean() if x.size else -np.inf for x in (a, b))
    if mean_a < mean_b:
        first, second, a, b, use_a, use_b = second, first, b, a, use_b, use_a
    names = {"model_a": first, "model_b": second, "method": method, "note": note}
    counts = {"seeds_a": len(use_a), "seeds_b": len(use_b), "seeds": len(common)}
    if method == "refused":
        nan = np.nan
        return names | counts | {
            "accuracy_a": a.mean() if a.size else nan, "accuracy_b": b.mean() if b.size else nan,
            "difference": nan, "ci_low": nan, "ci_high": nan, "seed_se": nan, "test_se": nan,
            "p_value": nan, "a_better_seeds": 0, "b_better_seeds": 0, "tied_seeds": 0,
        }, {}  # fmt: skip
    if method == "unpaired":
        test = stats.two_source_unpaired(a.astype(float), b.astype(float))
        summary = _test_columns(a, b, test) | _wins(
            # seeds compared only where both ran them, as a count
            a[[use_a.index(s) for s in common]], b[[use_b.index(s) for s in common]]
        )
        return names | counts | summary, test["components"]
    summary, components = pair_summary(a, b)
    return names | counts | summary, components


def _wins(a: np.ndarray, b: np.ndarray) -> dict:
    """How many seeds each model of a pair won (rows: the same seeds)."""
    wins = a.mean(axis=1) - b.mean(axis=1) if len(a) else np.zeros(0)
    return {
        "a_better_seeds": int(np.sum(wins > 0)),
        "b_better_seeds": int(np.sum(wins < 0)),
        "tied_seeds": int(np.sum(wins == 0)),
    }


def model_comparison(
    correct: dict[str, dict[int, np.ndarray]], dataset: str, alpha=0.05, left_out=()
):
    """Every pair of models on the same test images: (pairs table, per-seed table).

    Each pair is compared as the seeds its models ran allow (`pair_method`, the `method`
    column, `note` saying why): paired over their common seeds where both ran the same
    two or more; over all seeds of each, unpaired, where the lists differ; over the test
    images alone where both ran the same single seed; refused (no p-value, no verdict
    but the reason) where one model has a single seed and the other more, or they ran
    different single seeds. A is the model with the higher mean accuracy over the seeds
    compared. The verdict rests on one test of all the evidence: the mean difference A -
    B with its 95% interval (`stats.two_source`, `stats.two_source_unpaired`; generalized
    tests whose size is their level), its p-value, and Holm's correction across every
    pair tested (`family` of them: the refused ones are not), so that more seeds and
    more images give more power. `left_out` lists the failed runs, (model, seed),
    already taken out of `correct` (results.counted_runs): each pair counts its models'
    in `runs_left_out`, and a refused pair counts every run of both.

    `holm_level` is the level Holm's procedure holds each pair to, the other pairs'
    p-values as they are (`stats.holm_levels`); `detectable` is the smallest true
    difference this design detects with 80% power at that level, from the pair's
    estimated variance parts (`stats.detectable_difference`), with `detectable_images_x2`
    and `detectable_seeds_x2` the same with twice the test images or twice the seeds,
    and `detectable_seeds_df` with only the seeds' degrees of freedom of twice the
    seeds (what more seeds buy by knowing the seed part better, not by averaging more).
    `seed_sd` is how far the difference moves from seed to seed, with its 95% interval
    (`seed_sd_low`, `seed_sd_high`), and `helps` the advice (`stats.advice`): "more
    seeds" only where the seeds' part of the error exceeds the test images' part even at
    the low end of its interval. How often A beat B and McNemar's exact test per common
    seed (Holm across the pairs of that seed) stay for reference.
    """
    failed: dict[str, list[int]] = {}
    for model, seed in left_out:
        failed.setdefault(model, []).append(seed)
    pairs, per_seed, designs = [], [], []
    for first, second in itertools.combinations(correct, 2):
        row, components = compare_pair(first, correct[first], second, correct[second])
        names = {"dataset": dataset, "model_a": row["model_a"], "model_b": row["model_b"]}
        dropped = sum(len(failed.get(m, [])) for m in (first, second))
        if row["method"] == "refused":
            dropped += len(correct[first]) + len(correct[second])
        pairs.append({"dataset": dataset} | row | {"runs_left_out": dropped})
        designs.append(components)
        runs_a, runs_b = correct[row["model_a"]], correct[row["model_b"]]
        per_seed += [
            names | {"seed": s} | _seed_test(runs_a[s], runs_b[s])
            for s in sorted(set(runs_a) & set(runs_b))
        ]
    by_seed = pd.DataFrame(per_seed, columns=BY_SEED_COLUMNS)
    by_seed["mcnemar_p_holm"] = by_seed.groupby("seed")["mcnemar_p"].transform(
        lambda p: stats.holm(p.to_numpy())
    )
    table = pd.DataFrame(pairs)
    if table.empty:
        return table, by_seed
    grouped = by_seed.groupby(["model_a", "model_b"], sort=False)["mcnemar_p_holm"]
    significant = grouped.agg(lambda p: int(np.sum(p < alpha)))
    key = list(zip(table["model_a"], table["model_b"], strict=True))
    table["mcnemar_significant_seeds"] = [int(significant.get(k, 0)) for k in key]
    table = with_verdicts(table, alpha)
    resolution = [
        stats.detectable_difference(c, level) if c else {}
        for c, level in zip(designs, table["holm_level"], strict=True)
    ]
    for column, key in RESOLUTION_COLUMNS.items():
        table[column] = [r.get(key, np.nan) for r in resolution]
    table["helps"] = table["helps"].fillna("")
    return table, by_seed


# model_comparison's columns on what a pair's design resolves, from
# stats.detectable_difference's keys.
RESOLUTION_COLUMNS = {
    "detectable": "mdd",
    "detectable_seeds_x2": "mdd_seeds_x2",
    "detectable_images_x2": "mdd_images_x2",
    "detectable_seeds_df": "mdd_seeds_df",
    "seed_sd": "seed_sd",
    "seed_sd_low": "seed_sd_low",
    "seed_sd_high": "seed_sd_high",
    "helps": "helps",
}


def with_verdicts(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Holm's correction across the pairs tested (those whose `method`, where the table
    has one, is not "refused"): `p_holm`, `family` (how many were tested), `holm_level`
    (`stats.holm_levels`), `supported` (p_holm below alpha) and the `verdict` in words.
    Returns the table with them (a copy)."""
    table = table.copy()
    tested = (
        (table["method"] != "refused").to_numpy()
        if "method" in table
        else np.ones(len(table), bool)
    )
    family = int(tested.sum())
    table["p_holm"] = np.nan
    table["holm_level"] = np.nan
    table.loc[tested, "p_holm"] = stats.holm(table.loc[tested, "p_value"].to_numpy())
    table.loc[tested, "holm_level"] = stats.holm_levels(
        table.loc[tested, "p_value"].to_numpy(), alpha
    )
    table["family"] = family
    table["supported"] = (table["p_holm"] < alpha).to_numpy() & tested
    table["verdict"] = [verdict(row, family, alpha) for row in table.itertuples()]
    return table


def pair_summary(a: np.ndarray, b: np.ndarray) -> tuple[dict, dict]:
    """One pair over its seeds (rows of per-image correctness, the same seeds): the
    difference with its interval over seeds and test images and its p-value, and how
    many seeds each won; and the estimated variance parts of the difference
    (`stats.two_source`)."""
    test = stats.two_source(a.astype(float) - b.astype(float))
    return {"seeds": len(a)} | _test_columns(a, b, test) | _wins(a, b), test["components"]


def _test_columns(a: np.ndarray, b: np.ndarray, test: dict) -> dict:
    """A pair's accuracies and its two-source test's columns (stats.two_source or
    stats.two_source_unpaired)."""
    return {
        "accuracy_a": float(a.mean()),
        "accuracy_b": float(b.mean()),
        "difference": test["mean"],
        **{key: test[key] for key in ("ci_low", "ci_high", "seed_se", "test_se", "p_value")},
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


def verdict(row, pairs: int, alpha: float = 0.05) -> str:
    """What the data support about one pair, in words, from its difference, interval and
    Holm-corrected p-value alone, and what the interval covers (its `method`, where the
    row has one: "paired" otherwise); a refused pair's reason. The models by their short
    names (models.short_name), as the conclusions name them."""
    method = getattr(row, "method", "paired")
    a, b = short_name(row.model_a), short_name(row.model_b)
    if method == "refused":
        return f"{a} vs {b}: not compared ({row.note})"
    points = (
        f"{100 * row.difference:+.2f} points, 95% interval {100 * row.ci_low:+.2f} to "
        f"{100 * row.ci_high:+.2f} {METHODS[method]}"
    )
    corrected = f"p = {row.p_holm:.2g} after Holm's correction for {pairs} pairs"
    if row.p_holm < alpha:
        return f"{a} beats {b} ({points}; {corrected}): supported"
    if row.ci_low > 0 or row.ci_high < 0:
        return (
            f"{a} ahead of {b} ({points}), but {corrected}: "
            "not supported once every pair is counted"
        )
    return f"{a} vs {b}: no difference the data support ({points}; {corrected})"


def log_lines(table: pd.DataFrame) -> list[str]:
    """What the comparison's log says of seeds and pairs: a line per pair not compared
    paired (refused, unpaired or over one seed's images), and the count of pairs tested,
    refused and runs left out, with the size of Holm's family."""
    if table.empty:
        return ["no pair of models to compare"]
    lines = [
        f"{row.model_a} vs {row.model_b}: {row.note}"
        + (" (left out of Holm's family)" if row.method == "refused" else "")
        for row in table.itertuples()
        if row.method != "paired"
    ]
    refused = int((table["method"] == "refused").sum())
    lines.append(
        f"{len(table) - refused} of {len(table)} pairs tested, {refused} refused; Holm's "
        f"family is {int(table['family'].iloc[0])} pairs; runs left out across the pairs: "
        f"{int(table['runs_left_out'].sum())}"
    )
    return lines
