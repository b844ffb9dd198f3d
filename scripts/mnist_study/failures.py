"""The errors themselves, on the clean test set: per-class accuracy, the most confused
pairs of classes, and the images most models get wrong in most seeds.

Every function takes `runs`: {table model: {seed: {"label", "predicted"}}} over the same
test images in the same order (data.read_predictions of every run's file, checked
aligned). A failed run (no prediction, data.NO_PREDICTION) is left out, as the clean
tables leave it out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import stats
from .data import NO_PREDICTION
from .models import run_model


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


def voters(runs: dict) -> dict[str, list[str]]:
    """{voter: its table models} of `hard_images`: the kernels' SVMs, trained and saved
    by one job per seed (models.run_model: svm_kernels), are one voter; every other model
    is its own."""
    out: dict[str, list[str]] = {}
    for model in runs:
        out.setdefault(run_model(model), []).append(model)
    return out


def hard_images(runs: dict, classes: list[str], most: int = 24) -> pd.DataFrame:
    """The test images that most voters get wrong in most seeds.

    A voter is a registry model (models.MODELS), so the four kernels' SVMs, one job's
    models, vote as one, svm_kernels (`voters`): in a seed's run they get an image wrong
    when more than half of the kernels that scored the run do (3 or 4 of 4; a 2-2 split
    is not wrong), so that one job counts once, not once per kernel. A voter gets an
    image wrong if it is wrong in more than half its seeds, and an image is listed if
    more than half the voters get it wrong; at most `most`, those most voters and then
    most runs get wrong first. With its label, the majority answer (the label with most
    votes over every run, a run of the kernels splitting its one vote equally among its
    kernels' answers; among equals, the first answered), how many voters and runs (a
    run of the kernels counting once) got it wrong."""
    runs = usable(runs)
    groups = voters(runs)
    wrong_voters, wrong_runs, total_runs = None, None, 0
    answers = []  # (a run's predictions, their weight)
    for members in groups.values():
        seeds = sorted(set().union(*(runs[m] for m in members)))
        scored = [[runs[m][s] for m in members if s in runs[m]] for s in seeds]
        wrong = np.array(
            [np.mean([r["predicted"] != r["label"] for r in run], axis=0) > 0.5 for run in scored]
        )
        majority = wrong.mean(axis=0) > 0.5
        wrong_voters = majority.astype(int) if wrong_voters is None else wrong_voters + majority
        wrong_runs = wrong.sum(axis=0) if wrong_runs is None else wrong_runs + wrong.sum(axis=0)
        total_runs += len(wrong)
        answers += [(r["predicted"], 1 / len(run)) for run in scored for r in run]
        labels = scored[0][0]["label"]
    columns = ["image", "label", "majority_answer", "models_wrong", "runs_wrong", "share_wrong"]
    if not groups:
        return pd.DataFrame(columns=columns)
    flagged = np.flatnonzero(wrong_voters > len(groups) / 2)
    flagged = flagged[np.lexsort((flagged, -wrong_runs[flagged], -wrong_voters[flagged]))][:most]
    rows = []
    for image in flagged:
        votes: dict[int, float] = {}
        for predicted, weight in answers:
            votes[int(predicted[image])] = votes.get(int(predicted[image]), 0.0) + weight
        answer = max(votes, key=votes.__getitem__)
        rows.append(
            {
                "image": int(image),
                "label": classes[labels[image]],
                "majority_answer": classes[answer],
                "models_wrong": f"{int(wrong_voters[image])}/{len(groups)}",
                "runs_wrong": f"{int(wrong_runs[image])}/{total_runs}",
                "share_wrong": wrong_runs[image] / total_runs,
            }
        )
    return pd.DataFrame(rows, columns=columns)
