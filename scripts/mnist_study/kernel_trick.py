"""Seeded synthetic 2-D data for the kernel-trick intuition figures."""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC


def separable(n: int, rng: np.random.Generator):
    """Two classes split by the line x1 + x2 = 1.5 with an empty band around it."""
    X = rng.normal(0.0, 1.5, size=(n, 2))
    s = X.sum(axis=1)
    keep = (s > 2) | (s < 1)
    return X[keep], (s[keep] > 2).astype(int)


def overlapping(n: int, rng: np.random.Generator):
    """Two Gaussian clouds whose tails overlap: no line separates them exactly."""
    y = rng.integers(0, 2, size=n)
    centres = np.where(y[:, None] == 1, 1.2, -1.2)
    return centres + rng.normal(0.0, 1.2, size=(n, 2)), y


def concentric(n: int, rng: np.random.Generator):
    """An inner disc (r^2 < 8) and an outer ring (r^2 > 14)."""
    X = rng.normal(0.0, 3.0, size=(n, 2))
    r2 = (X**2).sum(axis=1)
    keep = (r2 < 8) | (r2 > 14)
    return X[keep], (r2[keep] < 8).astype(int)


def lift(X: np.ndarray) -> np.ndarray:
    """phi(x1, x2) = (x1^2, x2^2, sqrt(2) x1 x2), whose inner product is (x . y)^2."""
    return np.column_stack([X[:, 0] ** 2, X[:, 1] ** 2, np.sqrt(2) * X[:, 0] * X[:, 1]])


def linear_svm(X: np.ndarray, y: np.ndarray, C: float) -> SVC:
    return SVC(kernel="linear", C=C).fit(X, y)
