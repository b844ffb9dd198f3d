"""The statistics behind the tables, checked against known answers."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import chi2, norm, t

from mnist_study import simulation, stats


def test_accuracy_interval_is_the_exact_clopper_pearson_interval():
    # Textbook value: 7 successes in 20 trials, exact 95% interval 0.1539 to 0.5922.
    low, high = stats.accuracy_interval(7, 20)
    assert low == pytest.approx(0.1539, abs=1e-4) and high == pytest.approx(0.5922, abs=1e-4)
    # All correct: the upper end is 1 and the lower end (alpha/2)^(1/n).
    low, high = stats.accuracy_interval(50, 50)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 50))
    with pytest.raises(ValueError):
        stats.accuracy_interval(5, 4)


def test_accuracy_interval_covers_the_true_rate_about_95_percent_of_the_time():
    rng = np.random.default_rng(12345)
    rate, n, trials = 0.93, 500, 400
    hits = 0
    for correct in rng.binomial(n, rate, size=trials):
        low, high = stats.accuracy_interval(int(correct), n)
        hits += low <= rate <= high
    # Clopper-Pearson is conservative: at least the nominal 95%, rarely much more.
    assert 0.93 <= hits / trials <= 0.995


def test_summary_uses_the_t_distribution_and_the_sample_deviation():
    summary = stats.summarise([0.95, 0.96, 0.94, 0.97, 0.93])
    assert summary["seeds"] == 5 and summary["mean"] == pytest.approx(0.95)
    assert summary["std"] == pytest.approx(np.std([0.95, 0.96, 0.94, 0.97, 0.93], ddof=1))
    # t(0.975, 4) = 2.7764: half width 2.7764 * s / sqrt(5).
    half = 2.7764 * summary["std"] / np.sqrt(5)
    assert summary["ci_low"] == pytest.approx(0.95 - half, abs=1e-5)
    assert summary["ci_high"] == pytest.approx(0.95 + half, abs=1e-5)
    assert (summary["min"], summary["max"]) == (0.93, 0.97)


def test_summary_interval_is_clipped_to_the_bounds():
    wide = stats.summarise([0.99, 0.90])
    assert wide["ci_high"] > 1
    clipped = stats.summarise([0.99, 0.90], bounds=(0.0, 1.0))
    assert clipped["ci_high"] == 1.0 and clipped["ci_low"] == wide["ci_low"]


def test_summary_of_one_seed_has_no_spread_or_interval():
    summary = stats.summarise([0.9])
    assert summary["seeds"] == 1 and summary["mean"] == 0.9
    assert np.isnan(summary["std"]) and np.isnan(summary["ci_low"]) and np.isnan(summary["ci_high"])


def test_t_interval_of_the_mean_covers_the_true_mean_in_a_simulation():
    rng = np.random.default_rng(2024)
    hits = sum(
        (s := stats.summarise(rng.normal(0.95, 0.005, size=5)))["ci_low"] <= 0.95 <= s["ci_high"]
        for _ in range(2000)
    )
    assert 0.935 <= hits / 2000 <= 0.965


def test_mcnemar_exact_matches_the_textbook_example():
    # b = 3 discordant one way, c = 12 the other: exact two-sided p = 0.0352 (a common
    # textbook table; the chi-square approximation would give 0.0201).
    a = np.array([1] * 3 + [0] * 12 + [1] * 50 + [0] * 5, dtype=bool)
    b = np.array([0] * 3 + [1] * 12 + [1] * 50 + [0] * 5, dtype=bool)
    test = stats.mcnemar_exact(a, b)
    assert (test["a_only"], test["b_only"]) == (3, 12)
    assert test["p_value"] == pytest.approx(0.03516, abs=1e-4)
    # No discordant image: no evidence either way.
    assert stats.mcnemar_exact(a, a)["p_value"] == 1.0


def test_holm_adjusts_step_down_and_keeps_the_input_order():
    # Holm (1979) style example: p = 0.01, 0.04, 0.03, 0.005 with m = 4:
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max-accumulated 0.06.
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # Adjusted values never fall below an earlier one's, nor exceed 1.
    assert stats.holm([0.6, 0.9]).tolist() == [1.0, 1.0]
    assert stats.holm([0.04, 0.3]).tolist() == pytest.approx([0.08, 0.3])
    assert len(stats.holm([])) == 0


def test_two_source_against_a_hand_computed_anova():
    """2 seeds x 3 images by hand: the mean squares, the standard error's two parts (which
    add up in squares), one seed (the images' t alone) and no difference at all."""
    y = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    mean, ms_seed, ms_image, ms_error = stats.crossed_mean_squares(y)
    assert mean == 0.5
    assert ms_seed == pytest.approx(3 * np.var([2 / 3, 1 / 3], ddof=1))
    assert ms_image == pytest.approx(2 * np.var([0.5, 1, 0], ddof=1))
    residual = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0) + y.mean()
    assert ms_error == pytest.approx((residual**2).sum() / 2)
    result = stats.two_source(y)
    assert result["seed_se"] ** 2 == pytest.approx(max(ms_seed - ms_error, 0) / 6, abs=1e-12)
    assert result["test_se"] ** 2 == pytest.approx(ms_image / 6)
    assert result["se"] ** 2 == pytest.approx(result["seed_se"] ** 2 + result["test_se"] ** 2)
    one = stats.two_source(y[:1])
    assert np.isnan(one["seed_se"]) and one["se"] == pytest.approx(np.std(y[0], ddof=1) / 3**0.5)
    assert one["p_value"] == pytest.approx(2 * t.sf(2 / 3 / one["se"], 2))
    same = stats.two_source(np.zeros((3, 10)))
    assert (same["ci_low"], same["ci_high"], same["p_value"]) == (0.0, 0.0, 1.0)


