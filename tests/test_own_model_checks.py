"""The config's own models (mnist_study.own_models): the checks that refuse a bad entry in
one line before any job, the registry they join, the scores and the saved files.

Fast: no Snakemake. The pipeline run with two scikit-learn models and a Keras file, and
the dry runs that refuse bad entries, are in tests/test_own_models.py.
"""

import contextlib

import numpy as np
import pytest

from conftest import ROOT, suite_settings
from mnist_study import models, own_models, robustness, scoring, storage, sweeps
from mnist_study.config import ConfigError, check_config, load_schema

SCHEMA_PATH = ROOT / "rules" / "schemas" / "config.schema.yaml"
LOGREG = {
    "kind": "sklearn",
    "estimator": "sklearn.linear_model.LogisticRegression",
    "subset": 300,
    "settings": {"max_iter": 30},
}
RIDGE = {"kind": "sklearn", "estimator": "sklearn.linear_model.RidgeClassifier"}
# A Keras file of the right kind.
GOOD_KERAS = """
import keras
from keras import layers

def build(input_shape, n_classes, settings):
    return keras.Sequential([keras.Input(shape=input_shape), layers.Flatten(),
                             layers.Dense(settings.get("units", 8), activation="relu"),
                             layers.Dense(n_classes, activation="softmax")])
"""


@contextlib.contextmanager
def registered(specs):
    """The registry with `specs` added, as a job sees it, and without them afterwards."""
    models.register(specs)
    try:
        yield
    finally:
        models.unregister([spec["name"] for spec in specs])


def problems(entries: dict, roots=(ROOT,)) -> list[str]:
    """The lines of the ConfigError that own_models.check raises for `entries`."""
    with pytest.raises(ConfigError) as raised:
        own_models.check(entries, list(roots), 10)
    return [line.strip() for line in str(raised.value).splitlines()[1:]]


def test_a_classifier_joins_with_whether_it_gives_probabilities():
    """LogisticRegression has predict_proba, RidgeClassifier decision values only, and
    SVC has probabilities only with probability=True: the spec says which, per setting."""
    svc = {"kind": "sklearn", "estimator": "sklearn.svm.SVC"}
    specs = own_models.check(
        {"logreg": LOGREG, "ridge": RIDGE, "svc": svc,
         "svc_p": {**svc, "settings": {"probability": True}, "label": "SVC with Platt"}},
        [ROOT], 10,
    )  # fmt: skip
    assert [(s["name"], s["probabilities"]) for s in specs] == [
        ("logreg", True), ("ridge", False), ("svc", False), ("svc_p", True)
    ]  # fmt: skip
    assert specs[3]["label"] == "SVC with Platt" and specs[0]["label"] == ""
    assert set(specs[0]) == {"name", "kind", "label", "probabilities"}  # no settings


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"estimator": "sklearn.linear_model.Nope"}, "sklearn.linear_model has no Nope"),
        ({"estimator": "sklearn.nowhere.Thing"}, "scikit-learn has no module sklearn.nowhere"),
        ({"estimator": "os.system"}, "is not the import path of a scikit-learn class"),
        ({"estimator": "sklearn.decomposition.PCA"}, "is not a scikit-learn classifier"),
        ({"estimator": "sklearn.linear_model.LinearRegression"}, "not a scikit-learn classifier"),
        ({"estimator": "sklearn.linear_model.LogisticRegression", "settings": {"max_iters": 5}},
         "takes no 'max_iters'"),
        ({"estimator": "sklearn.linear_model.LogisticRegression", "settings": {"random_state": 1}},
         "set by each seed of repeats.seeds"),
        ({"estimator": "sklearn.linear_model.LogisticRegression", "epochs": 3},
         "unknown key 'epochs' for kind sklearn (a key of the other kind)"),
        ({"estimator": "sklearn.linear_model.LogisticRegression", "settings": {"subset": 3}},
         "subset is a key of the entry itself"),
        ({}, "kind sklearn needs estimator"),
    ],
)  # fmt: skip
def test_a_bad_scikit_learn_entry_is_refused_in_one_line(entry, says):
    (line,) = problems({"mine": {"kind": "sklearn", **entry}})
    assert line.startswith("models.mine") and says in line


