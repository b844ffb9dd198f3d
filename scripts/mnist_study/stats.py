"""Intervals and tests for results over seeds and test images, on scipy.stats.

- one run's accuracy, from its test set alone: an exact (Clopper-Pearson) binomial
  interval (`accuracy_interval`);
- a metric across seeds: mean, spread and a t interval of the mean (`summarise`), which
  speaks of retraining with another seed on the same test images;
- a model's accuracy from both sources of variation, seeds and test images, and the
  same for the difference of two models on the same images, with its p-value
  (`two_source`): "train again with a new seed and test on new images from the same
  distribution"; and the smallest difference such a test detects
  (`detectable_difference`);
- McNemar's exact test of one seed's pair (`mcnemar_exact`) and Holm's correction
  across pairs (`holm`).
"""

from __future__ import annotations

import functools
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


def crossed_mean_squares(scores):
    """The two-way analysis of variance of (..., seeds, images) arrays, over the last two
    axes: (mean, ms_seeds, ms_images, ms_error), each of the leading axes' shape, in the
    scores' precision (float32 arrays, as simulations pass, stay float32)."""
    y = np.asarray(scores)
    y = y if y.dtype == np.float32 else y.astype(float)
    seeds, images = y.shape[-2:]
    mean = y.mean(axis=(-2, -1))
    ms_seed = images * y.mean(axis=-1).var(axis=-1, ddof=1) if seeds > 1 else 0 * mean
    ms_image = seeds * y.mean(axis=-2).var(axis=-1, ddof=1) if images > 1 else 0 * mean
    if seeds > 1 and images > 1:
        total = ((y - mean[..., None, None]) ** 2).sum(axis=(-2, -1))
        rest = total - (seeds - 1) * ms_seed - (images - 1) * ms_image
        ms_error = np.maximum(rest, 0) / ((seeds - 1) * (images - 1))
    else:
        ms_error = 0 * mean
    return mean, ms_seed, ms_image, ms_error


@functools.lru_cache(maxsize=64)
def _chi2_grid(df: int, points: int = 200):
    """Nodes and weights over the chi-square distribution with `df` degrees of freedom,
    even on the log scale from its 1e-13 to its 1 - 1e-13 quantile, so that sums over
    them give expectations accurate far into the tails. Kept per `df` (read-only):
    a table's intervals ask for the same few thousands of times."""
    from scipy.stats import chi2

    log_u = np.linspace(np.log(chi2.ppf(1e-13, df)), np.log(chi2.isf(1e-13, df)), points)
    u = np.exp(log_u)
    weights = chi2.pdf(u, df) * u
    weights /= weights.sum()
    u.flags.writeable = weights.flags.writeable = False
    return u, weights


def _variance_draws(seed_term, image_term, df):
    """The variance of the mean at each chi-square node: seed_term * df / U + image_term,
    with a trailing axis over the nodes and their weights."""
    u, weights = _chi2_grid(df)
    seed_term, image_term = np.asarray(seed_term, float), np.asarray(image_term, float)
    return seed_term[..., None] * df / u + image_term[..., None], weights


