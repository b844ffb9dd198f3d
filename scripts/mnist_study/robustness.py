"""The robustness tables: every model's accuracy under each corruption, its mean
corruption error, paired verdicts on robustness, and calibration, clean and corrupted.

`clean` is {table model: {seed: {"label", "predicted", "scores"}}} from the runs'
predictions files; `corrupted` is {corruption: the same} from the scoring jobs
(scoring.read_scores). The intervals and tests are those of the clean tables
(stats.two_source over seeds and test images; Holm across pairs, comparison.verdict).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import calibration, stats
from .comparison import compare_pair, with_verdicts
from .failures import usable
from .models import MODELS, run_model, short_name

# A run's condition besides the corruptions: the clean test set.
CLEAN = "clean"


def gives_probabilities(model: str) -> bool:
    """Whether a table model's scores are class probabilities, as the registry says of
    its runs' model (models.Model.probabilities): the networks' and those of the config's
    own models with predict_proba are; the SVMs' and the rest are decision values. A
    model the registry does not hold is judged by its name, as the SVMs' tables name them."""
    registered = MODELS.get(run_model(model))
    if registered is not None:
        return registered.probabilities
    return not model.startswith("svm_")


def aligned(clean: dict, corrupted: dict) -> tuple[dict, list[int]]:
    """{model: seeds} scored cleanly and under every corruption, without failed runs."""
    clean = usable(clean)
    seeds = {}
    for model, by_seed in clean.items():
        kept = set(by_seed)
        for runs in corrupted.values():
            kept &= set(runs.get(model, {}))
        if kept:
            seeds[model] = sorted(kept)
    return seeds


def correct(runs: dict, model: str, seeds) -> np.ndarray:
    """(seeds, images) of 1.0 where the run's prediction is the label."""
    return np.array([runs[model][s]["predicted"] == runs[model][s]["label"] for s in seeds], float)


def _interval(values: np.ndarray, bounds=(0.0, 1.0)) -> dict:
    test = stats.two_source(values)
    return {
        "mean": test["mean"],
        "ci_low": max(test["ci_low"], bounds[0]),
        "ci_high": min(test["ci_high"], bounds[1]),
        "seed_se": test["seed_se"],
        "test_se": test["test_se"],
        "dominant": test["dominant"],
    }


def accuracy_table(clean: dict, corrupted: dict) -> pd.DataFrame:
    """Accuracy of every model on the clean test set and under each corruption: the mean
    over seeds and test images with its 95% interval over both (stats.two_source)."""
    rows = []
    for model, seeds in aligned(clean, corrupted).items():
        for condition, runs in [(CLEAN, clean), *corrupted.items()]:
            values = correct(runs, model, seeds)
            rows.append(
                {
                    "model": model,
                    "condition": condition,
                    "seeds": len(seeds),
                    "images": values.shape[1],
                }  # fmt: skip
                | _interval(values)
            )
    return pd.DataFrame(rows).rename(columns={"mean": "accuracy"})


def benchmark_corruptions(corrupted: dict) -> list[str]:
    """The corruptions the summary figures average over: all but identity."""
    return [c for c in corrupted if c != "identity"]


def corruption_errors(clean: dict, corrupted: dict) -> pd.DataFrame:
    """Each model's mean corruption error (mCE: the test error averaged over the
    corruptions, identity aside, as MNIST-C reports it, unnormalised) and its relative
    mCE (the mean of each corruption's error less the clean error), each the mean over
    seeds and test images of the per-image average over corruptions, with its 95%
    interval over seeds and test images (stats.two_source)."""
    names = benchmark_corruptions(corrupted)
    rows = []
    if not names:
        return pd.DataFrame()
    for model, seeds in aligned(clean, corrupted).items():
        clean_error = 1 - correct(clean, model, seeds)
        errors = np.mean([1 - correct(corrupted[c], model, seeds) for c in names], axis=0)
        mce = _interval(errors)
        relative = _interval(errors - clean_error, bounds=(-1.0, 1.0))
        worst = max(names, key=lambda c: 1 - correct(corrupted[c], model, seeds).mean())
        rows.append(
            {
                "model": model,
                "seeds": len(seeds),
                "corruptions": len(names),
                "clean_error": float(clean_error.mean()),
                "mce": mce["mean"],
                "mce_ci_low": mce["ci_low"],
                "mce_ci_high": mce["ci_high"],
                "relative_mce": relative["mean"],
                "relative_mce_ci_low": relative["ci_low"],
                "relative_mce_ci_high": relative["ci_high"],
                "dominant": mce["dominant"],
                "worst_corruption": worst,
            }
        )
    return pd.DataFrame(rows).sort_values("mce", kind="stable").reset_index(drop=True)