def test_parts_of_the_error_add_up_and_name_the_larger():
    """Seeds far apart on the same images: the seeds' part dominates, and the squares of
    the two parts make the total."""
    rng = np.random.default_rng(8)
    images = rng.random(500) < 0.9
    flips = rng.random((4, 500)) < np.array([0.01, 0.05, 0.10, 0.20])[:, None]
    result = stats.two_source((images ^ flips).astype(float))
    assert result["se"] ** 2 == pytest.approx(result["seed_se"] ** 2 + result["test_se"] ** 2)
    assert result["dominant"] == "seeds" and result["seed_se"] > result["test_se"] > 0


def test_generalized_p_value_is_the_t_and_the_normal_at_its_limits():
    """With no image term the generalized p-value is exactly the t test with the seeds'
    S - 1 degrees of freedom; with no seed term, the normal; in between it lies between
    them, and equals a direct numerical integral over the seeds' chi-square."""
    for df in (2, 4, 9):
        for z in (0.5, 2.0, 4.0, 8.0):
            p = stats.generalized_p_value(z, 1.0, 0.0, df)
            assert p == pytest.approx(2 * t.sf(z, df), rel=1e-4)
            assert stats.generalized_p_value(z, 0.0, 1.0, df) == pytest.approx(2 * norm.sf(z))
    between = float(stats.generalized_p_value(3.0, 0.5, 0.5, 2))
    integral = quad(lambda u: 2 * norm.sf(3 / np.sqrt(1 / u + 0.5)) * chi2.pdf(u, 2), 0, np.inf)
    assert between == pytest.approx(integral[0], rel=1e-4)
    assert 2 * norm.sf(3.0) < between < 2 * t.sf(3.0, 2)
    # The interval inverts the test: at its end the p-value is 1 - level.
    half = stats.generalized_half_width(0.5, 0.5, 2, 0.95)
    assert stats.generalized_p_value(half, 0.5, 0.5, 2) == pytest.approx(0.05, rel=1e-6)


# The simulations draw models scored under seeds on one test set with a known truth
# (scripts/mnist_study/simulation.py): about 95% accurate, 2,004 test images whose
# difficulty every model shares, and each model's own difficulty of each image and its
# seeds' effects in two regimes, one where the seeds dominate a difference's error and
# one where the test images do. Fixed random seeds; the bounds are those of issue 39, or
# derived from the regime's true variance parts (issue 51), and tests/test_verdicts.py
# adds the bundled sample's own regime, heavy-tailed and correlated seed effects.
SEED_COUNTS = (3, 5, 10)


@pytest.mark.parametrize("seeds", SEED_COUNTS)
@pytest.mark.parametrize("regime", ["seeds", "images"])
def test_pair_test_size_is_its_level_and_holm_holds_the_family(regime, seeds):
    """Eight equally good models, 1,600 replications, all 28 pairs tested: the share
    rejected at 0.05 lies in [3.5%, 6.5%]; the share of replications in which Holm's
    correction leaves any pair "supported" is at least 1% (a procedure that never
    rejects fails) and not above 5% beyond Monte Carlo error (5% + four standard errors
    of a 5% rate over 1,600 replications, 2.2 points: the Monte Carlo error a quarter of
    the allowance). Satterthwaite's t on the same draws gives 14-24% family-wise error
    at 3 seeds (bench/README.md)."""
    reps = 1600
    result = simulation.null_family(np.random.default_rng(seeds), regime, seeds, reps=reps)
    assert result["pairs"] == 28
    assert 0.035 <= result["size"] <= 0.065, result
    assert 0.01 <= result["fwer"] <= 0.05 + 4 * (0.05 * 0.95 / reps) ** 0.5, result


