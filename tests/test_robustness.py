"""The robustness stage: the corruptions, the calibration error, the errors' tables and the
summary figures, each on data whose answer is known (fast); then, on the shared pipeline
run, the scoring itself (identity scores the clean accuracy exactly, the Keras models to
float32 rounding, labels kept) and what adding a corruption plans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import IMPORTS, ROOT, override, planned_counts, real_digits, suite_settings
from mnist_study import (
    calibration,
    corruptions,
    data,
    failures,
    results,
    robustness,
    robustness_figures,
    scoring,
)
from mnist_study.data import NO_PREDICTION
from mnist_study.models import KERAS, MODELS, short_name

DIGITS = real_digits(60)[0].reshape(-1, 28, 28)


def corrupted(name, seed=0, images=DIGITS):
    return corruptions.corrupt(images, name, corruptions.BENCHMARK_SEVERITY[name], seed)


# --- the corruptions ---


def test_identity_leaves_every_pixel_as_it_was():
    assert np.array_equal(corrupted("identity"), DIGITS)


@pytest.mark.parametrize("name", corruptions.BENCHMARK)
def test_each_corruption_changes_every_image_within_range_and_is_its_own_draw(name):
    # Every one of MNIST-C's corruptions changes each digit (no image passes through
    # untouched), keeps the shape (the images' count: the labels are the clean set's,
    # checked on the pipeline's files below), dtype and [0, 1] range, and gives the same
    # images for the same seed.
    out = corrupted(name)
    assert out.shape == DIGITS.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    changed = np.abs(out - DIGITS).reshape(len(DIGITS), -1).max(axis=1)
    assert (changed > 0.05).all(), f"{name}: {np.sum(changed <= 0.05)} images untouched"
    assert np.array_equal(out, corrupted(name))


@pytest.mark.parametrize("name", ["shot_noise", "impulse_noise", "rotate", "zigzag", "fog"])
def test_a_random_corruption_draws_from_its_seed(name):
    assert not np.array_equal(corrupted(name, seed=0), corrupted(name, seed=1))


def test_corruptions_do_what_their_names_say():
    images = DIGITS
    # brightness: every pixel up by the severity's 0.5, capped at 1
    assert np.allclose(corrupted("brightness"), np.minimum(images + 0.5, 1), atol=1e-6)
    # stripe: the 7 outer columns on each side inverted, the middle kept
    out = corrupted("stripe")
    assert np.allclose(out[:, :, :7], 1 - images[:, :, :7])
    assert np.array_equal(out[:, :, 7:21], images[:, :, 7:21])
    # translate: the ink moves by 3 pixels on each axis, either way
    ink = images.sum(axis=(1, 2)) > 0
    moved = corrupted("translate")
    rows = np.arange(28)

    def centre(x):
        return np.array(
            [(x.sum(axis=2) * rows).sum(axis=1), (x.sum(axis=1) * rows).sum(axis=1)]
        ) / x.sum(axis=(1, 2))

    shift = np.abs(centre(moved[ink]) - centre(images[ink]))
    assert np.median(shift) == pytest.approx(3, abs=0.3)
    # rotate keeps most of the ink, moves it about the centre
    turned = corrupted("rotate")
    ratio = turned.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert 0.85 < np.median(ratio) < 1.1
    # canny edges: a binary edge map
    assert set(np.unique(corrupted("canny_edges"))) <= {0.0, 1.0}
    # shot noise at severity 5: Poisson counts of 3 photons at full intensity, so every
    # pixel is a multiple of 1/3 and a black pixel stays black
    noisy = corrupted("shot_noise")
    assert np.allclose(noisy * 3, np.round(noisy * 3), atol=1e-5)
    assert (noisy[images == 0] == 0).all() and len(np.unique(noisy)) == 4


def test_severity_and_name_are_checked():
    with pytest.raises(ValueError, match="severity 6"):
        corruptions.corrupt(DIGITS, "rotate", 6, 0)
    with pytest.raises(ValueError, match="unknown corruption"):
        corruptions.corrupt(DIGITS, "snow", 1, 0)


def test_the_config_schema_lists_every_corruption_at_its_benchmark_severity():
    settings = suite_settings()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert config["robustness"]["corruptions"] == corruptions.BENCHMARK
    assert config["robustness"]["severity"] == corruptions.BENCHMARK_SEVERITY
    assert "identity" in settings["robustness"]["corruptions"]


# --- calibration ---


def test_ece_equals_a_hand_calculation():
    # Three bins: (0, 1/3], (1/3, 2/3], (2/3, 1].
    # bin 2: confidences 0.9, 0.8, 0.7, 0.9 (mean 0.825), 3 of 4 right (0.75): |gap| 0.075
    # bin 1: confidences 0.6, 0.5 (mean 0.55), 0 of 2 right: |gap| 0.55
    # ECE = 4/6 * 0.075 + 2/6 * 0.55 = 0.05 + 0.18333 = 0.23333
    confidence = np.array([0.9, 0.8, 0.7, 0.9, 0.6, 0.5])
    correct = np.array([1, 1, 0, 1, 0, 0])
    assert calibration.ece(confidence, correct, bins=3) == pytest.approx(0.05 + 0.55 / 3)
    # a confidence of exactly 2/3 belongs to (1/3, 2/3]
    assert calibration.bin_index(np.array([2 / 3, 1.0, 0.34]), 3).tolist() == [1, 2, 1]
    curve = calibration.reliability(confidence, correct, bins=3)
    assert curve["count"].tolist() == [0, 2, 4]
    assert curve["accuracy"][2] == pytest.approx(0.75)
    assert curve["confidence"][1] == pytest.approx(0.55)


def test_top_label_confidence_and_correctness():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    confidence, correct = calibration.top_label(probabilities, np.array([0, 1]))
    assert confidence.tolist() == [0.7, 0.6] and correct.tolist() == [True, False]


def test_ece_interval_holds_its_estimate_and_tells_calibrated_from_overconfident():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1, (5, 3000))
    honest = rng.random(confidence.shape) < confidence
    overconfident = rng.random(confidence.shape) < confidence - 0.15
    calm = calibration.ece_over_seeds(confidence, honest, resamples=300)
    bold = calibration.ece_over_seeds(confidence, overconfident, resamples=300)
    for result in (calm, bold):
        assert result["ci_low"] <= result["ece"] <= result["ci_high"]
    # a calibrated model sits at the noise floor; 0.15 of overconfidence shows as ~0.15
    assert abs(calm["ece"] - calm["floor"]) < 0.01
    assert 0.12 < bold["ece"] < 0.18 and bold["ci_low"] > calm["ci_high"]


# --- the tables, on runs whose answers are known ---


def toy_runs(n=40, seeds=(0, 1, 2), accuracy=None, classes=4, seed=0):
    """{model: {seed: run}}: `accuracy` {model: share right}, wrong answers label + 1."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    runs = {}
    for model, share in (accuracy or {"a": 0.9, "b": 0.6}).items():
        runs[model] = {}
        for s in seeds:
            right = rng.random(n) < share
            predicted = np.where(right, labels, (labels + 1) % classes)
            scores = np.full((n, classes), 0.1 / (classes - 1))
            scores[np.arange(n), predicted] = 0.9
            runs[model][s] = {"label": labels, "predicted": predicted, "scores": scores}
    return runs


