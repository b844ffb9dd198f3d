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


def _parts(seed_term, df) -> tuple[tuple, tuple]:
    """One seed part, or a tuple of independent parts: (terms, degrees of freedom)."""
    if isinstance(df, tuple | list):
        return tuple(seed_term), tuple(df)
    return (seed_term,), (df,)


def _variance_draws(seed_terms, image_term, dfs):
    """The variance of the mean at each node of a grid over the seed parts' chi-squares,
    sum_k seed_term_k * df_k / U_k + image_term, with a trailing axis over the nodes and
    their weights: one part's 200 nodes, or the product of two parts' 100 each (an
    unpaired pair: one part per model)."""
    points = 200 if len(dfs) == 1 else 100
    variance = np.asarray(image_term, float)[..., None]
    weights = np.ones(1)
    for term, df in zip(seed_terms, dfs, strict=True):
        u, w = _chi2_grid(df, points)
        variance = np.asarray(term, float)[..., None, None] * (df / u) + variance[..., :, None]
        variance = variance.reshape(*variance.shape[:-2], -1)
        weights = (weights[:, None] * w).ravel()
    return variance, weights


def generalized_p_value(mean, seed_term, image_term, df):
    """Two-sided generalized p-value of a zero mean (vectorised): the chance, over the
    seeds' chi-square, that a normal with the variance seed_term * df / U + image_term
    lies farther from zero than `mean`. `seed_term` and `df` may be tuples, one entry
    per independent seed part with its own chi-square (an unpaired pair: each model's)."""
    from scipy.special import ndtr

    terms, dfs = _parts(seed_term, df)
    variance, weights = _variance_draws(terms, image_term, dfs)
    mean = np.abs(np.asarray(mean, float))[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(variance > 0, 2 * ndtr(-mean / np.sqrt(variance)), 1.0 * (mean == 0))
    return (tail * weights).sum(axis=-1)


def generalized_half_width(seed_term, image_term, df, level: float = LEVEL):
    """The half-width h of the generalized interval, mean +- h (vectorised): where the
    generalized p-value of a difference h from the mean is 1 - level (`seed_term` and
    `df` one part or a tuple of parts, as in `generalized_p_value`)."""
    terms, dfs = _parts(seed_term, df)
    *terms, image_term = np.broadcast_arrays(
        *(np.asarray(term, float) for term in terms), np.asarray(image_term, float)
    )
    low = np.zeros(image_term.shape)
    high = 50 * np.sqrt(sum(term * d for term, d in zip(terms, dfs, strict=True)) + image_term)
    if not high.any():
        return high  # no variance at all: a zero-width interval
    for _ in range(48):  # bisection to 2**-48 of the bracket: the p-value falls with distance
        middle = (low + high) / 2
        above = generalized_p_value(middle, tuple(terms), image_term, dfs) > 1 - level
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


def unpaired_test(a, b, level: float = LEVEL, interval: bool = True) -> dict:
    """The generalized test and interval of a difference of two models over all seeds of
    each, unpaired: `a` (..., S_A, images) and `b` (..., S_B, images), each of two or
    more seeds, scored on the same test images (`two_source_unpaired`). Returns `mean`
    (A's mean over its seeds and images less B's), `seed_terms` (MS_seeds / (S n) of
    each model, each a chi-square with its S - 1 degrees of freedom), `image_term`,
    `ms_seeds`, `ms_errors`, `ms_by_image`, `p_value` and (unless not `interval`)
    `half_width`."""
    a, b = np.asarray(a), np.asarray(b)
    (seeds_a, images), seeds_b = a.shape[-2:], b.shape[-2]
    if min(seeds_a, seeds_b) < 2:
        raise ValueError(f"the unpaired test needs two or more seeds of each, got "
                         f"{seeds_a} and {seeds_b}")  # fmt: skip
    _, ms_seed_a, _, ms_error_a = crossed_mean_squares(a)
    _, ms_seed_b, _, ms_error_b = crossed_mean_squares(b)
    by_image = a.mean(axis=-2) - b.mean(axis=-2)
    mean, ms_by_image = by_image.mean(axis=-1), by_image.var(axis=-1, ddof=1)
    seed_terms = (ms_seed_a / (seeds_a * images), ms_seed_b / (seeds_b * images))
    # by_image scatters over images with var_images + var_error_A / S_A + var_error_B / S_B
    image_term = np.maximum(ms_by_image - ms_error_a / seeds_a - ms_error_b / seeds_b, 0) / images
    dfs = (seeds_a - 1, seeds_b - 1)
    return {
        "mean": mean,
        "seed_terms": seed_terms,
        "image_term": image_term,
        "ms_seeds": (ms_seed_a, ms_seed_b),
        "ms_errors": (ms_error_a, ms_error_b),
        "ms_by_image": ms_by_image,
        "p_value": generalized_p_value(mean, seed_terms, image_term, dfs),
    } | (
        {"half_width": generalized_half_width(seed_terms, image_term, dfs, level)}
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
            "ms_seeds": ms_seed,
        },
    }