@pytest.mark.parametrize("name", ["mlp", "svm_rbf", "linear", "final_svm", "Mine", "2nd"])
def test_a_name_of_the_study_or_no_folder_name_is_refused(name):
    (line,) = problems({name: RIDGE})
    assert line.startswith(f"models.{name}:")


def test_a_keras_file_must_exist_inside_the_workflow_or_the_working_directory(tmp_path):
    """A missing file, and a file that exists but outside the roots (through ..), are each
    refused; the same file inside a root is found."""
    inside, outside = tmp_path / "flow", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "net.py").write_text(GOOD_KERAS)
    (inside / "net.py").write_text(GOOD_KERAS)
    for text in ("missing.py", "../elsewhere/net.py"):
        (line,) = problems({"net": {"kind": "keras", "file": text}}, roots=[inside])
        assert line.startswith("models.net.file:") and "is no file inside" in line
    assert own_models.find_file("net.py", [inside]) == inside / "net.py"
    assert own_models.find_file("../elsewhere/net.py", [inside]) is None


def test_a_keras_file_is_built_once_to_check_its_output(tmp_path):
    """The model a file builds is checked in a subprocess (on Keras's numpy backend); a
    right one passes and is remembered (a .ok file under the cache folder), so that the
    next parse builds nothing. (A wrong one: keras_problem below, and the dry runs of
    tests/test_own_models.py.)"""
    (tmp_path / "good.py").write_text(GOOD_KERAS)
    cache = tmp_path / "cache"
    specs = own_models.check({"net": {"kind": "keras", "file": "good.py"}}, [tmp_path], 10, cache)
    assert specs == [{"name": "net", "kind": "keras", "label": "", "probabilities": True}]
    (remembered,) = cache.glob("*.ok")
    stamp = remembered.stat().st_mtime_ns
    own_models.check({"net": {"kind": "keras", "file": "good.py"}}, [tmp_path], 10, cache)
    assert [p.stat().st_mtime_ns for p in cache.glob("*.ok")] == [stamp]


def test_keras_problem_names_what_is_wrong():
    """In process, on whatever backend Keras has here: no model, no softmax, right."""
    import keras
    from keras import layers

    def net(activation, classes=10):
        return keras.Sequential(
            [keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(classes, activation)]
        )

    assert "not a keras.Model" in own_models.keras_problem("a string", 10)
    assert "not class probabilities" in own_models.keras_problem(net("relu"), 10)
    assert "(None, 3), not (None, 10)" in own_models.keras_problem(net("softmax", 3), 10)
    assert own_models.keras_problem(net("softmax"), 10) is None


def test_the_schema_refuses_a_misspelt_key_of_an_entry():
    config = suite_settings() | {"models": {"mine": {**LOGREG, "estimater": "x"}}}
    with pytest.raises(ConfigError, match="unknown config key 'estimater' in models.mine"):
        check_config(config, SCHEMA_PATH)


def test_run_settings_are_flat_and_leave_out_label_and_resources():
    entry = {**LOGREG, "label": "L", "resources": {"mem_mb": 900}}
    settings = own_models.run_settings(entry)
    assert settings == {
        "kind": "sklearn", "estimator": LOGREG["estimator"], "features": "pixels",
        "subset": 300, "max_iter": 30,
    }  # fmt: skip
    assert own_models.run_settings({**entry, "features": "pca"})["pca_components"] == 50
    assert own_models.split_settings(settings)[1] == {"max_iter": 30}
    assert own_models.resources(entry) == {"mem_mb": 900, "runtime": 60, "threads": None, "gpu": 0}
    assert own_models.resources({"kind": "keras"})["gpu"] == 1


def test_the_seed_reaches_random_state_and_the_pca():
    settings = own_models.run_settings(
        {"kind": "sklearn", "estimator": "sklearn.ensemble.RandomForestClassifier",
         "features": "pca", "pca_components": 5, "settings": {"n_estimators": 3}}
    )  # fmt: skip
    made = own_models.make_estimator(settings, seed=7)
    assert made.named_steps["model"].random_state == 7
    assert made.named_steps["pca"].random_state == 7 and made.named_steps["pca"].n_components == 5
    assert not hasattr(own_models.make_estimator(own_models.run_settings(RIDGE), 7), "steps")