def test_per_class_accuracy_and_confused_pairs():
    runs = toy_runs(accuracy={"a": 1.0, "b": 0.0})
    classes = ["w", "x", "y", "z"]
    table = failures.per_class_accuracy(runs, classes)
    assert len(table) == 8
    assert table.loc[table["model"] == "a", "accuracy"].tolist() == [1.0] * 4
    assert table.loc[table["model"] == "b", "accuracy"].tolist() == [0.0] * 4
    pairs = failures.confused_pairs(runs, classes)
    # b always answers the next class: 10 images of each class per run, over 6 runs
    assert set(zip(pairs["true"], pairs["predicted"], strict=True)) == {
        ("w", "x"),
        ("x", "y"),
        ("y", "z"),
        ("z", "w"),
    }
    assert pairs["per_run"].tolist() == [10 / 6 * 3] * 4 and set(pairs["most_by"]) == {"b"}


def test_hard_images_are_those_most_models_get_wrong_in_most_seeds():
    runs = toy_runs(n=8, accuracy={"a": 1.0, "b": 1.0, "c": 1.0})
    # image 3: wrong for a and b in 2 of 3 seeds (most models, most seeds);
    # image 5: wrong for a in every seed only (one model of three: not listed)
    for model, seeds in (("a", (0, 1)), ("b", (1, 2))):
        for s in seeds:
            runs[model][s]["predicted"] = runs[model][s]["predicted"].copy()
            runs[model][s]["predicted"][3] = 0
    for s in (0, 1, 2):
        runs["a"][s]["predicted"][5] = 2
    table = failures.hard_images(runs, ["w", "x", "y", "z"])
    assert table["image"].tolist() == [3]
    row = table.iloc[0]
    assert (row["label"], row["majority_answer"], row["models_wrong"], row["runs_wrong"]) == (
        "z",
        "z",
        "2/3",
        "4/9",
    )