def two_source_unpaired(a, b, level: float = LEVEL) -> dict:
    """`two_source` for a difference of two models whose seeds do not pair (unequal seed
    lists: a failed run, seeds added to one model), over all seeds of each: `a` (S_A,
    images) and `b` (S_B, images), 0/1 per seed and test image, on the same images.

    Model: each model crossed as in `two_source`, y_si = mu + a_s + b_i + e_si with its
    own seed effects, independent between the models; the image effects of both on the
    same image may be correlated (they are scored on it together). The difference of the
    two means has the variance var_a_A / S_A + var_a_B / S_B + (var_db + var_e_A / S_A
    + var_e_B / S_B) / n, var_db the variance over images of the difference of the
    models' image effects: two chi-square parts, MS_seeds_A / (S_A n) on S_A - 1
    degrees of freedom and MS_seeds_B / (S_B n) on S_B - 1, and the per-image
    differences' mean square less the residuals, on thousands; the generalized
    p-value averages over both chi-squares (`generalized_p_value` with two parts). Where
    the models' seed effects are positively correlated (the same seed draws the same
    training subset for both) the pairs are better compared paired; unpaired, the test
    then errs on the safe side. Returns what `two_source` returns, `components` with one
    entry of `parts` per model."""
    test = {
        key: tuple(float(v) for v in value) if isinstance(value, tuple) else float(value)
        for key, value in unpaired_test(np.asarray(a, float), np.asarray(b, float),
                                        level).items()
    }  # fmt: skip
    (seeds_a, images), seeds_b = np.shape(a), np.shape(b)[0]
    parts = [
        {"seeds": seeds, "var_seeds": max(ms - error, 0.0) / images, "var_error": error,
         "ms_seeds": ms}
        for seeds, ms, error in zip((seeds_a, seeds_b), test["ms_seeds"], test["ms_errors"],
                                    strict=True)
    ]  # fmt: skip
    seed_var = sum(part["var_seeds"] / part["seeds"] for part in parts)
    test_var = test["ms_by_image"] / images
    mean, half = test["mean"], test["half_width"]
    return {
        "mean": mean,
        "seed_se": math.sqrt(seed_var),
        "test_se": math.sqrt(test_var),
        "se": math.sqrt(seed_var + test_var),
        "ci_low": mean - half,
        "ci_high": mean + half,
        "p_value": test["p_value"],
        "dominant": "seeds" if seed_var > test_var else "test images",
        "components": {"images": images, "var_images": test["image_term"] * images,
                       "parts": parts},
    }  # fmt: skip


def _design(components: dict) -> tuple[int, float, list[dict]]:
    """(images, var_images, parts) from `two_source`'s flat components or
    `two_source_unpaired`'s parts; a part's seeds' mean square, where not given, is its
    expectation (var_seeds * images + var_error)."""
    images, var_images = components["images"], components["var_images"]
    parts = components.get("parts") or [
        {key: components[key] for key in ("seeds", "var_seeds", "var_error")}
        | {"ms_seeds": components.get("ms_seeds")}
    ]
    parts = [
        part | {"ms_seeds": part["var_seeds"] * images + part["var_error"]}
        if part.get("ms_seeds") is None
        else part
        for part in parts
    ]
    return images, var_images, parts


def _satterthwaite(terms, dfs) -> tuple[float, float]:
    """The sum of chi-square-scaled terms as one term with Satterthwaite's degrees of
    freedom (exact for one term)."""
    total = float(sum(terms))
    if len(terms) == 1 or total == 0:
        return total, float(dfs[0]) if len(terms) == 1 else float(sum(dfs))
    return total, total**2 / sum(term**2 / df for term, df in zip(terms, dfs, strict=True))


def rejection_chance(seed_term, image_term, df, alpha: float, difference=0.0):
    """The chance that the generalized test at level `alpha` rejects a zero mean when the
    true mean is `difference` (vectorised over it) and the true variance of the mean is
    seed_term + image_term, the seed term's mean square on `df` degrees of freedom:
    exact under the crossed normal model (the image term known). The mean is normal
    and independent of the seeds' mean square, which scatters as seed_term * U / df,
    U chi-square on `df`; the test rejects where |mean| exceeds the generalized
    half-width at that scattered term: the chance averaged over U. At `difference` 0
    it is the test's size; at the truth, one less it is the interval's coverage."""
    from scipy.special import ndtr

    sd = math.sqrt(seed_term + image_term)
    difference = np.asarray(difference, float)
    if sd == 0:
        return 1.0 * (difference != 0)
    u, weights = _chi2_grid(df)
    critical = generalized_half_width(seed_term * u / df, image_term, df, 1 - alpha)
    d = np.abs(difference)[..., None]
    chance = ndtr((d - critical) / sd) + ndtr((-d - critical) / sd)
    return (chance * weights).sum(axis=-1)


