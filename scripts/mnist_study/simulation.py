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
    # the bundled sample's Keras CNN against its MLP (five seeds, default settings):
    # images of a spread of difficulty (most always right, some always wrong), each
    # model's own difficulties large, its seeds' effect small; fitted (true_components)
    # to their accuracy, 0.9513, and the variance parts of their difference estimated
    # from the mean squares (bench/README.md): per image 0.0148, residual 0.0331, and
    # per seed 1.39e-5, the two models' own seed parts added (the pair's own estimate, on
    # four degrees of freedom, is 0)
    "sample": {"mu": 10.11, "shared_sd": 5.50, "image_sd": 1.92, "seed_sd": 0.160},
}
CHUNK = 200  # replications simulated at once (memory: 8 x CHUNK x seeds x images)


def seed_effects(rng, shape, seed_sd: float, tails: str = "normal", correlation: float = 0.0):
    """(reps, models, seeds, 1) seed effects of standard deviation `seed_sd`: normal, or
    Student's t with 3 degrees of freedom scaled to that deviation (`tails` "t3": heavy
    tails, a seed now and then far off); `correlation` of the same seed number between
    models (a part shared by every model: the same seed draws the same training subset
    or data order)."""
    reps, models, seeds = shape

    def draw(size):
        if tails == "t3":  # variance 3: scaled to 1
            return (rng.standard_t(3, size) / np.sqrt(3)).astype(np.float32)
        return rng.standard_normal(size, dtype=np.float32)

    own = draw((reps, models, seeds, 1))
    if correlation:
        shared = draw((reps, 1, seeds, 1))
        own = np.float32(np.sqrt(1 - correlation)) * own + np.float32(np.sqrt(correlation)) * shared
    return np.float32(seed_sd) * own


def correct(
    rng,
    reps: int,
    seeds: int,
    regime: str,
    offsets=(0.0, 0.0),
    images: int = IMAGES,
    tails: str = "normal",
    correlation: float = 0.0,
):
    """(reps, models, seeds, images) right/wrong, one model per offset (log-odds); the
    seed effects as `seed_effects` draws them."""
    from scipy.special import expit

    sd = REGIMES[regime]
    offsets = np.asarray(offsets, dtype=np.float32)

    def normal(scale, shape):
        return np.float32(scale) * rng.standard_normal(shape, dtype=np.float32)

    logit = (
        np.float32(sd.get("mu", MU))
        + offsets[None, :, None, None]
        + normal(sd.get("shared_sd", SHARED_SD), (reps, 1, 1, images))
        + normal(sd["image_sd"], (reps, len(offsets), 1, images))
        + seed_effects(rng, (reps, len(offsets), seeds), sd["seed_sd"], tails, correlation)
    )
    return rng.random(logit.shape, dtype=np.float32) < expit(logit)


def pair_mean_squares(runs):
    """(mean, ms_seeds, ms_images, ms_error) of every pair's differences (the order of
    `pair_differences`) of a (reps, models, seeds, images) 0/1 array, each (reps, pairs):
    `stats.crossed_mean_squares` of `pair_differences(runs)`, from each model's sums
    and the models' cross-products over seeds and images (one matrix product), without
    forming the differences. Sums of 0/1 are whole numbers, exact in float32."""
    reps, models, seeds, images = runs.shape
    y = runs.astype(np.float32)
    first, second = np.triu_indices(models, 1)
    flat = y.reshape(reps, models, seeds * images)
    gram = np.matmul(flat, flat.transpose(0, 2, 1)).astype(float)  # (reps, models, models)
    by_seed = y.sum(axis=3).astype(float)  # (reps, models, seeds)
    by_image = y.sum(axis=2).astype(float)  # (reps, models, images)
    cells = seeds * images
    total = by_seed.sum(axis=2)
    mean = (total[:, first] - total[:, second]) / cells
    squares = gram[:, first, first] - 2 * gram[:, first, second] + gram[:, second, second]
    seed_sums = by_seed[:, first] - by_seed[:, second]  # (reps, pairs, seeds)
    ms_seed = ((seed_sums / images) ** 2).sum(axis=2) * images - cells * mean**2
    ms_seed /= max(seeds - 1, 1)
    image_gram = np.matmul(by_image, by_image.transpose(0, 2, 1))
    image_squares = (
        image_gram[:, first, first] - 2 * image_gram[:, first, second]
        + image_gram[:, second, second]
    )  # fmt: skip
    ms_image = (image_squares / seeds - cells * mean**2) / max(images - 1, 1)
    rest = squares - cells * mean**2 - (seeds - 1) * ms_seed - (images - 1) * ms_image
    ms_error = np.maximum(rest, 0) / max((seeds - 1) * (images - 1), 1)
    return mean, ms_seed, ms_image, ms_error