def test_a_failed_run_is_left_out():
    runs = toy_runs()
    runs["b"][1]["predicted"] = np.full(40, NO_PREDICTION)
    assert set(failures.usable(runs)["b"]) == {0, 2}


def test_mce_and_relative_mce_are_the_averages_of_the_errors():
    clean = toy_runs(accuracy={"a": 0.9, "b": 0.8}, seed=1)
    corrupted = {
        "identity": clean,
        "one": toy_runs(accuracy={"a": 0.7, "b": 0.3}, seed=2),
        "two": toy_runs(accuracy={"a": 0.5, "b": 0.4}, seed=3),
    }
    table = robustness.corruption_errors(clean, corrupted).set_index("model")
    acc = robustness.accuracy_table(clean, corrupted).set_index(["model", "condition"])
    for model in ("a", "b"):
        errors = [1 - acc.loc[(model, c), "accuracy"] for c in ("one", "two")]
        assert table.loc[model, "mce"] == pytest.approx(np.mean(errors))
        clean_error = 1 - acc.loc[(model, "clean"), "accuracy"]
        assert table.loc[model, "relative_mce"] == pytest.approx(np.mean(errors) - clean_error)
        assert acc.loc[(model, "identity"), "accuracy"] == acc.loc[(model, "clean"), "accuracy"]
        row = table.loc[model]
        assert row["mce_ci_low"] <= row["mce"] <= row["mce_ci_high"]
    assert table.index[0] == "a" and table.loc["a", "corruptions"] == 2
    pairs = robustness.robustness_comparison(clean, corrupted)
    assert pairs[["model_a", "model_b"]].values.tolist() == [["a", "b"]]
    assert pairs["difference"].iloc[0] > 0
    summary = table.reset_index()
    said = robustness.conclusions(summary, pairs, {"a": "model A"})
    mce = summary.iloc[0]
    assert len(said) == 1 and said[0].startswith(
        f"Most robust: model A, {100 * mce['mce']:.1f}% error ({100 * mce['mce_ci_low']:.1f}-"
    )
    assert f"under 2 corruptions, {100 * mce['clean_error']:.1f}% clean;" in said[0]
    supported = bool(pairs["supported"].iloc[0])
    support, cannot = "support it over every other model", "cannot tell it from any other"
    assert (support in said[0], cannot in said[0]) == (supported, not supported)
    flipped = robustness.conclusions(summary, pairs.assign(supported=not supported), {})[0]
    assert (support in flipped, cannot in flipped) == (not supported, supported)


def test_calibration_table_marks_the_svms_not_applicable():
    clean = toy_runs(accuracy={"svm_rbf": 0.9, "mlp": 0.9})
    table = robustness.calibration_table(clean, {"one": clean}, 15, 100, 0)
    svm = table[table["model"] == "svm_rbf"]
    assert svm["ece"].isna().all() and svm["note"].str.startswith("not applicable").all()
    mlp = table[table["model"] == "mlp"]
    # confidence 0.9 everywhere, accuracy about 0.9: a small ECE, one bin
    assert mlp["ece"].notna().all() and (mlp["ece"] < 0.1).all()
    assert isinstance(table, pd.DataFrame) and set(table["condition"]) == {"clean", "one"}


