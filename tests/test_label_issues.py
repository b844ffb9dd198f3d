"""The errors' label-issue candidates (mnist_study.label_issues, confident learning with
cleanlab) on a test set whose flipped labels are known, with recall and precision held
between bounds derived from how the set was made; and the hard images' vote, in which
the four kernels' SVMs of a run count as one model (failures.hard_images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mnist_study import failures, label_issues

CLASSES = 10
IMAGES = 2000
FLIPPED = 100  # 5% of the labels
UNSEEN = 0.25  # share of the flipped images whose networks learnt the wrong label
MISTAKEN = 0.02  # share of the correctly labelled images the networks get wrong
NETWORKS = ("nn_numpy", "mlp", "cnn")
SEEDS = (0, 1, 2)
# Each binomial count of the construction lies within its quantiles 1e-6 and 1 - 1e-6:
# the bounds below fail by chance with probability under 4e-6.
TAIL = 1e-6


def flipped_set(seed=0):
    """A test set with FLIPPED labels flipped to another class at random, and the runs of
    three networks (three seeds each) and two SVMs over it.

    Every image has one class the networks believe: its true class, except that each
    flipped image keeps its wrong label as the belief with probability UNSEEN (the
    networks learnt the mistake: nothing in the probabilities can reveal it), and each
    correctly labelled image gets another class at random with probability MISTAKEN (a
    network's mistake, which looks exactly like a flipped label). In each run the belief
    gets one probability for every image, drawn from U(0.95, 0.99), and each image's rest
    is spread over its other classes at random (a flat Dirichlet). The SVMs' decision
    values favour each image's given label: averaged with the probabilities, as they must
    not be, they would make every given label the top class and hide every flip.
    Returns (runs, true labels, given labels, beliefs)."""
    rng = np.random.default_rng(seed)
    true = np.arange(IMAGES) % CLASSES
    given = true.copy()
    flips = rng.choice(IMAGES, FLIPPED, replace=False)
    given[flips] = (true[flips] + rng.integers(1, CLASSES, FLIPPED)) % CLASSES
    belief = true.copy()
    flipped = given != true
    learnt = flipped & (rng.random(IMAGES) < UNSEEN)
    belief[learnt] = given[learnt]
    mistaken = ~flipped & (rng.random(IMAGES) < MISTAKEN)
    belief[mistaken] = (true[mistaken] + rng.integers(1, CLASSES, mistaken.sum())) % CLASSES
    runs = {}
    for model in NETWORKS:
        runs[model] = {}
        for s in SEEDS:
            top = np.full(IMAGES, rng.uniform(0.95, 0.99))
            rest = rng.dirichlet(np.ones(CLASSES - 1), IMAGES) * (1 - top)[:, None]
            scores = np.empty((IMAGES, CLASSES))
            others = np.arange(CLASSES)[None, :] != belief[:, None]
            scores[others] = rest.reshape(-1)
            scores[np.arange(IMAGES), belief] = top
            runs[model][s] = {
                "label": given,
                "predicted": belief,
                "scores": scores.astype(np.float32),
            }
    for model in ("svm_linear", "svm_rbf"):
        decision = np.where(np.arange(CLASSES)[None, :] == given[:, None], 9.0, -1.0)
        runs[model] = {
            s: {"label": given, "predicted": given, "scores": decision.astype(np.float32)}
            for s in SEEDS
        }
    return runs, true, given, belief


def test_confident_learning_finds_the_flipped_labels_the_probabilities_reveal():
    # Why the method should flag exactly the images whose belief is not their given label
    # (the F flipped ones the networks did not learn, and the C mistaken ones): averaged
    # over the runs, every belief has the same probability b (the runs' mean, at least
    # 0.95) and every other class at most 0.05. The per-class threshold of confident
    # learning, the mean probability of a class over the images labelled with it, is
    # then at most b (b where every image of the class believes it, less where some do
    # not) and far above 0.05, so each image is counted confidently in its belief alone,
    # and the counts of (given, belief) pairs are exact; for each pair it flags that
    # many images of the given class, those of largest margin (at least 0.9 for the
    # pair's own images, at most 0.05 for any other), and never an image whose top class
    # is its label.
    # So recall = F / FLIPPED and precision = F / (F + C), with F ~ Binomial(FLIPPED,
    # 1 - UNSEEN) and C ~ Binomial(IMAGES - FLIPPED, MISTAKEN): their TAIL quantiles
    # bound both from both sides (precision rises with F and falls with C). Flagging
    # every image (precision 0.05), none, or the SVMs' decision values averaged in (no
    # flip found) falls outside.
    runs, true, given, belief = flipped_set()
    table = label_issues.label_issues(runs, [str(k) for k in range(CLASSES)])
    flagged = table["image"].to_numpy()
    assert len(set(flagged)) == len(flagged)
    hits = int((given[flagged] != true[flagged]).sum())
    recall, precision = hits / FLIPPED, hits / max(len(flagged), 1)
    found = stats.binom(FLIPPED, 1 - UNSEEN)
    false = stats.binom(IMAGES - FLIPPED, MISTAKEN)
    f_low, f_high = found.ppf(TAIL), found.isf(TAIL)
    c_low, c_high = false.ppf(TAIL), false.isf(TAIL)
    assert f_low / FLIPPED <= recall <= f_high / FLIPPED, recall
    assert f_low / (f_low + c_high) <= precision <= f_high / (f_high + c_low), precision
    # none of those the probabilities cannot reveal: a flagged image's top class is
    # never its label, and the suggestion is that top class, the networks' belief
    assert (table["suggested"].astype(int).to_numpy() == belief[flagged]).all()
    assert (belief[flagged] != given[flagged]).all()


def test_the_table_ranks_by_the_averaged_probability_of_the_given_label():
    # The score is cleanlab's self-confidence: the averaged, renormalised probability of
    # the given label, recomputed here from the runs; rows rise in it, `rank` counts all
    # candidates while `most` caps the rows, and only the networks are named as averaged.
    runs, _, given, _ = flipped_set()
    full = label_issues.label_issues(runs, [str(k) for k in range(CLASSES)])
    capped = label_issues.label_issues(runs, [str(k) for k in range(CLASSES)], most=5)
    mean = np.mean([[r["scores"] for r in runs[m].values()] for m in NETWORKS], axis=(0, 1))
    mean /= mean.sum(axis=1, keepdims=True)
    images = full["image"].to_numpy()
    assert np.allclose(full["label_quality"], mean[images, given[images]], atol=1e-6)
    assert np.allclose(full["suggested_probability"], mean[images].max(axis=1), atol=1e-6)
    assert (np.diff(full["label_quality"]) >= 0).all()
    assert capped["image"].tolist() == full["image"].tolist()[:5]
    assert capped["rank"].tolist() == [f"{k}/{len(full)}" for k in range(1, 6)]
    # ... by their short names (models.short_name), as the conclusions name them.
    assert set(full["averaged_over"]) == {"numpy network, Keras MLP, Keras CNN (3 seeds each)"}


def test_failed_runs_and_a_missing_network_change_what_is_averaged():
    # A diverged run (no finite score) is left out of its network's mean; with no
    # network left, no candidate and an empty table of the usual columns.
    runs, *_ = flipped_set()
    runs["mlp"][1]["predicted"] = np.full(IMAGES, -1)
    runs["mlp"][1]["scores"] = np.full((IMAGES, CLASSES), np.nan, dtype=np.float32)
    _, _, seeds = label_issues.averaged_probabilities(runs)
    assert seeds == {"nn_numpy": [0, 1, 2], "mlp": [0, 2], "cnn": [0, 1, 2]}
    assert label_issues.describe(seeds) == (
        "numpy network (3 seeds), Keras MLP (2 seeds), Keras CNN (3 seeds)"
    )
    svms = {m: runs[m] for m in ("svm_linear", "svm_rbf")}
    empty = label_issues.label_issues(svms, [str(k) for k in range(CLASSES)])
    assert empty.empty and list(empty.columns) == label_issues.COLUMNS


KERNEL_SVMS = ("svm_linear", "svm_poly", "svm_sigmoid", "svm_rbf")


def kernel_runs():
    """Four kernels' SVMs and two networks over 8 images of 4 classes, three seeds, every
    answer right except those set below (p: label + 1, q: label + 2)."""
    labels = np.arange(8) % 4
    runs = {
        model: {s: {"label": labels, "predicted": labels.copy()} for s in SEEDS}
        for model in (*KERNEL_SVMS, "nn_numpy", "mlp")
    }

    def wrong(image, models, answer, seeds=SEEDS):
        for model in models:
            for s in seeds:
                runs[model][s]["predicted"][image] = (labels[image] + answer) % 4

    # image 1: all four kernels wrong, both networks right: one model of three
    wrong(1, KERNEL_SVMS, 1)
    # image 2: three kernels answer p, the networks q: all three models wrong, and the
    # majority answer is q (2 votes a run against the kernels' 3/4 for p)
    wrong(2, KERNEL_SVMS[:3], 1)
    wrong(2, ("nn_numpy", "mlp"), 2)
    # image 3: two kernels of four wrong (not most of them) and one network: one model
    wrong(3, KERNEL_SVMS[:2], 1)
    wrong(3, ("nn_numpy",), 2)
    # image 4: three kernels wrong in two seeds of three (wrong in most), the numpy
    # network in every seed: two models of three, 2 + 3 runs of 9
    wrong(4, KERNEL_SVMS[:3], 1, seeds=(0, 1))
    wrong(4, ("nn_numpy",), 2)
    return runs


def test_a_run_of_the_kernel_svms_votes_once_in_the_hard_images():
    # Counted per kernel, image 1 would be wrong for 4 of 6 models and listed, image 3
    # for 3 of 6 (with a 2-2 split counted wrong, 2 of 3 models); as one model wrong
    # when most kernels are, neither is. Images 2 and 4 are listed, most models first.
    runs = kernel_runs()
    assert failures.voters(runs) == {
        "svm_kernels": list(KERNEL_SVMS),
        "nn_numpy": ["nn_numpy"],
        "mlp": ["mlp"],
    }
    table = failures.hard_images(runs, ["w", "x", "y", "z"])
    assert table["image"].tolist() == [2, 4]
    first, second = table.iloc[0], table.iloc[1]
    assert (first["label"], first["majority_answer"]) == ("y", "w")  # label 2, q = 0
    assert (first["models_wrong"], first["runs_wrong"]) == ("3/3", "9/9")
    assert (second["models_wrong"], second["runs_wrong"]) == ("2/3", "5/9")
    assert second["share_wrong"] == 5 / 9


def test_hard_images_without_kernels_count_every_model():
    # With no kernel SVM every model is its own voter, as before.
    runs = kernel_runs()
    for model in KERNEL_SVMS:
        del runs[model]
    runs["cnn"] = {s: {k: v.copy() for k, v in r.items()} for s, r in runs["mlp"].items()}
    assert set(failures.voters(runs)) == {"nn_numpy", "mlp", "cnn"}
    # image 2: all three networks wrong (nn_numpy and mlp, and cnn as a copy of mlp)
    table = failures.hard_images(runs, ["w", "x", "y", "z"])
    assert table["image"].tolist() == [2]
    assert isinstance(table, pd.DataFrame) and table.iloc[0]["models_wrong"] == "3/3"