def derived_coverage(regime: str, seeds: int, model: bool) -> float:
    """The generalized interval's coverage under the crossed normal model with the
    regime's true variance parts (`simulation.true_components`): one less the test's
    rejection chance at the truth (the interval inverts the test)."""
    c = simulation.true_components(regime, model=model)
    seed_term = c["var_seeds"] / seeds + c["var_error"] / (seeds * simulation.IMAGES)
    image_term = c["var_images"] / simulation.IMAGES
    return 1 - float(stats.rejection_chance(seed_term, image_term, seeds - 1, 0.05))


@pytest.mark.parametrize("regime", ["seeds", "images"])
def test_intervals_cover_at_their_level_and_power_rises_with_seeds(regime):
    """Two models 0.1 log-odds apart (about half a point), 3,400 replications at 3, 5 and
    10 seeds: the difference's and the model's 95% intervals cover the truth within
    1.5 points of the coverage derived for the regime (`derived_coverage`: 95% where
    seeds matter; up to 96.4% where a model's seeds add nothing beyond the test images'
    noise, the generalized interval's price for not knowing that the seeds' part is
    nil), 1.5 points being four Monte Carlo standard errors of a 95% rate over 3,400,
    and the derived coverage itself within [93.5%, 96.5%]. The difference is found more
    often with more seeds; and at 10 seeds the one-source interval that ignores the
    regime's larger source fails the coverage check (images only where seeds dominate,
    seeds only where images do)."""
    found = []
    for seeds in SEED_COUNTS:
        result = simulation.interval_check(np.random.default_rng(100 + seeds), regime, seeds, 3400)
        for name, model in (("pair", False), ("model", True)):
            expected = derived_coverage(regime, seeds, model)
            assert 0.935 <= expected <= 0.965, (seeds, name, expected)
            assert abs(result[f"coverage_{name}"] - expected) <= 0.015, (seeds, name, result)
        found.append(result["power"])
    assert found[0] < found[1] < found[2], found
    one_source = "images_only_pair" if regime == "seeds" else "seeds_only_model"
    assert result[one_source] < 0.935, result


@pytest.mark.parametrize("seeds", SEED_COUNTS)
@pytest.mark.parametrize(
    ("regime", "parts", "helps"),
    [
        ("seeds", {"var_seeds": 4e-5, "var_images": 0.002, "var_error": 0.02}, "more seeds"),
        ("images", {"var_seeds": 1e-6, "var_images": 0.04, "var_error": 0.01}, "more test images"),
    ],
)
def test_detectable_difference_is_found_with_its_power(regime, parts, helps, seeds):
    """The smallest difference the design detects with 80% power at Holm's strictest level
    for three pairs (0.05 / 3), from known variance parts of a crossed normal model: true
    differences of exactly that size, 1,000 replications of 2,004 images, are found in
    75-85% of them (80% +- 4 Monte Carlo standard errors); a normal approximation that
    ignores the seeds' chi-square finds them in only 71% at 3 seeds where seeds
    dominate. Doubling the larger source shrinks the difference (what the advice says
    of it, from estimated parts, tests/test_verdicts.py checks)."""
    alpha, images, reps = 0.05 / 3, 2004, 1000
    design = {"seeds": seeds, "images": images} | parts
    found = stats.detectable_difference(design, alpha)
    rng = np.random.default_rng(seeds)
    p_values = []
    for _ in range(reps // 200):

        def draw(variance, shape):
            return np.float32(variance**0.5) * rng.standard_normal(shape, dtype=np.float32)

        y = (
            np.float32(found["mdd"])
            + draw(parts["var_seeds"], (200, seeds, 1))
            + draw(parts["var_images"], (200, 1, images))
            + draw(parts["var_error"], (200, seeds, images))
        )
        p_values.append(stats.crossed_test(y, interval=False)["p_value"])
    power = float((np.concatenate(p_values) < alpha).mean())
    assert 0.75 <= power <= 0.85, (found, power)
    # the seeds' degrees of freedom alone buy part of what twice the seeds buy
    assert found["mdd_seeds_x2"] < found["mdd_seeds_df"] < found["mdd"]
    larger = "mdd_seeds_x2" if helps == "more seeds" else "mdd_images_x2"
    assert found[larger] < 0.95 * found["mdd"]