def generalized_p_value(mean, seed_term, image_term, df):
    """Two-sided generalized p-value of a zero mean (vectorised): the chance, over the
    seeds' chi-square, that a normal with the variance seed_term * df / U + image_term
    lies farther from zero than `mean`."""
    from scipy.special import ndtr

    variance, weights = _variance_draws(seed_term, image_term, df)
    mean = np.abs(np.asarray(mean, float))[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(variance > 0, 2 * ndtr(-mean / np.sqrt(variance)), 1.0 * (mean == 0))
    return (tail * weights).sum(axis=-1)


def generalized_half_width(seed_term, image_term, df, level: float = LEVEL):
    """The half-width h of the generalized interval, mean +- h (vectorised): where the
    generalized p-value of a difference h from the mean is 1 - level."""
    seed_term, image_term = np.broadcast_arrays(
        np.asarray(seed_term, float), np.asarray(image_term, float)
    )
    low = np.zeros(seed_term.shape)
    high = 50 * np.sqrt(seed_term * df + image_term)
    if not high.any():
        return high  # no variance at all: a zero-width interval
    for _ in range(48):  # bisection to 2**-48 of the bracket: the p-value falls with distance
        middle = (low + high) / 2
        above = generalized_p_value(middle, seed_term, image_term, df) > 1 - level
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    return (low + high) / 2


def crossed_test(scores, level: float = LEVEL, interval: bool = True) -> dict:
    """The generalized test and interval of `two_source` for (..., seeds, images)
    arrays of two or more seeds, vectorised over the leading axes: `mean`, `seed_term`
    (MS_seeds / (S n)), `image_term` ((MS_images - MS_error) / (S n), at least 0),
    `ms_seed`, `ms_image`, `ms_error`, `p_value` and (unless not `interval`)
    `half_width`."""
    y = np.asarray(scores)
    seeds, images = y.shape[-2:]
    if seeds < 2:
        raise ValueError(f"the crossed test needs two or more seeds, got {seeds}")
    mean, ms_seed, ms_image, ms_error = crossed_mean_squares(y)
    seed_term = ms_seed / (seeds * images)
    image_term = np.maximum(ms_image - ms_error, 0.0) / (seeds * images)
    return {
        "mean": mean,
        "seed_term": seed_term,
        "image_term": image_term,
        "ms_seed": ms_seed,
        "ms_image": ms_image,
        "ms_error": ms_error,
        "p_value": generalized_p_value(mean, seed_term, image_term, seeds - 1),
    } | (
        {"half_width": generalized_half_width(seed_term, image_term, seeds - 1, level)}
        if interval
        else {}
    )


def two_source(scores, level: float = LEVEL) -> dict:
    """The mean of a (seeds, images) array, its interval over seeds and test images and
    the p-value of a zero mean.

    `scores` holds one value per seed and test image (1/0 for a correct/wrong
    prediction, or the difference of two models' on the same image). Model: crossed
    random effects, y_si = mu + a_s + b_i + e_si, seeds and test images each drawn from
    their own population, so the mean's variance is var_a / S + var_b / n +
    var_e / (S n). From the two-way analysis of variance's mean squares
    (`crossed_mean_squares`), that variance is the sum of two terms:
    - MS_seeds / (S n), whose expectation is var_a / S + var_e / (S n), known only to
      within a chi-square with S - 1 degrees of freedom: a handful of seeds;
    - (MS_images - MS_error) / (S n) for var_b / n, with thousands of degrees of freedom:
      as good as known.
    The mean is then normal with a variance of one known part and one chi-square-scaled
    part: a Behrens-Fisher-like problem, which the generalized p-value solves (Tsui and
    Weerahandi 1989): the chance that such a normal lies farther from zero than the
    mean, averaged over the seeds' chi-square (`generalized_p_value`), and the interval
    that inverts it. Its size is its level where seeds dominate the error and where
    test images do, far into the tails that Holm's correction reads; the plug-in
    alternative, a t with Satterthwaite's degrees of freedom, rejects several times too
    often there (measured by simulation: tests/test_stats.py, bench/stats_check.py).

    Returns the mean, `ci_low`, `ci_high`, `p_value`, the standard error `se` and its
    two parts, which add up in squares (se**2 = seed_se**2 + test_se**2): `seed_se`,
    var_a / S (held at zero where the estimate is negative; NaN with one seed, when the
    interval covers the test images only: a t over the images), `test_se`,
    var_b / n + var_e / (S n); `dominant`, the larger: "seeds" or "test images"; and
    the estimated parts of the variance that `detectable_difference` reads.
    """
    from scipy.stats import t

    y = np.atleast_2d(np.asarray(scores, dtype=float))
    seeds, images = y.shape
    cell = seeds * images
    if seeds == 1:
        mean, ms_image = float(y.mean()), float(y.var(ddof=1)) if images > 1 else 0.0
        ms_seed = ms_error = math.nan
        test_var, seed_var = ms_image / cell, math.nan
        se = math.sqrt(test_var)
        if se > 0:
            half = float(t.ppf(0.5 + level / 2, images - 1)) * se
            p_value = float(2 * t.sf(abs(mean) / se, images - 1))
        else:
            half, p_value = 0.0, 1.0 if mean == 0 else 0.0
    else:
        test = {k: float(v) for k, v in crossed_test(y, level).items()}
        mean, half, p_value = test["mean"], test["half_width"], test["p_value"]
        ms_seed, ms_image, ms_error = test["ms_seed"], test["ms_image"], test["ms_error"]
        seed_var, test_var = max(ms_seed - ms_error, 0.0) / cell, ms_image / cell
        se = math.sqrt(seed_var + test_var)
    return {
        "mean": mean,
        "seed_se": math.sqrt(seed_var) if not math.isnan(seed_var) else math.nan,
        "test_se": math.sqrt(test_var),
        "se": se,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "p_value": p_value,
        "dominant": "seeds" if seed_var > test_var else "test images",
        "components": {
            "seeds": seeds,
            "images": images,
            "var_seeds": max(ms_seed - ms_error, 0.0) / images if seeds > 1 else math.nan,
            "var_images": max(ms_image - ms_error, 0.0) / seeds,
            "var_error": ms_error,
        },
    }


def detectable_difference(components: dict, alpha: float, power: float = 0.8) -> dict:
    """The smallest true difference that the two-source test at level `alpha` detects
    with the given power, for this design and for twice the seeds or twice the images.

    `components` are the variance parts that `two_source` estimated (per seed var_a,
    per image var_b, residual var_e). Under the crossed model the mean is normal with
    variance seed_term + image_term, independent of the seeds' mean square, which
    scatters as seed_term * U / (S - 1) with U chi-square on S - 1 degrees of freedom;
    the test rejects where |mean| exceeds the generalized half-width at that scattered
    seed term. The power at a difference d is that chance averaged over U (exact under
    the model, not a normal approximation, which overstates the power of a few seeds),
    and the difference is where it reaches `power` (bisection). Returns `mdd`,
    `mdd_seeds_x2`, `mdd_images_x2` and `helps`: "more seeds", "more test images" or
    "neither" (when doubling either shrinks it by under a tenth).
    """
    from scipy.special import ndtr

    def mdd(seeds: int, images: int) -> float:
        var_a, var_b, var_e = (components[k] for k in ("var_seeds", "var_images", "var_error"))
        if seeds < 2 or not np.isfinite(var_a):
            return math.nan
        seed_term = var_a / seeds + var_e / (seeds * images)
        image_term = var_b / images
        sd = math.sqrt(seed_term + image_term)
        if sd == 0:
            return 0.0
        u, weights = _chi2_grid(seeds - 1)
        critical = generalized_half_width(seed_term * u / (seeds - 1), image_term, seeds - 1,
                                          1 - alpha)  # fmt: skip
        low, high = 0.0, float(critical.max()) + 10 * sd
        for _ in range(48):  # the power rises with the difference
            middle = (low + high) / 2
            chance = ndtr((middle - critical) / sd) + ndtr((-middle - critical) / sd)
            low, high = (middle, high) if (chance * weights).sum() < power else (low, middle)
        return (low + high) / 2

    seeds, images = components["seeds"], components["images"]
    now, more_seeds, more_images = (
        mdd(seeds, images),
        mdd(2 * seeds, images),
        mdd(seeds, 2 * images),
    )
    if not np.isfinite(now) or min(more_seeds, more_images) > 0.9 * now:
        helps = "neither"
    else:
        helps = "more seeds" if more_seeds < more_images else "more test images"
    return {"mdd": now, "mdd_seeds_x2": more_seeds, "mdd_images_x2": more_images,
            "helps": helps}  # fmt: skip


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