def _detectable(seed_term, image_term, df, alpha: float, power: float) -> float:
    """The true difference at which `rejection_chance` reaches `power` (bisection)."""
    from scipy.special import ndtr

    sd = math.sqrt(seed_term + image_term)
    if sd == 0:
        return 0.0
    u, weights = _chi2_grid(df)
    critical = generalized_half_width(seed_term * u / df, image_term, df, 1 - alpha)
    low, high = 0.0, float(critical.max()) + 10 * sd
    for _ in range(48):  # the power rises with the difference
        middle = (low + high) / 2
        chance = ndtr((middle - critical) / sd) + ndtr((-middle - critical) / sd)
        low, high = (middle, high) if (chance * weights).sum() < power else (low, middle)
    return (low + high) / 2


def seed_variance_interval(components: dict, level: float = LEVEL) -> dict:
    """The seeds' variance with its interval: `seed_sd` (how far a difference moves from
    seed to seed, the square root of var_a, summed over an unpaired pair's two models)
    with `seed_sd_low` and `seed_sd_high`; and the seeds' part of the mean's variance,
    sum of var_a / S (`seed_part`, `seed_part_low`, `seed_part_high`).

    Each model's seeds' mean square is var_e + n var_a times a chi-square on S - 1
    degrees of freedom over S - 1, and the residual var_e is as good as known (thousands
    of degrees of freedom), so (df MS_seeds / U - var_e) / n is a pivot for var_a. For
    one part its quantiles give the exact equal-tailed interval (chi-square quantiles,
    scipy.stats.chi2); for two, the generalized interval, quantiles of the sum over the
    product of both chi-squares' grids. An end below zero is held at zero (a variance
    cannot be negative), so where var_a is nil the interval always covers it."""
    from scipy.stats import chi2

    images, _, parts = _design(components)
    tails = ((1 + level) / 2, (1 - level) / 2)  # the low end from the upper chi-square tail
    out = {}
    for name, weight in (("seed_sd", lambda part: 1.0), ("seed_part", lambda p: 1 / p["seeds"])):
        estimate = sum(weight(p) * p["var_seeds"] for p in parts)
        if any(p["seeds"] < 2 for p in parts):
            ends = (math.nan, math.nan)
        elif len(parts) == 1:
            p, df = parts[0], parts[0]["seeds"] - 1
            ends = tuple(
                weight(p) * (df * p["ms_seeds"] / chi2.ppf(q, df) - p["var_error"]) / images
                for q in tails
            )
        else:
            pivot, weights = 0.0, np.ones(1)
            for p in parts:
                u, w = _chi2_grid(p["seeds"] - 1)
                values = weight(p) * ((p["seeds"] - 1) * p["ms_seeds"] / u - p["var_error"])
                pivot = (np.asarray(pivot)[..., None] + values / images).ravel()
                weights = (weights[:, None] * w).ravel()
            order = np.argsort(pivot)
            cumulative = np.cumsum(weights[order])
            ends = tuple(float(pivot[order][np.searchsorted(cumulative, 1 - q)]) for q in tails)
        low, high = (max(end, 0.0) for end in ends)
        if name == "seed_sd":
            out |= {"seed_sd": math.sqrt(estimate), "seed_sd_low": math.sqrt(low),
                    "seed_sd_high": math.sqrt(high)}  # fmt: skip
        else:
            out |= {"seed_part": estimate, "seed_part_low": low, "seed_part_high": high}
    return out


def advice_rule(ms_seed, ms_image, ms_error, seeds: int, images: int, level: float = LEVEL):
    """`advice` of a paired design from its mean squares (vectorised): the seeds' part
    of the mean's variance, (MS_seeds - MS_error) / (S n), with its interval (df MS_seeds
    / U - MS_error) / (S n) at U's chi-square quantiles, against the test images' part,
    (MS_images - MS_error) / (S n). Where both are above zero the low end exceeds it
    exactly where df MS_seeds / q_high > MS_images: a ratio of independent mean squares
    (an F law under the crossed normal model; tests/test_verdicts.py derives the rate
    of each answer from it)."""
    from scipy.stats import chi2

    df = seeds - 1
    ms_seed, ms_image, ms_error = (np.asarray(x, float) for x in (ms_seed, ms_image, ms_error))
    cell = seeds * images
    low = np.maximum(df * ms_seed / chi2.ppf((1 + level) / 2, df) - ms_error, 0) / cell
    high = np.maximum(df * ms_seed / chi2.ppf((1 - level) / 2, df) - ms_error, 0) / cell
    image_part = np.maximum(ms_image - ms_error, 0) / cell
    return np.where(
        low > image_part,
        "more seeds",
        np.where(high < image_part, "more test images", "cannot tell"),
    )


