"""The statistics behind the tables, checked against known answers."""

import numpy as np
import pytest

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


def test_paired_bootstrap_interval_covers_the_true_difference():
    rng = np.random.default_rng(7)
    n, hits, trials = 1000, 0, 200
    for trial in range(trials):
        a = rng.random((2, n)) < 0.92
        b = rng.random((2, n)) < 0.90
        difference, low, high = stats.paired_difference_interval(a, b, seed=trial, resamples=2000)
        assert low <= difference <= high
        hits += low <= 0.02 <= high
    assert 0.9 <= hits / trials <= 0.99


def test_paired_bootstrap_of_identical_models_is_zero():
    a = np.random.default_rng(0).random((3, 200)) < 0.9
    assert stats.paired_difference_interval(a, a) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        stats.paired_difference_interval(a, a[:, :10])
