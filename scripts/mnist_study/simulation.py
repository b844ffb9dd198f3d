"""Simulated studies with a known truth, for checking the two-source intervals and tests
(`stats.two_source`): several models scored under several seeds on one test set, as the
pipeline scores them (tests/test_stats.py, bench/stats_check.py).

Each model's chance of getting image i right under seed s is
expit(mu + offset_model + h_i + g_model,i + a_model,s): h_i the image's difficulty,
shared by every model (as one test set is), g the model's own difficulty of that image,
a the seed's effect; each is normal with its own standard deviation. The two regimes
put most of a difference's error in the seeds or in the test images.
"""

from __future__ import annotations

import numpy as np

# Log-odds of about 95% accuracy, with a shared image difficulty of sd 1.
MU = 3.4
SHARED_SD = 1.0
IMAGES = 2004
REGIMES = {
    # a network whose seeds move it by about a point: the seeds dominate a difference
    "seeds": {"seed_sd": 0.2, "image_sd": 0.05},
    # models that err on partly different images, stable across seeds: the test
    # images dominate
    "images": {"seed_sd": 0.02, "image_sd": 0.5},
    # models that err on mostly different images: the test images dominate by far
    "images, strongly": {"seed_sd": 0.02, "image_sd": 1.5},
}
CHUNK = 200  # replications simulated at once (memory: 8 x CHUNK x seeds x images)


def correct(rng, reps: int, seeds: int, regime: str, offsets=(0.0, 0.0), images: int = IMAGES):
    """(reps, models, seeds, images) right/wrong, one model per offset (log-odds)."""
    from scipy.special import expit

    sd = REGIMES[regime]
    offsets = np.asarray(offsets, dtype=np.float32)

    def normal(scale, shape):
        return np.float32(scale) * rng.standard_normal(shape, dtype=np.float32)

    logit = (
        np.float32(MU)
        + offsets[None, :, None, None]
        + normal(SHARED_SD, (reps, 1, 1, images))
        + normal(sd["image_sd"], (reps, len(offsets), 1, images))
        + normal(sd["seed_sd"], (reps, len(offsets), seeds, 1))
    )
    return rng.random(logit.shape, dtype=np.float32) < expit(logit)


def true_accuracy(regime: str, offset: float = 0.0) -> float:
    """The accuracy over the populations of seeds and test images (Gauss-Hermite)."""
    sd = REGIMES[regime]
    spread = np.sqrt(SHARED_SD**2 + sd["image_sd"] ** 2 + sd["seed_sd"] ** 2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    values = 1 / (1 + np.exp(-(MU + offset + spread * nodes)))
    return float((values * weights).sum() / weights.sum())


def pair_differences(runs):
    """(reps, pairs, seeds, images) differences of every pair of a (reps, models, seeds,
    images) array, in the order of itertools.combinations."""
    first, second = np.triu_indices(runs.shape[1], 1)
    return runs[:, first].astype(np.float32) - runs[:, second]


def seeds_only_interval(scores, level: float = 0.95):
    """(mean, half-width) of a t interval over the seeds' means alone (ignores which test
    images were drawn): what a table of seed means and their spread says."""
    from scipy.stats import t

    by_seed = np.asarray(scores, float).mean(axis=-1)
    seeds = by_seed.shape[-1]
    half = t.ppf(0.5 + level / 2, seeds - 1) * by_seed.std(axis=-1, ddof=1) / np.sqrt(seeds)
    return by_seed.mean(axis=-1), half


def images_only_interval(scores, level: float = 0.95):
    """(mean, half-width) of a t interval over the test images of the seeds' average
    (ignores retraining): a test-set interval of the ensemble of seeds."""
    from scipy.stats import t

    by_image = np.asarray(scores, float).mean(axis=-2)
    images = by_image.shape[-1]
    half = t.ppf(0.5 + level / 2, images - 1) * by_image.std(axis=-1, ddof=1) / np.sqrt(images)
    return by_image.mean(axis=-1), half


def _chunks(reps: int):
    for start in range(0, reps, CHUNK):
        yield min(CHUNK, reps - start)


def null_family(rng, regime: str, seeds: int, reps: int, models: int = 8, alpha=0.05) -> dict:
    """`models` equally good models, every pair tested, `reps` times: the share of pairs
    rejected at `alpha` (`size`) and at alpha / pairs (`tail_size`, the level Holm's
    first step reads), and the share of replications in which Holm's correction leaves
    any pair "supported" (`fwer`, the family-wise error)."""
    from . import stats

    p_values = np.concatenate(
        [
            stats.crossed_test(pair_differences(correct(rng, size, seeds, regime, [0.0] * models)))[
                "p_value"
            ]
            for size in _chunks(reps)
        ]
    )
    pairs = p_values.shape[1]
    any_supported = [(stats.holm(row) < alpha).any() for row in p_values]
    return {
        "size": float((p_values < alpha).mean()),
        "tail_size": float((p_values < alpha / pairs).mean()),
        "tail_level": alpha / pairs,
        "fwer": float(np.mean(any_supported)),
        "pairs": pairs,
    }


def interval_check(rng, regime: str, seeds: int, reps: int, offset=-0.1, alpha=0.05) -> dict:
    """Two models, the second `offset` log-odds worse, `reps` times: how often the 95%
    intervals cover the first model's accuracy (`coverage_model`) and the true
    difference (`coverage_pair`); how often the difference is found at `alpha`
    (`power`); and the coverage of the one-source intervals (`seeds_only_model`,
    `images_only_model`, `seeds_only_pair`, `images_only_pair`)."""
    from . import stats

    accuracy = true_accuracy(regime)
    difference = accuracy - true_accuracy(regime, offset)
    hits: dict[str, list] = {}
    for size in _chunks(reps):
        runs = correct(rng, size, seeds, regime, [0.0, offset])
        pair = runs[:, 0].astype(np.float32) - runs[:, 1]
        for name, scores, truth in (("model", runs[:, 0], accuracy), ("pair", pair, difference)):
            test = stats.crossed_test(scores.astype(np.float32))
            hits.setdefault(f"coverage_{name}", []).append(
                np.abs(test["mean"] - truth) <= test["half_width"]
            )
            for source, interval in (
                ("seeds", seeds_only_interval),
                ("images", images_only_interval),
            ):
                mean, half = interval(scores)
                hits.setdefault(f"{source}_only_{name}", []).append(np.abs(mean - truth) <= half)
            if name == "pair":
                hits.setdefault("power", []).append(test["p_value"] < alpha)
    return {key: float(np.concatenate(value).mean()) for key, value in hits.items()} | {
        "difference": difference
    }