def test_class_scores_give_one_column_per_class_of_the_dataset():
    """A model that saw classes 0, 1 and 3 of 4 scores class 2 with probability 0, or a
    decision value below every other of its row; the others keep their own columns."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), np.repeat([0, 1, 3], 20)
    X[:, 0] += y  # something to learn
    for model, probabilities in ((LogisticRegression(), True), (RidgeClassifier(), False)):
        model.fit(X, y)
        scores = own_models.class_scores(model, X, 4, probabilities)
        assert scores.shape == (60, 4)
        raw = model.predict_proba(X) if probabilities else model.decision_function(X)
        np.testing.assert_array_equal(scores[:, [0, 1, 3]], raw)
        if probabilities:
            assert (scores[:, 2] == 0).all()
        else:
            assert (scores[:, 2] < scores[:, [0, 1, 3]].min(axis=1)).all()
        np.testing.assert_array_equal(
            np.argmax(scores, axis=1), np.array([0, 1, 3])[np.argmax(raw, axis=1)]
        )


def test_a_saved_run_loads_trusting_scikit_learn_classes_only(tmp_path):
    """A gradient-boosting run (trees, losses, a random generator) saves and loads back
    with the same scores; a file holding a numpy function is refused before loading."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    settings = own_models.run_settings(
        {"kind": "sklearn", "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
         "settings": {"max_iter": 3}}
    )  # fmt: skip
    rng = np.random.default_rng(1)
    X, y = rng.random((90, 6)), np.arange(90) % 3
    run = own_models.fit_sklearn(settings, 0, X, y, X, 3, True)
    storage.save_model(run["model"], tmp_path / "model.skops")
    back = own_models.load_sklearn(tmp_path / "model.skops", settings["estimator"])
    np.testing.assert_array_equal(own_models.class_scores(back, X, 3, True), run["scores"])
    sneaky = make_pipeline(FunctionTransformer(np.log1p), run["model"])
    storage.save_model(sneaky, tmp_path / "sneaky.skops")
    with pytest.raises(storage.UntrustedModelError, match="numpy.log1p"):
        own_models.load_sklearn(tmp_path / "sneaky.skops", settings["estimator"])


def test_the_registry_holds_them_and_knows_their_scores():
    """Registered, a model is a registry model (its rule, saved file, label); whether
    its scores are probabilities comes from the registry, not its name; unregistered,
    nothing of it remains."""
    specs = [
        {"name": "svm_like", "kind": "sklearn", "label": "", "probabilities": True},
        {"name": "ridge", "kind": "sklearn", "label": "ridge classifier", "probabilities": False},
    ]
    before = (dict(models.MODELS), list(models.SWEEPABLE), list(models.PER_SEED_RULES))
    with registered(specs):
        assert models.MODELS["ridge"].rules == ("train_ridge",)
        assert models.SAVED["ridge"] == "model.skops" and "ridge" in models.SWEEPABLE
        assert robustness.gives_probabilities("svm_like")  # by the registry, not the name
        assert not robustness.gives_probabilities("ridge")
        assert models.readable("ridge", {}, 300) == "ridge classifier"
        assert models.readable("svm_like", {}, 300) == "svm_like"
        models.register(specs)  # the same again: nothing changes
        assert models.PER_SEED_RULES.count("train_ridge") == 1
        with pytest.raises(ValueError, match="already registered"):
            models.register([{**specs[1], "kind": "keras"}])
    assert (dict(models.MODELS), list(models.SWEEPABLE), list(models.PER_SEED_RULES)) == before
    assert robustness.gives_probabilities("mlp") and not robustness.gives_probabilities("svm_rbf")


