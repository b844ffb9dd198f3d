"""The errors themselves, on the clean test set: per-class accuracy, the most confused
pairs of classes, and the images most models get wrong in most seeds.

Every function takes `runs`: {table model: {seed: {"label", "predicted"}}} over the same
test images in the same order (data.read_predictions of every run's file, checked
aligned). A failed run (no prediction, data.NO_PREDICTION) is left out, as the clean
tables leave it out.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from . import stats
from .data import NO_PREDICTION


def usable(runs: dict) -> dict:
    """`runs` without the failed runs (any image without a prediction)."""
    out = {}
    for model, by_seed in runs.items():
        kept = {s: r for s, r in by_seed.items() if not np.any(r["predicted"] == NO_PREDICTION)}
        if kept:
            out[model] = kept
    return out


def per_class_accuracy(runs: dict, classes: list[str]) -> pd.DataFrame:
    """Each model's accuracy on each class's test images: the mean over seeds with its
    95% interval over seeds and test images (stats.two_source, as the clean tables')."""
    rows = []
    for model, by_seed in usable(runs).items():
        seeds = sorted(by_seed)
        labels = by_seed[seeds[0]]["label"]
        correct = np.array([by_seed[s]["predicted"] == by_seed[s]["label"] for s in seeds])
        for k, name in enumerate(classes):
            which = labels == k
            if not which.any():
                continue  # a class with no test image has no accuracy
            test = stats.two_source(correct[:, which].astype(float))
            rows.append(
                {
                    "model": model,
                    "class": name,
                    "images": int(which.sum()),
                    "seeds": len(seeds),
                    "accuracy": test["mean"],
                    "ci_low": max(test["ci_low"], 0.0),
                    "ci_high": min(test["ci_high"], 1.0),
                    "dominant": test["dominant"],
                }
            )
    return pd.DataFrame(rows)


def confused_pairs(runs: dict, classes: list[str], top: int = 10) -> pd.DataFrame:
    """The `top` (true class, predicted class) pairs most often confused, over every run
    of every model: the mean count per run, its share of the true class's images, the
    runs that made it at least once, and the model that made it most (mean per run)."""
    runs = usable(runs)
    n = len(classes)
    total = np.zeros((n, n))
    by_model, count = {}, 0
    labels = None
    for model, by_seed in runs.items():
        matrix = np.zeros((n, n))
        made = np.zeros((n, n))
        for r in by_seed.values():
            labels = r["label"]
            m = np.zeros((n, n))
            np.add.at(m, (r["label"], r["predicted"]), 1)
            matrix += m
            made += m > 0
        by_model[model] = (matrix / len(by_seed), made)
        total += matrix
        count += len(by_seed)
    if labels is None:
        return pd.DataFrame()
    np.fill_diagonal(total, 0)
    per_class = np.bincount(labels, minlength=n)
    order = np.argsort(-total, axis=None, kind="stable")[:top]
    rows = []
    for true, predicted in zip(*np.unravel_index(order, total.shape), strict=True):
        if total[true, predicted] == 0:
            break
        worst = max(by_model, key=lambda m: by_model[m][0][true, predicted])
        runs_made = int(sum(made[true, predicted] for _, made in by_model.values()))
        rows.append(
            {
                "true": classes[true],
                "predicted": classes[predicted],
                "per_run": total[true, predicted] / count,
                "share_of_class": total[true, predicted] / count / max(per_class[true], 1),
                "runs": f"{runs_made}/{count}",
                "most_by": worst,
                "most_by_per_run": by_model[worst][0][true, predicted],
            }
        )
    return pd.DataFrame(rows)


def hard_images(runs: dict, classes: list[str], most: int = 24) -> pd.DataFrame:
    """The test images that most models get wrong in most seeds: a model gets an image
    wrong if it is wrong in more than half its seeds, and an image is listed if more
    than half the models get it wrong; at most `most`, those most models and then most
    runs get wrong first. With its label, the majority answer of every run (the label
    most predicted), how many models and runs got it wrong."""
    runs = usable(runs)
    models = list(runs)
    wrong_models, wrong_runs, total_runs = None, None, 0
    answers = []
    for model in models:
        by_seed = runs[model]
        wrong = np.array([r["predicted"] != r["label"] for r in by_seed.values()])
        majority = wrong.mean(axis=0) > 0.5
        wrong_models = majority.astype(int) if wrong_models is None else wrong_models + majority
        wrong_runs = wrong.sum(axis=0) if wrong_runs is None else wrong_runs + wrong.sum(axis=0)
        total_runs += len(wrong)
        answers += [r["predicted"] for r in by_seed.values()]
        labels = next(iter(by_seed.values()))["label"]
    columns = ["image", "label", "majority_answer", "models_wrong", "runs_wrong", "share_wrong"]
    if not models:
        return pd.DataFrame(columns=columns)
    flagged = np.flatnonzero(wrong_models > len(models) / 2)
    flagged = flagged[np.lexsort((flagged, -wrong_runs[flagged], -wrong_models[flagged]))][:most]
    answers = np.array(answers)
    rows = []
    for image in flagged:
        answer = Counter(answers[:, image].tolist()).most_common(1)[0][0]
        rows.append(
            {
                "image": int(image),
                "label": classes[labels[image]],
                "majority_answer": classes[answer],
                "models_wrong": f"{int(wrong_models[image])}/{len(models)}",
                "runs_wrong": f"{int(wrong_runs[image])}/{total_runs}",
                "share_wrong": wrong_runs[image] / total_runs,
            }
        )
    return pd.DataFrame(rows, columns=columns)