def pair_p_values(runs, truth=0.0):
    """The generalized p-values of every pair of a (reps, models, seeds, images) array
    (`stats.crossed_test`'s, by `pair_mean_squares`), of a difference `truth`."""
    from . import stats

    reps, models, seeds, images = runs.shape
    mean, ms_seed, ms_image, ms_error = pair_mean_squares(runs)
    seed_term = ms_seed / (seeds * images)
    image_term = np.maximum(ms_image - ms_error, 0.0) / (seeds * images)
    return stats.generalized_p_value(mean - truth, seed_term, image_term, seeds - 1)


def true_components(
    regime: str, tails: str = "normal", correlation: float = 0.0, model: bool = False
) -> dict:
    """The variance parts of the difference of two equally good models of a regime, per
    seed (var_seeds), per image (var_images) and residual (var_error, the seed-by-image
    interaction with the draws' own noise), by quadrature over the model's normal
    effects (Gauss-Hermite; t with 3 degrees of freedom on a fine grid): what
    `stats.two_source` estimates, and what `stats.rejection_chance` needs to give the
    test's size and power under the crossed normal model.

    With f(a) = E[expit(mu + a + h + g)] over the image effects and k(h, g) = E[expit(mu
    + h + g + a)] over the seed effect: var_seeds = Var(f(a_A) - f(a_B)), var_images =
    2 (E[k^2] - E_h[E_g[k]^2]), and var_error the rest of Var(y_A - y_B) = 2 E[p] -
    2 E[p_A p_B], p_A and p_B sharing the image's h (and, correlated, the seed). With
    `model`, the same parts of one model's accuracy."""
    from scipy.special import expit
    from scipy.stats import t

    sd = REGIMES[regime]
    mu, seed_sd, image_sd = sd.get("mu", MU), sd["seed_sd"], sd["image_sd"]
    shared_sd = sd.get("shared_sd", SHARED_SD)
    z, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    if tails == "t3":
        a = np.linspace(-40, 40, 4001)
        wa = t.pdf(a, 3)
        a, wa = seed_sd * a / np.sqrt(3), wa / wa.sum()
        if correlation:
            raise ValueError("correlated seeds are drawn normal here")
    else:
        a, wa = seed_sd * z, w
    image = np.sqrt(shared_sd**2 + image_sd**2)
    f = (expit(mu + a[:, None] + image * z[None, :]) * w).sum(axis=1)  # over the image
    # k over the seed effect, on the nodes of h (shared) and g (the model's own)
    h, g = shared_sd * z[:, None, None], image_sd * z[None, :, None]
    k = (expit(mu + h + g + a[None, None, :]) * wa).sum(axis=2)  # (h, g)
    k_by_h = k @ w
    var_images = float(2 * ((k**2 @ w) - k_by_h**2) @ w)
    p = float(k_by_h @ w)
    if correlation:  # the two models' seeds jointly normal, correlation `correlation`
        partner = seed_sd * (correlation * z[:, None] + np.sqrt(1 - correlation**2) * z)
        f_partner = (expit(mu + partner[..., None] + image * z) * w).sum(axis=-1)
        var_seeds = float(((f[:, None] - f_partner) ** 2 * np.outer(w, w)).sum())
        # m(h, a) = E over g of p: at model A's seed node and at B's correlated one
        m_a = (expit(mu + h + seed_sd * z[None, :, None] + g.transpose(0, 2, 1)) * w).sum(2)
        m_b = (expit(mu + h[..., None] + partner[None, :, :, None] + image_sd * z) * w).sum(
            axis=3
        )  # (h, a node, partner node)
        joint = float(((m_a[:, :, None] * m_b) @ w @ w) @ w)
    else:
        var_seeds = float(2 * ((f - f @ wa) ** 2) @ wa)
        joint = float(k_by_h**2 @ w)
    if model:  # one model's accuracy: half the seeds' part, its own image part, the rest
        var_images_one = float((k**2 @ w) @ w - p**2)
        var_seeds_one = float(((f - f @ wa) ** 2) @ wa)
        return {
            "var_seeds": var_seeds_one,
            "var_images": var_images_one,
            "var_error": p - p**2 - var_seeds_one - var_images_one,
            "accuracy": p,
        }
    var_total = 2 * p - 2 * joint
    return {
        "var_seeds": var_seeds,
        "var_images": var_images,
        "var_error": var_total - var_seeds - var_images,
        "accuracy": p,
    }