def test_a_sweep_varies_an_estimator_parameter_and_a_training_key():
    config = suite_settings() | {"models": {"logreg": LOGREG}}
    config["sweeps"] = {
        "c": {"model": "logreg", "vary": {"C": [0.1, 1.0], "subset": [300]}},
        "bad": {"model": "logreg", "vary": {"pca_components": [5]}},
    }
    specs = own_models.check(config["models"], [ROOT], 10)
    with registered(specs):
        check_config({**config, "sweeps": {"c": config["sweeps"]["c"]}}, SCHEMA_PATH)
        with pytest.raises(ConfigError, match="pca_components, which only applies with features"):
            sweeps.plan(config, load_schema(SCHEMA_PATH))
        del config["sweeps"]["bad"]
        (sweep,) = sweeps.plan(config, load_schema(SCHEMA_PATH)).values()
        assert [point for point, _ in sweep.points] == ["C~0.1", "C~1"]
        points = sweeps.model_points({"c": sweep}, config)["logreg"]
        assert points["C~0.1"] == {**points["base"], "C": 0.1}


def test_scoring_loads_a_scikit_learn_run_by_the_registry(tmp_path):
    """score_run of a registered scikit-learn model scores its file as its run did."""
    from mnist_study.data import Split

    settings = own_models.run_settings(RIDGE)
    rng = np.random.default_rng(2)
    X, y = rng.random((60, 784)).astype(np.float32), np.arange(60) % 10
    run = own_models.fit_sklearn(settings, 0, X, y, X, 10, False)
    path = tmp_path / "ridge/base/seed-0/model.skops"
    path.parent.mkdir(parents=True)
    storage.save_model(run["model"], path)
    spec = {"name": "ridge", "kind": "sklearn", "label": "", "probabilities": False}
    with registered([spec]):
        (row,) = scoring.score_run(path, {"identity": Split(X, y, {})}, 10, settings)
    assert row["model"] == "ridge" and row["seed"] == 0
    np.testing.assert_allclose(row["scores"], run["scores"])


def test_a_keras_model_of_a_file_trains_like_the_study_s(tmp_path):
    """keras_models.fit_and_predict builds an own model from its file, compiles it with
    the entry's optimizer and learning rate, and trains it with no validation part where
    validation_split is 0."""
    from mnist_study import keras_models

    (tmp_path / "net.py").write_text(GOOD_KERAS)
    settings = own_models.run_settings(
        {"kind": "keras", "file": str(tmp_path / "net.py"), "epochs": 1, "batch_size": 16,
         "optimizer": "sgd", "learning_rate": 0.05, "validation_split": 0,
         "settings": {"units": 4}}
    )  # fmt: skip
    rng = np.random.default_rng(3)
    X, y = rng.random((40, 784)).astype(np.float32), np.arange(40) % 10
    run = keras_models.fit_and_predict("own", settings, 0, X, y, X[:5], classes=10)
    assert run["validation_size"] == 0 and run["train_size"] == 40
    assert run["probabilities"].shape == (5, 10)
    assert type(run["model"].optimizer).__name__ == "SGD"
    assert run["model"].layers[1].units == 4
    np.testing.assert_allclose(float(run["model"].optimizer.learning_rate), 0.05, rtol=1e-6)


def test_the_crate_copies_a_keras_file_the_workflow_lacks(tmp_path, monkeypatch):
    """A file under the working directory is copied under its own path, one outside it
    under own_models/<name>; one the workflow's copy already holds is left as it is."""
    from mnist_study import crate

    monkeypatch.chdir(tmp_path)
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets/a.py").write_text("a")
    (tmp_path / "b.py").write_text("b")
    dest = tmp_path / "record/workflow"
    (dest / "config").mkdir(parents=True)
    (dest / "config/c.py").write_text("kept")
    (tmp_path / "config").mkdir()
    (tmp_path / "config/c.py").write_text("new")
    files = {"a": "nets/a.py", "b": str(tmp_path / "b.py"), "c": "config/c.py"}
    assert crate.copy_own_files(files, dest) == ["nets/a.py", "own_models/b.py"]
    assert (dest / "nets/a.py").read_text() == "a"
    assert (dest / "own_models/b.py").read_text() == "b"
    assert (dest / "config/c.py").read_text() == "kept"