def test_the_figures_and_the_sentence_name_each_model_by_its_label():
    # The heatmap's rows by the table's label column (results.with_labels), not the code
    # names; the front page's robustness sentence by the model's short name, as the clean
    # conclusions name it (models.short_name) unless told otherwise.
    clean = toy_runs(accuracy={"svm_final": 0.9, "svm_rbf": 0.6}, seed=1)
    corrupted = {"one": toy_runs(accuracy={"svm_final": 0.8, "svm_rbf": 0.3}, seed=2)}
    labels = {"svm_final": "final RBF SVM, C = 10", "svm_rbf": "RBF SVM, C = 1"}
    accuracy = results.with_labels(robustness.accuracy_table(clean, corrupted), labels)
    fig = robustness_figures.heatmap(accuracy, "title")
    rows = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert rows == [labels["svm_final"], labels["svm_rbf"]]
    unlabelled = robustness_figures.heatmap(accuracy.drop(columns="label"), "title")
    assert [t.get_text() for t in unlabelled.axes[0].get_yticklabels()] == ["svm_final", "svm_rbf"]
    summary = robustness.corruption_errors(clean, corrupted)
    pairs = robustness.robustness_comparison(clean, corrupted)
    assert robustness.conclusions(summary, pairs)[0].startswith("Most robust: final RBF SVM, ")
    said = robustness.conclusions(summary, pairs, {"svm_final": "model A"})[0]
    assert said.startswith("Most robust: model A, ")


# --- on the pipeline's run ---


@pytest.mark.pipeline
def test_scoring_jobs_run_keras_on_its_numpy_backend_without_tensorflow(pipeline_run):
    # What each scoring job imported (runtime.record_imports), one job per saved run:
    # a Keras run's, Keras on the numpy backend (JAX's lax for its convolutions); the
    # others', no Keras or JAX at all; none of them TensorFlow, scikit-learn (the SVMs
    # score from their arrays) or matplotlib (keras_models.UNUSED_PROBES).
    workdir, _ = pipeline_run
    records = sorted((workdir / IMPORTS).glob("score_run.*.txt"))
    seeds = suite_settings()["repeats"]["seeds"]
    assert len(records) == len(MODELS) * len(seeds)
    with_keras = [set(r.read_text().split()) >= {"keras", "jax"} for r in records]
    assert sum(with_keras) == len(KERAS) * len(seeds)
    for record in records:
        imported = set(record.read_text().split())
        assert not imported & {"tensorflow", "sklearn", "skops", "matplotlib"}, record.name
        assert {"keras", "jax"} <= imported or not imported & {"keras", "jax"}, record.name


@pytest.mark.pipeline
def test_identity_scores_exactly_the_clean_accuracy_and_corruptions_keep_the_labels(
    pipeline_run,
):
    # Every saved run scored again on the identity's test set gives what its run gave
    # when it was trained and scored: the same class scores bit for bit where the same
    # numpy code scores it (the SVMs' arrays, the numpy network), so its accuracy in the
    # robustness table is the clean one exactly. The Keras models score on another
    # backend than they trained on (keras_models.SCORING_BACKEND): scores within float32
    # rounding of the run's, the same label wherever the run's top two scores are
    # further apart than that, and the clean accuracy wherever every label is the same.
    # Every corrupted test set holds the clean labels in the clean order, and changes
    # the images (but identity).
    workdir, _ = pipeline_run
    results = workdir / "results/mnist-sample"
    clean = data.read_runs(sorted(results.glob("*/base/seed-*/predictions.parquet")))
    scored = scoring.read_scores(sorted(results.glob("robustness/scores/*/seed-*.parquet")))
    identity = scored["identity"]
    assert set(identity) == set(clean) and len(clean) >= 8
    assert set(KERAS) <= set(clean)
    same_labels = {}
    for model, by_seed in clean.items():
        assert set(identity[model]) == set(by_seed)
        for seed, run in by_seed.items():
            again = identity[model][seed]
            if model not in KERAS:
                assert np.array_equal(again["scores"], run["scores"]), model
            else:
                assert np.abs(again["scores"] - run["scores"]).max() < 1e-5, model
                top = np.sort(run["scores"], axis=1)
                clear = top[:, -1] - top[:, -2] > 1e-5
                assert clear.mean() > 0.99, model
                assert np.array_equal(again["predicted"][clear], run["predicted"][clear])
            same = np.array_equal(again["predicted"], run["predicted"])
            same_labels[model] = same_labels.get(model, True) and same
    table = pd.read_csv(results / "tables/robustness.csv").set_index(["model", "condition"])
    for model in clean:
        identical = (
            table.loc[(model, "identity"), "accuracy"] == table.loc[(model, "clean"), "accuracy"]
        )
        assert identical or not same_labels[model], model
    test = data.read_split(results / "data/test.parquet")
    names = suite_settings()["robustness"]["corruptions"]
    for name in names:
        split = data.read_split(results / f"robustness/test/{name}.parquet")
        assert np.array_equal(split.y, test.y), name
        assert np.array_equal(split.X, test.X) == (name == "identity"), name
        runs = scored[name]
        assert all(np.array_equal(r["label"], test.y) for m in runs.values() for r in m.values())
    # the corruptions cost accuracy: each model's mean corruption error above its clean
    # one, and below chance's (0.9 for ten classes): the models still see digits
    summary = pd.read_csv(results / "tables/robustness_summary.csv")
    assert (summary["mce"] > summary["clean_error"]).all() and (summary["mce"] < 0.9).all()
    assert set(summary["model"]) == set(clean) and (summary["corruptions"] == len(names) - 1).all()