def advice(components: dict, level: float = LEVEL) -> str:
    """Which would help the test more, more seeds or more test images, where the seeds'
    part of the mean's variance (sum of var_a / S) is judged with its uncertainty
    (`seed_variance_interval`): "more seeds" where even the low end of its interval
    exceeds the test images' part (var_b / n); "more test images" where even its high
    end falls below it; "cannot tell" in between, and with one seed (`advice_rule` for
    a paired design's mean squares). Both doublings halve the residual's part alike, so
    it does not enter the choice; nor do the degrees of freedom that more seeds add
    (`detectable_difference` shows what they buy)."""
    images, var_images, _ = _design(components)
    interval = seed_variance_interval(components, level)
    if not np.isfinite(interval["seed_part_low"]):
        return "cannot tell"
    image_part = var_images / images
    if interval["seed_part_low"] > image_part:
        return "more seeds"
    if interval["seed_part_high"] < image_part:
        return "more test images"
    return "cannot tell"


def detectable_difference(components: dict, alpha: float, power: float = 0.8) -> dict:
    """The smallest true difference that the two-source test at level `alpha` detects
    with the given power, for this design, for twice the seeds or twice the test images,
    and what twice the seeds buy through their degrees of freedom alone.

    `components` are the variance parts that `two_source` (or `two_source_unpaired`)
    estimated: per seed var_a, per image var_b, residual var_e. The power at a
    difference is `rejection_chance` (exact under the crossed normal model, not a normal
    approximation, which overstates the power of a few seeds); for an unpaired pair the
    two models' seed parts count as one chi-square with Satterthwaite's degrees of
    freedom (the figure is advice; the test itself uses both). Returns `mdd`,
    `mdd_seeds_x2`, `mdd_images_x2`, `mdd_seeds_df` (the seed part's variance as now
    but with the degrees of freedom of twice the seeds: mdd - mdd_seeds_df is what more
    seeds buy by knowing the seed part better, mdd_seeds_df - mdd_seeds_x2 what they
    buy by averaging more seeds), the seed variance's interval
    (`seed_variance_interval`) and `helps` (`advice`). NaN with a single seed.
    """
    images, var_images, parts = _design(components)

    def terms(seeds_factor: int, images_factor: int, df_factor: int):
        seed_terms = [p["var_seeds"] / (p["seeds"] * seeds_factor)
                      + p["var_error"] / (p["seeds"] * seeds_factor * images * images_factor)
                      for p in parts]  # fmt: skip
        dfs = [p["seeds"] * df_factor - 1 for p in parts]
        return (*_satterthwaite(seed_terms, dfs), var_images / (images * images_factor))

    def mdd(seeds_factor: int, images_factor: int, df_factor: int) -> float:
        if any(p["seeds"] < 2 or not np.isfinite(p["var_seeds"]) for p in parts):
            return math.nan
        seed_term, df, image_term = terms(seeds_factor, images_factor, df_factor)
        return _detectable(seed_term, image_term, df, alpha, power)

    return {
        "mdd": mdd(1, 1, 1),
        "mdd_seeds_x2": mdd(2, 1, 2),
        "mdd_images_x2": mdd(1, 2, 1),
        "mdd_seeds_df": mdd(1, 1, 2),
        "helps": advice(components),
    } | seed_variance_interval(components)


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


def holm_levels(p_values, alpha: float = 0.05) -> np.ndarray:
    """The level each p-value faces in Holm's procedure, in the input's order: a rejected
    one (adjusted p-value below alpha) its own step, alpha / (m - k + 1) at rank k; any
    other the step after the r rejected ones, alpha / (m - r): the level it would have to
    reach to be rejected, the others' p-values as they are."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    levels = np.empty(m)
    if m == 0:
        return levels
    order = np.argsort(p, kind="stable")
    steps = alpha / (m - np.arange(m))
    rejected = int(np.cumprod((m - np.arange(m)) * p[order] < alpha).sum())
    levels[order[:rejected]] = steps[:rejected]
    levels[order[rejected:]] = alpha / (m - rejected) if rejected < m else math.nan
    return levels
