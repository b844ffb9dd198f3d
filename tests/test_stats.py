"""The statistics behind the tables, checked against known answers."""

import numpy as np
import pytest
from scipy.special import expit

from mnist_study import stats


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


# The simulations below draw per-image correctness from a model with a known effect of
# the seed and of the test image, on the logit scale: a run with seed effect u scores
# test image i (difficulty v_i) correctly with probability expit(mu + u + v_i), u and v
# normal, as retraining and new test images would draw them. The estimand is the
# accuracy over both populations, E[expit(mu + u + v)]. Settings near the bundled
# sample's MLP: mean accuracy about 0.95, a seed spread of about half a point, 2,000
# test images whose difficulty varies widely.
MU, SEED_SD, IMAGE_SD, IMAGES = 2.944, 0.15, 2.0, 2000


def truth(mu, seed_sd=SEED_SD, image_sd=IMAGE_SD):
    draws = np.random.default_rng(99).normal(size=(2, 1_000_000))
    return float(expit(mu + seed_sd * draws[0] + image_sd * draws[1]).mean())


def simulate(rng, seeds, mu=MU, images=None, seed_sd=SEED_SD):
    """(seeds, images) correct/wrong of one model; `images` shares the test images'
    difficulty between models (as one test set does)."""
    if images is None:
        images = rng.normal(0, IMAGE_SD, IMAGES)
    u = rng.normal(0, seed_sd, seeds)
    return rng.random((seeds, len(images))) < expit(mu + u[:, None] + images[None, :])


def test_two_source_interval_covers_the_accuracy_over_seeds_and_images():
    # 1,000 replications of five seeds on 2,000 new test images each.
    rng, target, replications = np.random.default_rng(1), truth(MU), 1000
    hits = 0
    for _ in range(replications):
        result = stats.two_source(simulate(rng, 5))
        hits += result["ci_low"] <= target <= result["ci_high"]
    assert hits / replications >= 0.93


def test_two_source_paired_interval_covers_the_true_difference():
    # 1,000 replications: two models half a point apart on the same test images, each
    # image's difficulty shared, five seeds each.
    rng, replications, hits = np.random.default_rng(2), 1000, 0
    target = truth(MU) - truth(MU - 0.06)
    assert 0.003 < target < 0.007  # about half a point
    for _ in range(replications):
        images = rng.normal(0, IMAGE_SD, IMAGES)
        a, b = simulate(rng, 5, MU, images), simulate(rng, 5, MU - 0.06, images)
        result = stats.two_source(a.astype(float) - b, seeds_df=True)
        hits += result["ci_low"] <= target <= result["ci_high"]
    assert hits / replications >= 0.93


def test_more_seeds_give_a_half_point_difference_more_power():
    # 400 replications each with 3 and with 10 seeds: how often the difference of two
    # models half a point apart is "supported" (p < 0.05).
    rng, replications = np.random.default_rng(3), 400
    supported = {}
    for seeds in (3, 10):
        count = 0
        for _ in range(replications):
            images = rng.normal(0, IMAGE_SD, IMAGES)
            a, b = simulate(rng, seeds, MU, images), simulate(rng, seeds, MU - 0.06, images)
            count += stats.two_source(a.astype(float) - b, seeds_df=True)["p_value"] < 0.05
        supported[seeds] = count / replications
    assert supported[10] > supported[3], supported


def test_holm_keeps_false_verdicts_rare_across_28_pairs():
    # 400 replications of 8 models with no true difference (5 seeds each, one test set):
    # in how many does Holm's correction across the 28 pairs leave any pair "supported"?
    rng, replications, models = np.random.default_rng(4), 400, 8
    any_false = 0
    for _ in range(replications):
        images = rng.normal(0, IMAGE_SD, IMAGES)
        runs = [simulate(rng, 5, MU, images).astype(float) for _ in range(models)]
        p = [
            stats.two_source(runs[i] - runs[j], seeds_df=True)["p_value"]
            for i in range(models)
            for j in range(i + 1, models)
        ]
        assert len(p) == 28
        any_false += bool((stats.holm(p) < 0.05).any())
    assert any_false / replications <= 0.05


def test_two_source_against_a_hand_computed_anova():
    # 2 seeds x 3 images, grand mean 0.5: the two-way analysis of variance by hand.
    y = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    result = stats.two_source(y)
    assert result["mean"] == 0.5
    ms_seed, ms_image = 3 * np.var([2 / 3, 1 / 3], ddof=1), 2 * np.var([0.5, 1, 0], ddof=1)
    residual = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0) + y.mean()
    ms_error = (residual**2).sum() / 2
    assert result["se"] == pytest.approx(np.sqrt((ms_seed + ms_image) / 6))
    assert result["seed_se"] == pytest.approx(np.sqrt(max(ms_seed - ms_error, 0) / 6))
    df = (ms_seed + ms_image) ** 2 / (ms_seed**2 / 1 + ms_image**2 / 2)
    assert result["df"] == pytest.approx(df) and stats.two_source(y, seeds_df=True)["df"] == 1
    # One seed: the images' part alone; no difference at all: a zero-width interval.
    one = stats.two_source(y[:1])
    assert np.isnan(one["seed_se"]) and one["se"] == pytest.approx(
        np.std(y[0], ddof=1) / np.sqrt(3)
    )
    same = stats.two_source(np.zeros((3, 10)))
    assert (same["ci_low"], same["ci_high"], same["p_value"]) == (0.0, 0.0, 1.0)
