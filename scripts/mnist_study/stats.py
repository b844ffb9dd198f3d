"""Intervals and tests for results over seeds and test images, on scipy.stats.

- one run's accuracy, from its test set alone: an exact (Clopper-Pearson) binomial
  interval (`accuracy_interval`);
- a metric across seeds: mean, spread and a t interval of the mean (`summarise`), which
  speaks of retraining with another seed on the same test images;
- a model's accuracy from both sources of variation, seeds and test images
  (`two_source`), and the same for the difference of two models on the same images
  (`paired_difference`, with its p-value): "train again with a new seed and test on new
  images from the same distribution";
- McNemar's exact test of one seed's pair (`mcnemar_exact`) and Holm's correction
  across pairs (`holm`).
"""

from __future__ import annotations

import math

import numpy as np

LEVEL = 0.95


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


def two_source(scores, level: float = LEVEL, seeds_df: bool = False) -> dict:
    """The mean of a (seeds, images) array and its interval over seeds and test images.

    `scores` holds one value per seed and test image (1/0 for a correct/wrong
    prediction, or the difference of two models' on the same image). Model: crossed
    random effects, y_si = mu + a_s + b_i + e_si, seeds and test images each drawn from
    their own population. From the two-way analysis of variance's mean squares, the
    variance of the grand mean is estimated as (MS_seeds + MS_images) / (S n): the
    conservative form, which counts the residual variance twice rather than subtract
    it, so that it never drops the seeds' term when that is small by chance (the exact
    form, MS_seeds + MS_images - MS_error, does and then makes p-values too small in
    their tail). The interval is the mean +- t * its standard error, with
    Satterthwaite's degrees of freedom, or with `seeds_df` the seeds' own (S - 1): the
    conservative choice for tests, whose p-values must hold far into the tail when many
    pairs are corrected together (Satterthwaite's, estimated from the same mean squares,
    run large exactly when the seeds' spread is small by chance). Returns the mean,
    `se`, `df`, `ci_low`, `ci_high`, the t test's `p_value` of a zero mean, and the two
    parts of the error:
    `seed_se` (var_a / S; NaN with one seed, when it cannot be estimated and the
    interval covers the test images only) and `image_se` (var_b / n + var_e / (S n)),
    and `dominant`, the larger: "seeds" or "test images".
    """
    from scipy.stats import t

    y = np.atleast_2d(np.asarray(scores, dtype=float))
    seeds, images = y.shape
    mean = float(y.mean())
    by_image = y.mean(axis=0)
    ms_image = seeds * by_image.var(ddof=1) if images > 1 else 0.0
    if seeds == 1:
        squares, df_terms, seed_var = [ms_image], [images - 1], math.nan
        image_var = ms_image / images
    else:
        ms_seed = images * y.mean(axis=1).var(ddof=1)
        residual = y - y.mean(axis=1)[:, None] - by_image[None, :] + mean
        ms_error = float((residual**2).sum()) / ((seeds - 1) * (images - 1))
        squares, df_terms = [ms_seed, ms_image], [seeds - 1, images - 1]
        seed_var = max(ms_seed - ms_error, 0.0) / (seeds * images)
        image_var = max(ms_image - ms_error, 0.0) / (seeds * images) + ms_error / (seeds * images)
    variance = sum(squares) / (seeds * images)
    terms = sum(m**2 / d for m, d in zip(squares, df_terms, strict=True) if d > 0)
    df = sum(squares) ** 2 / terms if terms > 0 else math.inf
    if seeds_df and seeds > 1:
        df = seeds - 1
    se = math.sqrt(variance)
    if se > 0:
        half = float(t.ppf(0.5 + level / 2, df)) * se
        p_value = float(2 * t.sf(abs(mean) / se, df))
    else:
        half, p_value = 0.0, 1.0 if mean == 0 else 0.0
    return {
        "mean": mean,
        "seed_se": math.sqrt(seed_var) if not math.isnan(seed_var) else math.nan,
        "image_se": math.sqrt(image_var),
        "se": se,
        "df": df,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "p_value": p_value,
        "dominant": "seeds" if seed_var > image_var else "test images",
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
