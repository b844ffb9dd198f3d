"""Models of your own in the pipeline: two scikit-learn classifiers and a Keras file join the
study from the config's `models:`, and appear wherever the study's models do.

One Snakemake run of its own (`own_run`) on a copy of the workflow: the suite's config
with two seeds, shorter Keras training and two corruptions, plus a `models:` of
LogisticRegression (probabilities, on 500 images), RidgeClassifier (decision values only,
on PCA components) and the shipped example Keras file at one epoch. The tests read its
tables, then dry-run changes on it: a bad entry of each kind is refused in one line before
any job, and changing one model plans that model's jobs and the tables alone.
The fast checks of the same code are in tests/test_own_model_checks.py.
"""

import json

import pandas as pd
import pytest
import yaml

from conftest import config_args, copy_workflow, planned_counts, run_snakemake

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

SEEDS = [0, 1]
MODELS = {
    "logreg": {
        "kind": "sklearn",
        "estimator": "sklearn.linear_model.LogisticRegression",
        "label": "logistic regression",
        "subset": 500,
        "settings": {"max_iter": 40},
    },
    "ridge": {
        "kind": "sklearn",
        "estimator": "sklearn.linear_model.RidgeClassifier",
        "features": "pca",
        "pca_components": 30,
        "subset": 500,
        "resources": {"mem_mb": 1500, "runtime": 10},
    },
    "small_cnn": {
        "kind": "keras",
        "file": "config/models/small_cnn.py",
        "epochs": 1,
        "settings": {"filters": 4},
    },
}
OWN = list(MODELS)
# The suite's config made shorter still: two seeds, one-epoch networks, two corruptions.
SHORTER = {
    "repeats": {"seeds": SEEDS},
    "mlp": {"hidden": [64], "epochs": 1},
    "cnn": {"epochs": 1},
    "robustness": {"corruptions": ["identity", "rotate"], "bootstrap": 100},
    "models": MODELS,
}
# The jobs that gather the runs (config/README.md's "the tables"), planned by any change
# of a model; score_run is one job per run.
TABLES = {"metrics_table", "metrics_summary", "model_comparison", "headline",
          "study_comparison", "stage_costs", "robustness_tables", "errors_tables",
          "collect_datasets", "record", "all"}  # fmt: skip


def write_config(workdir, name: str, settings: dict) -> list[str]:
    (workdir / name).write_text(yaml.safe_dump(settings))
    return config_args(name)


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    """A finished run of the workflow with the three models of MODELS, on one core."""
    workdir = copy_workflow(tmp_path_factory.mktemp("own") / "workflow")
    run_snakemake(workdir, "--cores", "1", *write_config(workdir, "own.yaml", SHORTER))
    return workdir


@pytest.mark.slow(400)
def test_own_models_appear_in_every_table(own_run):
    tables = own_run / "results/mnist-sample/tables"
    for name in OWN:
        for seed in SEEDS:
            folder = own_run / f"results/mnist-sample/{name}/base/seed-{seed}"
            saved = "model.keras" if name == "small_cnn" else "model.skops"
            for file in ("metrics.json", "predictions.parquet", saved, f"{saved}.sha256",
                         "confusion.png"):  # fmt: skip
                assert (folder / file).is_file(), folder / file
    metrics = pd.read_csv(tables / "metrics.csv")
    for name in OWN:
        runs = metrics[metrics["model"] == name]
        assert sorted(runs["seed"]) == SEEDS
        # Better than chance (0.1), short of perfect: a model that learnt something.
        assert ((runs["accuracy"] > 0.3) & (runs["accuracy"] < 1.0)).all(), runs
    assert (metrics.loc[metrics["model"] == "logreg", "train_size"] == 500).all()
    # Probabilities have a test loss; decision values have none, as the SVMs'.
    assert metrics.loc[metrics["model"] == "logreg", "test_loss"].notna().all()
    assert metrics.loc[metrics["model"] == "ridge", "test_loss"].isna().all()
    study = set(metrics["model"]) - set(OWN)
    assert {"mlp", "cnn", "svm_final"} <= study

    summary = pd.read_csv(tables / "metrics_summary.csv")
    assert set(OWN) <= set(summary["model"])
    pairs = pd.read_csv(tables / "model_comparison.csv")
    everyone = set(metrics["model"])
    for name in OWN:
        partners = set(pairs.loc[pairs["model_a"] == name, "model_b"]) | set(
            pairs.loc[pairs["model_b"] == name, "model_a"]
        )
        assert partners == everyone - {name}, name
    headline = pd.read_csv(tables / "headline.csv")
    # A model's label where it has one, its name otherwise.
    assert {"logistic regression", "ridge", "small_cnn"} <= set(headline["model"])

    robustness = pd.read_csv(tables / "robustness.csv")
    robust_summary = pd.read_csv(tables / "robustness_summary.csv")
    per_class = pd.read_csv(tables / "per_class_accuracy.csv")
    for frame in (robustness, robust_summary, per_class):
        assert set(OWN) <= set(frame["model"]), frame.columns
    # Under the identity corruption a saved run scores what its run scored.
    by = robustness.set_index(["model", "condition"])["accuracy"]
    for name in OWN:
        assert by[(name, "identity")] == pytest.approx(by[(name, "clean")], abs=1e-6)
    calibration = pd.read_csv(tables / "calibration.csv").set_index("model")
    # Calibration is of probabilities: the ridge classifier's decision values have none.
    assert calibration.loc[["logreg", "small_cnn"], "ece"].between(0, 1).all()
    assert calibration.loc["ridge", "ece"].isna().all()
    assert calibration.loc["ridge", "note"].str.startswith("not applicable").all()

    record = json.loads((own_run / "results/mnist-sample/record/record.json").read_text())
    methods = record["methods"]["models"]
    assert methods["logreg"]["label"] == "logistic regression"
    assert methods["small_cnn"]["file"]["path"] == "config/models/small_cnn.py"
    assert len(methods["small_cnn"]["file"]["sha256"]) == 64
    for name in OWN:
        card = (own_run / f"results/mnist-sample/record/cards/{name}.md").read_text()
        assert f"models.{name}" in card and "# Metrics" in card
    changing_one_model_reruns_that_model_and_the_tables_only(own_run)


