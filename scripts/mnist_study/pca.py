"""Principal component analysis of the training images."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA


def fit_pca(X: np.ndarray, n_components: int | None, solver: str, seed: int = 0) -> PCA:
    """Fit PCA on the rows of X.

    `covariance_eigh` eigendecomposes the 784x784 covariance matrix, one pass over
    the data: the fastest exact solver when samples far outnumber features.
    """
    kwargs = {"random_state": seed} if solver in ("randomized", "arpack") else {}
    if solver == "arpack" and n_components in (None, X.shape[1]):
        raise ValueError("the arpack solver cannot compute all components; use covariance_eigh")
    return PCA(n_components=n_components, svd_solver=solver, **kwargs).fit(X)


def variance_table(pca: PCA) -> pd.DataFrame:
    ratio = pca.explained_variance_ratio_
    return pd.DataFrame(
        {
            "component": np.arange(1, len(ratio) + 1),
            "explained_variance_ratio": ratio,
            "cumulative": np.cumsum(ratio),
        }
    )


def components_for_levels(cumulative: np.ndarray, levels) -> pd.DataFrame:
    """The smallest number of components whose cumulative ratio reaches each level."""
    cumulative = np.asarray(cumulative)
    rows = []
    for level in sorted(levels):
        # A small tolerance so that 1.0 is reached despite rounding in the sum.
        reached = np.flatnonzero(cumulative >= level - 1e-9)
        rows.append(
            {
                "variance_level": level,
                "components": int(reached[0]) + 1 if len(reached) else None,
                "cumulative_at_that_count": float(cumulative[reached[0]]) if len(reached) else None,
            }
        )
    return pd.DataFrame(rows)
