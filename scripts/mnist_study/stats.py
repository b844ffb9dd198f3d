"""Intervals and tests for results over seeds and test images, on scipy.stats.

Three kinds of uncertainty, each with its own function:
- one run's accuracy, from its test set alone: an exact (Clopper-Pearson) binomial
  interval (`accuracy_interval`);
- a model's accuracy across seeds: mean, spread and a t interval of the mean
  (`summarise`), which speaks of retraining with another seed on the same data;
- two models on the same test images (`compare_pair`): the mean accuracy difference
  with a paired bootstrap interval over test images (the per-image differences
  averaged over the seeds both models ran with), McNemar's exact test per seed on the
  discordant images, and Holm's correction across the pairs (`holm`).
"""

from __future__ import annotations

import math

import numpy as np

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 9999


def accuracy_interval(correct: int, total: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact binomial interval of an accuracy of `correct` out of `total` test images."""
    from scipy.stats import binomtest

    if total <= 0 or not 0 <= correct <= total:
        raise ValueError(f"need 0 <= correct <= total and total > 0, got {correct}/{total}")
    ci = binomtest(int(correct), int(total)).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


def summarise(values, level: float = LEVEL, bounds: tuple[float, float] | None = None) -> dict:
    """Seeds, mean, standard deviation, min, max and the t interval of the mean.

    With one value the spread and interval are undefined (NaN), not zero. `bounds`
    clips the interval to the values the quantity can take (an accuracy's [0, 1]).
    """
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        nan = math.nan
        return {"seeds": 0, "mean": nan, "std": nan, "min": nan, "max": nan,
                "ci_low": nan, "ci_high": nan}  # fmt: skip
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else math.nan
    if n > 1:
        half = float(t.ppf(0.5 + level / 2, df=n - 1)) * std / math.sqrt(n)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
    else:
        low = high = math.nan
    return {
        "seeds": n,
        "mean": mean,
        "std": std,
        "min": float(values.min()),
        "max": float(values.max()),
        "ci_low": low,
        "ci_high": high,
    }


def mcnemar_exact(correct_a, correct_b) -> dict:
    """McNemar's exact test of two classifiers on the same images.

    Only the discordant images count: `a_only` right by A alone, `b_only` by B alone;
    under the null hypothesis of equal accuracy each is Binomial(a_only + b_only, 1/2).
    """
    from scipy.stats import binomtest

    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired predictions differ in shape: {a.shape} and {b.shape}")
    a_only = int(np.sum(a & ~b))
    b_only = int(np.sum(~a & b))
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else float(binomtest(a_only, discordant, 0.5).pvalue)
    return {"a_only": a_only, "b_only": b_only, "p_value": p}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input's order."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def paired_difference_interval(
    correct_a, correct_b, seed: int = 0, level: float = LEVEL, resamples=BOOTSTRAP_RESAMPLES
) -> tuple[float, float, float]:
    """Mean accuracy difference A - B and its paired bootstrap interval over test images.

    `correct_a` and `correct_b` are (seeds, images) arrays of 0/1 for the same seeds
    and test images. Each bootstrap draw resamples test images (the same images for
    both models and every seed), so the interval covers the test set's sampling error
    of the difference, pooled over the seeds. Percentile interval: for a mean over
    thousands of images it agrees with BCa, whose jackknife would need an images x
    images array.
    """
    from scipy.stats import bootstrap

    a = np.atleast_2d(np.asarray(correct_a, dtype=float))
    b = np.atleast_2d(np.asarray(correct_b, dtype=float))
    if a.shape != b.shape:
        raise ValueError(f"paired predictions differ in shape: {a.shape} and {b.shape}")
    per_image = (a - b).mean(axis=0)
    mean = float(per_image.mean())
    if np.all(per_image == per_image[0]):  # no spread to resample: the interval is the point
        return mean, mean, mean
    result = bootstrap(
        (per_image,),
        np.mean,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)
