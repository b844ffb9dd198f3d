"""Which test labels are likely wrong: confident learning (Northcutt, Jiang and Chuang,
2021) with cleanlab, on the networks' test-set probabilities averaged over their seeds.

`runs` is {table model: {seed: {"label", "predicted", "scores"}}}, as in failures.py.
Only the models whose scores are class probabilities take part
(robustness.gives_probabilities: the numpy network, the MLP and the CNN); the SVMs'
decision values are no probabilities and are left out. No model saw a test image in
training, so these probabilities are out of sample, as confident learning needs (it is
usually fed cross-validated ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .failures import usable
from .models import short_name
from .robustness import gives_probabilities

COLUMNS = [
    "rank",
    "image",
    "label",
    "suggested",
    "label_quality",
    "suggested_probability",
    "averaged_over",
]


def averaged_probabilities(runs: dict) -> tuple[np.ndarray | None, np.ndarray | None, dict]:
    """(probabilities, labels, {model: seeds}): each probability-giving model's scores
    averaged over its seeds (failed runs left out, failures.usable), then the models
    averaged with equal weight, each row renormalised to sum to 1 (the files hold
    float32). (None, None, {}) when no such model has a run."""
    runs = {m: by_seed for m, by_seed in usable(runs).items() if gives_probabilities(m)}
    if not runs:
        return None, None, {}
    per_model = [
        np.mean([r["scores"].astype(np.float64) for r in by_seed.values()], axis=0)
        for by_seed in runs.values()
    ]
    probabilities = np.clip(np.mean(per_model, axis=0), 0.0, None)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = np.asarray(next(iter(next(iter(runs.values())).values()))["label"], dtype=np.int64)
    return probabilities, labels, {m: sorted(by_seed) for m, by_seed in runs.items()}


def describe(seeds: dict) -> str:
    """The models averaged, by their short names (models.short_name), and their seeds:
    "numpy network, Keras MLP, Keras CNN (3 seeds each)", or each model's count where
    they differ."""
    counts = {len(s) for s in seeds.values()}
    if len(counts) == 1:
        (n,) = counts
        return f"{', '.join(map(short_name, seeds))} ({n} seed{'s' if n != 1 else ''} each)"
    return ", ".join(f"{short_name(m)} ({len(s)} seeds)" for m, s in seeds.items())


def find(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(candidates, scores): the images confident learning flags
    (cleanlab.filter.find_label_issues, its default prune_by_noise_rate), most suspect
    first, and every image's label-quality score (cleanlab.rank.get_label_quality_scores,
    self-confidence: the probability of the given label, lower is more suspect). One
    process (n_jobs=1): the rule has one thread, and the result does not depend on it."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    candidates = find_label_issues(
        labels, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1
    )
    scores = get_label_quality_scores(labels, probabilities, method="self_confidence")
    return np.asarray(candidates, dtype=np.int64), scores


def label_issues(runs: dict, classes: list[str], most: int | None = None) -> pd.DataFrame:
    """The label-issue candidates of the test set, lowest label quality first, at most
    `most` (None: all): each with its rank among all candidates ("1/57"), its index, its
    given label, the suggested one (the averaged probabilities' top class), the
    label-quality score, the suggested class's probability, and which models were
    averaged over how many seeds (describe)."""
    probabilities, labels, seeds = averaged_probabilities(runs)
    if probabilities is None:
        return pd.DataFrame(columns=COLUMNS)
    candidates, scores = find(labels, probabilities)
    suggested = probabilities.argmax(axis=1)
    averaged = describe(seeds)
    rows = [
        {
            "rank": f"{k + 1}/{len(candidates)}",
            "image": int(image),
            "label": classes[labels[image]],
            "suggested": classes[suggested[image]],
            "label_quality": float(scores[image]),
            "suggested_probability": float(probabilities[image, suggested[image]]),
            "averaged_over": averaged,
        }
        for k, image in enumerate(candidates[:most])
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def gallery_captions(table: pd.DataFrame) -> list[str]:
    """Each candidate's caption in the gallery: index, label -> suggestion, score."""
    return [
        f"#{r.image}: {r.label} -> {r.suggested}\nquality {r.label_quality:.2f}"
        for r in table.itertuples()
    ]
