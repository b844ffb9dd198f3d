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
    index = bin_index(confidence, bins)
    gap = confidence - correct
    offsets = np.arange(seeds)[:, None] * bins
    mean = float(np.mean([ece(confidence[s], correct[s], bins) for s in range(seeds)]))
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for r in range(resamples):
        s = rng.integers(0, seeds, seeds) if seeds > 1 else np.zeros(1, dtype=int)
        i = rng.integers(0, images, images)
        sums = np.bincount(
            (index[np.ix_(s, i)] + offsets[: len(s)]).ravel(),
            weights=gap[np.ix_(s, i)].ravel(),
            minlength=len(s) * bins,
        )
        draws[r] = np.abs(sums.reshape(len(s), bins)).sum(axis=1).mean() / images
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