@pytest.mark.pipeline
def test_every_robustness_and_errors_table_labels_its_models(pipeline_run):
    # Each table of the robustness and errors stages that names a model carries its label
    # beside its code name (results.LABEL_COLUMNS), the label of results.model_labels
    # from the run's metrics, and every model of the run has its own; the label issues
    # name the networks they average by their short names.
    tables = pipeline_run[0] / "results/mnist-sample/tables"
    labels = results.model_labels(pd.read_parquet(tables / "metrics.parquet"))
    assert len(set(labels.values())) == len(labels) >= 8
    names = ["robustness", "robustness_summary", "robustness_comparison", "calibration"]
    for name in [*names, "per_class_accuracy", "confused_pairs"]:
        table = pd.read_csv(tables / f"{name}.csv")
        named = [column for column in results.LABEL_COLUMNS if column in table]
        assert named, name
        for column in named:
            label = results.LABEL_COLUMNS[column]
            assert list(table.columns).index(label) == list(table.columns).index(column) + 1
            assert (table[label] == table[column].map(labels)).all(), (name, column)
    pairs = pd.read_csv(tables / "robustness_comparison.csv")
    assert (pairs["label_a"] != pairs["label_b"]).all()
    assert pd.read_csv(tables / "robustness.csv")["label"].nunique() == len(labels)
    issues = pd.read_csv(tables / "label_issues.csv")
    networks = ", ".join(short_name(m) for m in labels if m in ("nn_numpy", *KERAS))
    assert issues["averaged_over"].str.startswith(networks).all()


@pytest.mark.pipeline
def test_adding_a_corruption_plans_its_test_set_every_runs_scoring_and_the_tables(
    finished, bookkeeping
):
    # The new corruption's test set, every run scored again (each run's job scores every
    # corruption), and the tables that list every corruption; no training, no other
    # corruption's test set.
    names = suite_settings()["robustness"]["corruptions"]
    args = override(finished, {"robustness": {"corruptions": [*names, "zigzag"]}})
    counts = planned_counts(finished, *args)
    runs = len(MODELS) * len(suite_settings()["repeats"]["seeds"])
    assert counts.pop("corrupt_test_set") == 1 and counts.pop("score_run") == runs
    assert "robustness_tables" in counts and set(counts) <= bookkeeping
    assert not {"errors_tables", "metrics_table", "model_comparison"} & set(counts)


@pytest.mark.pipeline
def test_editing_the_corruptions_rescores_and_retrains_nothing(finished, bookkeeping):
    code = finished / "scripts/mnist_study/corruptions.py"
    code.write_text(code.read_text() + "\n# edited\n")
    counts = planned_counts(finished)
    names = suite_settings()["robustness"]["corruptions"]
    assert counts.pop("corrupt_test_set") == len(names)
    assert counts.pop("score_run") == len(MODELS) * len(suite_settings()["repeats"]["seeds"])
    assert "robustness_tables" in counts and set(counts) <= bookkeeping