def robustness_comparison(clean: dict, corrupted: dict, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of models on robustness: the difference of their accuracy averaged over
    the corruptions (identity aside), image by image on the same corrupted images, with
    the clean comparison's test (comparison.compare_pair: over the seeds both ran and the
    test images, or as their seeds allow; Holm across the pairs tested,
    comparison.with_verdicts). A is the more robust."""
    names = benchmark_corruptions(corrupted)
    seeds = aligned(clean, corrupted)
    scores = {
        model: {
            s: np.mean([correct(corrupted[c], model, [s])[0] for c in names], axis=0)
            for s in model_seeds
        }
        for model, model_seeds in seeds.items()
    }
    rows = []
    models = list(scores)
    for i, first in enumerate(models):
        for second in models[i + 1 :]:
            row, _ = compare_pair(first, scores[first], second, scores[second])
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty or not names:
        return table
    return with_verdicts(table, alpha)


def calibration_table(
    clean: dict, corrupted: dict, bins: int, resamples: int, seed: int
) -> pd.DataFrame:
    """Top-label ECE (`bins` equal-width bins) of every model that gives probabilities,
    clean and under each corruption, with its bootstrap interval over seeds and images
    and noise floor (calibration.ece_over_seeds); the SVMs, and the other models that give
    decision values, marked not applicable."""
    rows = []
    for model, seeds in aligned(clean, corrupted).items():
        for condition, runs in [(CLEAN, clean), *corrupted.items()]:
            row = {"model": model, "condition": condition, "bins": bins, "seeds": len(seeds)}
            if not gives_probabilities(model):
                rows.append(
                    row
                    | {
                        "note": "not applicable: "
                        + ("an SVM gives" if model.startswith("svm_") else "the model gives")
                        + " decision values, not probabilities (no Platt scaling is fitted)"
                    }
                )
                continue
            confidence, right = zip(
                *(
                    calibration.top_label(runs[model][s]["scores"], runs[model][s]["label"])
                    for s in seeds
                ),  # fmt: skip
                strict=True,
            )
            result = calibration.ece_over_seeds(
                np.array(confidence), np.array(right), bins, resamples, seed
            )
            result.pop("seeds")
            rows.append(row | result | {"note": ""})
    columns = ["model", "condition", "bins", "seeds", "ece", "ci_low", "ci_high", "floor", "note"]
    return pd.DataFrame(rows).reindex(columns=columns)


def reliability_curves(clean: dict, corrupted: dict, bins: int) -> dict:
    """{model: {"clean": reliability, "corrupted": reliability}} of every model that gives
    probabilities, over all its seeds (and, corrupted, all corruptions but identity)."""
    curves = {}
    names = benchmark_corruptions(corrupted)
    for model, seeds in aligned(clean, corrupted).items():
        if not gives_probabilities(model):
            continue
        parts = {CLEAN: [clean]} | ({"corrupted": [corrupted[c] for c in names]} if names else {})
        curves[model] = {}
        for part, sources in parts.items():
            pairs = [
                calibration.top_label(runs[model][s]["scores"], runs[model][s]["label"])
                for runs in sources
                for s in seeds
            ]
            confidence = np.concatenate([p[0] for p in pairs])
            right = np.concatenate([p[1] for p in pairs])
            curves[model][part] = calibration.reliability(confidence, right, bins)
    return curves


def conclusions(
    summary: pd.DataFrame, comparison: pd.DataFrame, names: dict | None = None
) -> list[str]:
    """The front page's sentence: the most robust model (lowest mCE) by its name in a
    sentence (`names`, else models.short_name, as the clean conclusions name it), its
    error with the interval over seeds and test images against its clean error, and how
    many of the others the paired test (Holm-corrected) cannot tell it from. One short
    sentence, so that the front page still fits a 1400 x 900 window
    (tests/test_report.py): in its place the front page leaves out its line on the
    record, which the menu has."""
    if summary.empty:
        return ["No corruption was scored (robustness.corruptions is empty)."]
    best = summary.iloc[0]
    name = (names or {}).get(best["model"], short_name(best["model"]))
    said = (
        f"Most robust: {name}, {100 * best['mce']:.1f}% error ({100 * best['mce_ci_low']:.1f}-"
        f"{100 * best['mce_ci_high']:.1f}) under {int(best['corruptions'])} corruptions, "
        f"{100 * best['clean_error']:.1f}% clean"
    )
    if len(summary) < 2 or comparison.empty:
        return [f"{said}."]
    against = comparison[
        (comparison["model_a"] == best["model"]) | (comparison["model_b"] == best["model"])
    ]
    against = against[against["method"] != "refused"]
    tied = int((~against["supported"].astype(bool)).sum())
    others = len(summary) - 1
    if not tied:
        tell = "the data support it over every other model"
    elif tied == others:
        tell = "the data cannot tell it from any other model"
    else:
        tell = f"the data cannot tell it from {tied} of {others} others"
    return [f"{said}; {tell}."]
