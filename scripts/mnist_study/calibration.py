"""Calibration: whether a model's confidence is its accuracy.

Top-label expected calibration error (Guo et al., 2017): each image's confidence is its
highest class probability; the images are put in `bins` equal-width bins of confidence,
(0, 1/B], (1/B, 2/B], ..., and ECE = sum over bins of (images in the bin / all images) x
|accuracy in the bin - mean confidence in the bin|. Only models that give probabilities
have one: the SVMs give decision values, and scikit-learn's Platt scaling would need
another fit on held-out training data, which this study does not make (marked not
applicable in the table).
"""

from __future__ import annotations

import numpy as np

BINS = 15


def top_label(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of each row: its highest probability, and whether its
    class is the label."""
    probabilities = np.asarray(probabilities, dtype=float)
    return probabilities.max(axis=-1), probabilities.argmax(axis=-1) == np.asarray(labels)


def bin_index(confidence: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The bin of each confidence: k for (k/B, (k+1)/B], 0 for a confidence of 0."""
    return np.clip(np.ceil(np.asarray(confidence) * bins).astype(int) - 1, 0, bins - 1)


def ece(confidence, correct, bins: int = BINS) -> float:
    """Expected calibration error of one run (module docstring)."""
    confidence = np.asarray(confidence, dtype=float)
    gap = np.bincount(
        bin_index(confidence, bins), weights=confidence - np.asarray(correct, float), minlength=bins
    )
    return float(np.abs(gap).sum() / len(confidence))


def reliability(confidence, correct, bins: int = BINS) -> dict:
    """Per bin: `count`, `confidence` (mean) and `accuracy` (NaN where empty)."""
    confidence = np.asarray(confidence, dtype=float).ravel()
    correct = np.asarray(correct, dtype=float).ravel()
    index = bin_index(confidence, bins)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "count": count,
            "confidence": np.bincount(index, confidence, bins) / count,
            "accuracy": np.bincount(index, correct, bins) / count,
        }


def ece_over_seeds(
    confidence, correct, bins: int = BINS, resamples: int = 1000, seed: int = 0, level=0.95
) -> dict:
    """Mean ECE over seeds of (seeds, images) arrays, with a bootstrap interval over both
    sources and the noise floor.

    Each resample draws the seeds and the test images with replacement (the same images
    for every seed drawn) and takes the mean ECE of the resampled runs; with one seed
    only the images are drawn. The ECE of a finite test set is biased upwards (the
    absolute value of each bin's noise), and a resample's more so, so the percentile
    interval is shifted by the resamples' mean excess over the estimate (a
    bias-corrected percentile interval): it covers the estimate's variability over
    seeds and images, not its bias. `floor` is that bias's size: the mean ECE of a
    perfectly calibrated model with the same confidences (each image right with
    probability its confidence) on as many images, over `resamples` // 10 draws; an
    ECE near it is as calibrated as this test set can show."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    seeds, images = confidence.shape
    mean = float(np.mean([ece(confidence[s], correct[s], bins) for s in range(seeds)]))
    # Each image's gap (confidence - correct) in its bin's column, per seed: a resample's
    # bin sums for every seed are then its image counts (how often each image was
    # drawn) times this matrix, all resamples in one product.
    columns = bin_index(confidence, bins) + np.arange(seeds)[:, None] * bins
    gaps = np.zeros((images, seeds * bins))
    gaps[np.arange(images)[None, :], columns] = confidence - correct
    rng = np.random.default_rng(seed)
    per_seed = np.empty((resamples, seeds))
    for start in range(0, resamples, 100):  # 100 resamples at a time, to bound the memory
        n = min(100, resamples - start)
        drawn_images = rng.integers(0, images, (n, images)) + np.arange(n)[:, None] * images
        counts = np.bincount(drawn_images.ravel(), minlength=n * images).reshape(n, images)
        sums = (counts @ gaps).reshape(n, seeds, bins)
        per_seed[start : start + n] = np.abs(sums).sum(axis=2) / images
    # The seeds drawn with replacement (how often each), the same images for each.
    drawn = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=resamples)
    draws = (drawn * per_seed).sum(axis=1) / seeds
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2]) - (draws.mean() - mean)
    floor = np.mean(
        [
            np.mean([ece(c, rng.random(images) < c, bins) for c in confidence])
            for _ in range(max(resamples // 10, 1))
        ]
    )
    return {
        "ece": mean,
        "ci_low": max(float(low), 0.0),
        "ci_high": float(high),
        "floor": float(floor),
        "seeds": seeds,
    }