REFUSALS = {
    "a bad import path": (
        {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegresion"},
        "models.bad.estimator: sklearn.linear_model.LogisticRegresion: "
        "sklearn.linear_model has no LogisticRegresion",
    ),
    "a class that is no classifier": (
        {"kind": "sklearn", "estimator": "sklearn.decomposition.PCA"},
        "models.bad.estimator: sklearn.decomposition.PCA is not a scikit-learn classifier",
    ),
    "a missing file": (
        {"kind": "keras", "file": "config/models/nowhere.py"},
        "models.bad.file: config/models/nowhere.py is no file inside",
    ),
    "a function returning the wrong shape": (
        {"kind": "keras", "file": "wrong.py"},
        "models.bad.file: wrong.py: the model's output shape is (None, 3), not (None, 10)",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_model_is_refused_in_one_line_before_any_job(tmp_path, case):
    # On a fresh copy: the entry is refused as the config is read, with no run needed.
    own_run = copy_workflow(tmp_path / "workflow")
    entry, line = REFUSALS[case]
    (own_run / "wrong.py").write_text(
        "import keras\n\ndef build(input_shape, n_classes, settings):\n"
        "    return keras.Sequential([keras.Input(shape=input_shape),\n"
        "        keras.layers.Flatten(), keras.layers.Dense(3, activation='softmax')])\n"
    )
    args = write_config(own_run, "bad.yaml", {**SHORTER, "models": {**MODELS, "bad": entry}})
    proc = run_snakemake(own_run, "--dry-run", *args, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert line in text, text[-3000:]
    assert "Building DAG of jobs" not in text  # refused as the config is read


def changing_one_model_reruns_that_model_and_the_tables_only(own_run):
    """A setting of the ridge classifier, then an edit of the Keras file: each plans its
    own model's runs and their scoring, and the tables, and no job of another model.
    (Called by the test of the finished run, so that its run is made once: a fixture of
    a module is made once per pytest-xdist worker.)"""
    assert planned_counts(own_run, *config_args("own.yaml")) == {}
    changed = {**MODELS, "ridge": {**MODELS["ridge"], "pca_components": 20}}
    counts = planned_counts(
        own_run, *write_config(own_run, "c.yaml", {**SHORTER, "models": changed})
    )
    assert counts == {
        "train_ridge": len(SEEDS),
        "score_run": len(SEEDS),
        **dict.fromkeys(TABLES, 1),
    }
    relabelled = {**MODELS, "logreg": {**MODELS["logreg"], "label": "another name"}}
    counts = planned_counts(
        own_run, *write_config(own_run, "l.yaml", {**SHORTER, "models": relabelled})
    )
    assert "train_logreg" not in counts and "score_run" not in counts
    source = own_run / "config/models/small_cnn.py"
    text = source.read_text()
    source.write_text(text + "\n# edited\n")
    try:
        counts = planned_counts(own_run, *config_args("own.yaml"))
    finally:
        source.write_text(text)
    assert counts == {
        "train_small_cnn": len(SEEDS),
        "score_run": len(SEEDS),
        **dict.fromkeys(TABLES, 1),
    }