def true_accuracy(regime: str, offset: float = 0.0) -> float:
    """The accuracy over the populations of seeds and test images (Gauss-Hermite)."""
    sd = REGIMES[regime]
    shared = sd.get("shared_sd", SHARED_SD)
    spread = np.sqrt(shared**2 + sd["image_sd"] ** 2 + sd["seed_sd"] ** 2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    values = 1 / (1 + np.exp(-(sd.get("mu", MU) + offset + spread * nodes)))
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


def null_family(
    rng, regime: str, seeds: int, reps: int, models: int = 8, alpha=0.05, **draws
) -> dict:
    """`models` equally good models, every pair tested, `reps` times: the share of pairs
    rejected at `alpha` (`size`) and at alpha / pairs (`tail_size`, the level Holm's
    first step reads), and the share of replications in which Holm's correction leaves
    any pair "supported" (`fwer`, the family-wise error). `draws` go to `correct` (the
    seed effects' tails and correlation)."""
    from . import stats

    p_values = np.concatenate(
        [
            pair_p_values(correct(rng, size, seeds, regime, [0.0] * models, **draws))
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
        "p_values": p_values,
    }


def interval_check(rng, regime: str, seeds: int, reps: int, offset=-0.1, alpha=0.05) -> dict:
    """Two models, the second `offset` log-odds worse, `reps` times: how often the 95%
    intervals cover the first model's accuracy (`coverage_model`) and the true
    difference (`coverage_pair`); how often the difference is found at `alpha`
    (`power`); and the coverage of the one-source intervals (`seeds_only_model`,
    `images_only_model`, `seeds_only_pair`, `images_only_pair`). The generalized
    interval inverts the test, so it covers the truth where the generalized p-value of
    the mean less the truth is above 1 - level (`pair_p_values`; the model's own
    interval as a pair with a model that gets every image wrong)."""
    accuracy = true_accuracy(regime)
    difference = accuracy - true_accuracy(regime, offset)
    hits: dict[str, list] = {}
    for size in _chunks(reps):
        runs = correct(rng, size, seeds, regime, [0.0, offset])
        with_nil = np.concatenate([runs, np.zeros_like(runs[:, :1])], axis=1)
        # pairs (0, 1), (0, nil), (1, nil): the difference and the first model alone
        p_model = pair_p_values(with_nil, np.array([0.0, accuracy, 0.0]))[:, 1]
        p_pair = pair_p_values(runs, difference)[:, 0]
        pair = runs[:, 0].astype(np.float32) - runs[:, 1]
        for name, scores, truth, p in (
            ("model", runs[:, 0], accuracy, p_model),
            ("pair", pair, difference, p_pair),
        ):
            hits.setdefault(f"coverage_{name}", []).append(p > alpha)
            for source, interval in (
                ("seeds", seeds_only_interval),
                ("images", images_only_interval),
            ):
                mean, half = interval(scores)
                hits.setdefault(f"{source}_only_{name}", []).append(np.abs(mean - truth) <= half)
        hits.setdefault("power", []).append(pair_p_values(runs)[:, 0] < alpha)
    return {key: float(np.concatenate(value).mean()) for key, value in hits.items()} | {
        "difference": difference
    }
