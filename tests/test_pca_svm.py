"""PCA, SVM and kernel-trick functions on tiny data."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from conftest import real_digits
from mnist_study import kernel_trick, pca, svm
from mnist_study.metrics import classification_scores, macro_auc
from mnist_study.storage import TamperedFileError, load_model, record_checksum, save_model


def blobs(n_per_class=12, seed=0, features=20):
    """Ten well separated clusters: an easy 10-class problem."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(10, features))
    y = np.repeat(np.arange(10), n_per_class)
    return centres[y] + rng.normal(0, 0.5, size=(len(y), features)), y


def test_pca_tables():
    X, _ = blobs()
    model = pca.fit_pca(X, None, "covariance_eigh")
    table = pca.variance_table(model)
    assert list(table.columns) == ["component", "explained_variance_ratio", "cumulative"]
    assert table["component"].tolist() == list(range(1, 21))
    assert np.all(np.diff(table["cumulative"]) >= 0)
    assert table["cumulative"].iloc[-1] == pytest.approx(1.0)
    two = pca.fit_pca(X, 2, "covariance_eigh")
    assert np.allclose(two.explained_variance_ratio_, table["explained_variance_ratio"][:2])


def test_components_for_levels():
    cumulative = np.array([0.5, 0.79, 0.8, 0.9, 0.97, 1.0])
    levels = pca.components_for_levels(cumulative, [0.95, 0.8, 0.9])
    assert levels["variance_level"].tolist() == [0.8, 0.9, 0.95]
    assert levels["components"].tolist() == [3, 4, 5]


def test_arpack_cannot_compute_all_components():
    X, _ = blobs()
    with pytest.raises(ValueError, match="arpack"):
        pca.fit_pca(X, None, "arpack")


def test_bad_kernel_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown SVM kernel 'rbff'"):
        svm.make_svc("rbff")


def test_kernels_are_scored_on_the_test_set():
    X, y = blobs(seed=1)
    X_test, y_test = blobs(n_per_class=5, seed=1)
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(y_test)  # test labels unrelated to the images
    rows = svm.compare_kernels(
        ["linear", "rbf"], {"C": 1.0, "gamma": "scale", "degree": 2}, X, y, X_test, shuffled
    )
    assert [r["kernel"] for r in rows] == ["linear", "rbf"]
    for row in rows:
        assert row["test_size"] == 50 and row["train_size"] == 120
        # Scored on the training data these would be 1.0; on unrelated labels they are not.
        assert row["accuracy"] < 0.5
        assert row["macro_auc"] < 0.8
        assert np.asarray(row["confusion"]).sum() == 50


def test_auc_comes_from_continuous_scores_not_hard_predictions():
    y = np.repeat(np.arange(10), 4)
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(40, 10)) + 2.0 * np.eye(10)[y]
    auc, per_class = macro_auc(y, scores)
    expected = np.mean([roc_auc_score(y == k, scores[:, k]) for k in range(10)])
    assert auc == pytest.approx(expected)
    hard = np.eye(10)[np.argmax(scores, axis=1)]
    assert auc != pytest.approx(macro_auc(y, hard)[0])
    assert len(per_class) == 10
    with pytest.raises(ValueError, match="shape"):
        macro_auc(y, scores[:, :9])
    result = classification_scores(y, np.argmax(scores, axis=1), scores)
    predicted = np.argmax(scores, axis=1)
    assert result["accuracy"] == pytest.approx(np.mean(predicted == y))
    confusion = np.asarray(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == len(y)
    assert np.trace(confusion) == np.sum(predicted == y)


def test_grid_search_scores_every_setting_on_the_seeds_folds():
    X, y = blobs(n_per_class=9, seed=1, features=2)  # overlapping: folds score differently
    C, gamma = [0.1, 10], [0.001, 0.01, 0.1]
    table = svm.grid_search(X, y, C, gamma, folds=3, seed=0, n_jobs=1)
    assert len(table) == 6 and (table["seed"] == 0).all()
    assert not table.duplicated(["C", "gamma"]).any()
    folds = table[["fold_0", "fold_1", "fold_2"]].to_numpy()
    np.testing.assert_allclose(table["mean_accuracy"], folds.mean(axis=1))
    assert svm.score_matrix(table, C, gamma).shape == (2, 3)
    # Two worker threads score the same folds as one; another seed draws other folds.
    pd.testing.assert_frame_equal(svm.grid_search(X, y, C, gamma, 3, 0, n_jobs=2), table)
    other = svm.grid_search(X, y, C, gamma, 3, 1, n_jobs=1)
    assert not np.array_equal(other[["fold_0", "fold_1", "fold_2"]].to_numpy(), folds)


def grid_table(seed: int, scores: dict) -> pd.DataFrame:
    """One seed's grid table with the given fold scores per (C, gamma)."""
    return pd.DataFrame(
        [
            {"seed": seed, "C": c, "gamma": g, **{f"fold_{k}": v for k, v in enumerate(f)},
             "mean_accuracy": np.mean(f), "std_accuracy": np.std(f)}
            for (c, g), f in scores.items()
        ]
    )  # fmt: skip


def test_choice_is_the_best_mean_over_seeds_or_the_most_regularised_tie():
    # Three seeds, three folds each. (10, 0.01) has the best mean; (100, 0.01) is 0.44
    # points below it with a spread that cannot tell them apart (standard error 0.59);
    # (1000, 0.001) is 0.56 below with an error of 0.40: not tied; (1, 0.01) is far below.
    seeds = [
        {(10, 0.01): [0.90, 0.92, 0.91], (100, 0.01): [0.91, 0.90, 0.90],
         (1, 0.01): [0.80, 0.81, 0.79], (1000, 0.001): [0.92, 0.91, 0.90]},
        {(10, 0.01): [0.89, 0.90, 0.91], (100, 0.01): [0.91, 0.91, 0.90],
         (1, 0.01): [0.78, 0.80, 0.80], (1000, 0.001): [0.88, 0.89, 0.89]},
        {(10, 0.01): [0.92, 0.91, 0.90], (100, 0.01): [0.89, 0.90, 0.90],
         (1, 0.01): [0.81, 0.80, 0.79], (1000, 0.001): [0.91, 0.90, 0.91]},
    ]  # fmt: skip
    table, choice = svm.choose_grid([grid_table(s, scores) for s, scores in enumerate(seeds)])
    assert choice["best"] == [10.0, 0.01] and choice["seeds"] == [0, 1, 2]
    assert choice["best_cv_accuracy"] == pytest.approx(np.mean([s[(10, 0.01)] for s in seeds]))
    assert choice["tied"] == [[10.0, 0.01], [100.0, 0.01]]
    assert (choice["C"], choice["gamma"]) == (10.0, 0.01)
    assert choice["tie_rule"] == svm.TIE_RULE and choice["tie_break"] == svm.TIE_BREAK
    row = table.set_index(["C", "gamma"]).loc[(1.0, 0.01)]
    assert not row["tied"] and row["difference_to_best"] < -5 * row["difference_se"]
    # A tie at a smaller C than the best is chosen over it: the most regularised.
    seeds[0][(1, 0.01)] = seeds[1][(1, 0.01)] = seeds[2][(1, 0.01)] = [0.90, 0.91, 0.905]
    _, choice = svm.choose_grid([grid_table(s, scores) for s, scores in enumerate(seeds)])
    assert (choice["C"], choice["gamma"]) == (1.0, 0.01) and choice["best"] == [10.0, 0.01]


def test_one_seed_ties_by_the_folds_spread():
    # The fold differences to the best, -0.05, +0.03 and 0, have a mean of -0.0067 and a
    # standard error of 0.024: tied, and the smaller C is chosen.
    scores = {(1, 0.1): [0.9, 0.88, 1.0], (10, 0.1): [0.95, 0.85, 1.0], (100, 0.1): [0.5, 0.5, 0.6]}
    table, choice = svm.choose_grid([grid_table(0, scores)])
    assert choice["best"] == [10.0, 0.1] and (choice["C"], choice["gamma"]) == (1.0, 0.1)
    assert choice["tied"] == [[1.0, 0.1], [10.0, 0.1]]
    assert table["tied"].tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("C", "gamma", "message"),
    [
        ([], [0.1], "grid is empty"),
        ([1], [], "grid is empty"),
        ([1], [0.0001, 0.0001, 0.1], "repeats a gamma value"),
        ([1, 10, 1], [0.1], "repeats a C value"),
    ],
)
def test_grid_errors(C, gamma, message):
    X, y = blobs(n_per_class=6)
    with pytest.raises(ValueError, match=message):
        svm.grid_search(X, y, C, gamma, folds=3, seed=0, n_jobs=1)


def test_a_class_rarer_than_the_folds_is_kept_whole_and_said_once(caplog):
    """Class 9 has 3 training images and the grid has 5 folds; class 8 has 12, of which
    a stratified subset of 60 would hold about 2. The grid's subset keeps all 3 of class
    9 and 5 of class 8 (one per fold), each said in one warning line, and the search
    runs on stratified folds without scikit-learn's own warning (before, it stopped:
    "raise svm.grid.subset")."""
    X, y = blobs(n_per_class=40, seed=4, features=2)
    keep = (y < 8) | (y == 8) & (np.cumsum(y == 8) <= 12) | (y == 9) & (np.cumsum(y == 9) <= 3)
    X, y = X[keep], y[keep]
    with caplog.at_level("WARNING"):
        chosen = svm.grid_subset(y, 60, folds=5, seed=0)
    lines = [r.getMessage() for r in caplog.records]
    counts = np.bincount(y[chosen])
    assert counts[9] == 3 and counts[8] == 5 and len(chosen) == 60
    assert np.array_equal(chosen, svm.grid_subset(y, 60, folds=5, seed=0))  # seeded
    assert len(lines) == 2, lines
    assert lines[0].startswith("class 8 has 12 training images, 2.15 expected in a stratified")
    assert "5 kept, one for each of the 5 folds" in lines[0]
    assert lines[1].startswith("class 9 has 3 training images, fewer than the 5 folds: all")
    assert "2 folds are scored without it" in lines[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn's warning about the folds would fail
        table = svm.grid_search(X[chosen], y[chosen], [1], [0.1], folds=5, seed=0, n_jobs=1)
    folds = table[[f"fold_{k}" for k in range(5)]].to_numpy()
    assert np.isfinite(folds).all() and (folds > 0.3).all()
    # All images (a subset larger than the set): the rare class is still said.
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert len(svm.grid_subset(y, 10_000, folds=5, seed=0)) == len(y)
    assert [r.getMessage()[:40] for r in caplog.records] == [
        "class 9 has 3 training images, fewer tha"
    ]


def test_decision_regions_shapes():
    X, y = blobs()
    Z, panels = svm.decision_regions(
        ["linear", "rbf"], {"C": 1.0, "gamma": "scale", "degree": 2}, X, y, 25, seed=0
    )
    assert Z.shape == (120, 2) and len(panels) == 2
    name, xx, yy, grid = panels[1]
    assert name.startswith("RBF") and xx.shape == yy.shape == grid.shape == (25, 25)
    assert set(np.unique(grid)) <= set(range(10))


def test_final_model_with_pca_projection_fits_and_saves(tmp_path):
    X, y = blobs()
    model = svm.final_model(C=10, gamma=0.01, pca_components=5).fit(X, y)
    assert model.named_steps["pca"].n_components_ == 5
    path = tmp_path / "model.skops"
    save_model(model, path)
    assert np.array_equal(load_model(path).predict(X), model.predict(X))
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(TamperedFileError, match="refusing to load"):
        load_model(path)
    (tmp_path / "model.skops.sha256").unlink()
    with pytest.raises(TamperedFileError, match="no recorded checksum"):
        load_model(path)


def test_lift_realises_the_squared_dot_product_kernel():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 7, 2))
    lifted = np.sum(kernel_trick.lift(a) * kernel_trick.lift(b), axis=1)
    assert np.allclose(lifted, np.sum(a * b, axis=1) ** 2)


def test_synthetic_data_has_the_promised_geometry():
    rng = np.random.default_rng(0)
    X, y = kernel_trick.separable(300, rng)
    assert kernel_trick.linear_svm(X, y, C=1e6).score(X, y) == 1.0
    X, y = kernel_trick.overlapping(300, rng)
    assert 0.7 < kernel_trick.linear_svm(X, y, C=1.0).score(X, y) < 1.0
    X, y = kernel_trick.concentric(300, rng)
    assert kernel_trick.linear_svm(X, y, C=1.0).score(X, y) < 0.8
    lifted = kernel_trick.lift(X)
    assert kernel_trick.linear_svm(lifted, y, C=1e3).score(lifted, y) == 1.0


class Foreign:
    """A type no model file of this pipeline holds."""

    def __init__(self, value=1):
        self.value = value


def test_a_model_file_with_a_foreign_type_is_refused_before_anything_is_built(tmp_path):
    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from mnist_study.storage import UntrustedModelError, record_checksum

    X, y = blobs()
    # A pipeline as the final SVM's, with a step that would run an arbitrary function.
    model = Pipeline(
        [("step", FunctionTransformer(np.negative)), ("svc", svm.final_model(1, 0.1))]
    ).fit(X, y)
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    record_checksum(path)  # its checksum is right: the refusal is about what it holds
    built = []
    original = FunctionTransformer.__init__
    try:
        FunctionTransformer.__init__ = lambda self, *a, **k: (
            built.append(1) or original(self, *a, **k)
        )
        with pytest.raises(UntrustedModelError, match="FunctionTransformer"):
            load_model(path)
    finally:
        FunctionTransformer.__init__ = original
    assert built == []
    # The same with a class of its own: refused, by name.
    path = tmp_path / "foreign.skops"
    skops.io.dump({"model": svm.final_model(1, 0.1).fit(X, y), "extra": Foreign()}, path)
    record_checksum(path)
    with pytest.raises(UntrustedModelError, match="Foreign"):
        load_model(path)
    # What the pipeline saves needs nothing beyond the listed types.
    for components in (0, 5):
        saved = tmp_path / f"final-{components}.skops"
        save_model(svm.final_model(1, 0.1, components).fit(X, y), saved)
        assert load_model(saved).predict(X[:5]).shape == (5,)


def test_an_svm_trained_without_a_class_predicts_and_writes_labels(tmp_path):
    """The training subset lacks class 3, so scikit-learn's decision values have 9
    columns and column 3 is class 4's: the scores must put each class in its own column
    (class 3's below every other), and the predictions file must hold the labels the
    model predicts, not column indexes. Before, scoring stopped (9 columns for labels
    0-9) and the file held the argmax column."""
    from mnist_study import data

    X, y = blobs(n_per_class=12, seed=3)
    X_test, y_test = blobs(n_per_class=4, seed=3)
    seen = y != 3
    model = svm.make_svc("linear").fit(X[seen], y[seen])
    assert model.classes_.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    result = svm.score_on_test(model, X_test, y_test, n_classes=10)
    scores = result["scores"]
    assert scores.shape == (40, 10)
    assert (scores[:, 3] < np.delete(scores, 3, axis=1).min(axis=1)).all()
    assert np.allclose(scores[:, 4], model.decision_function(X_test)[:, 3], rtol=0, atol=1e-9)
    assert result["accuracy"] == pytest.approx(np.mean(model.predict(X_test) == y_test))
    assert result["per_class_auc"][3] == 0.5  # one value for every image: no ranking
    path = tmp_path / "predictions.parquet"
    data.write_predictions(path, "svm_linear", y_test, scores)
    written = data.read_predictions(path)["svm_linear"]
    assert np.array_equal(written["predicted"], model.predict(X_test))
    assert 3 not in written["predicted"] and (written["predicted"] > 3).any()
    # Without the count, the highest label of the model or the test set says it.
    assert svm.score_on_test(model, X_test, y_test)["scores"].shape == (40, 10)
    # Two classes: one decision value a row, positive for the second class.
    pair = (y == 1) | (y == 7)
    binary = svm.make_svc("linear").fit(X[pair], y[pair])
    two = svm.class_scores(binary, X_test, 10)
    assert np.array_equal(np.argmax(two, axis=1), binary.predict(X_test))
    with pytest.raises(ValueError, match="not labels 0-4"):
        svm.class_scores(model, X_test, 5)


def test_macro_auc_averages_the_classes_present_in_the_test_set():
    """Class 7 has no test images: it has no ROC curve, so the macro AUC is the mean of
    the other nine classes' AUCs, with no NaN and no scikit-learn warning, and the row
    says it averaged 9 classes. (Before, class 7's AUC was NaN with a warning, and so
    was the mean.)"""
    from mnist_study.metrics import absent_classes, roc_curves

    rng = np.random.default_rng(5)
    y = np.repeat([k for k in range(10) if k != 7], 5)
    scores = rng.normal(size=(len(y), 10)) + 1.5 * np.eye(10)[y]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auc, per_class = macro_auc(y, scores)
        result = classification_scores(y, np.argmax(scores, axis=1), scores)
        curves = roc_curves(y, scores)
    assert sorted(per_class) == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert auc == pytest.approx(np.mean([roc_auc_score(y == k, scores[:, k]) for k in per_class]))
    assert np.isfinite(auc) and result["macro_auc"] == auc and result["auc_classes"] == 9
    assert 7 not in curves and {0, 9, "micro", "macro"} <= set(curves)
    assert absent_classes(y, 10) == [7] and absent_classes(y, 12) == [7, 10, 11]
    # One class alone has no ROC curve at all: no AUC, rather than a made-up one.
    assert np.isnan(macro_auc(np.zeros(4, int), rng.random((4, 3)))[0])


@pytest.mark.parametrize("kernel", [*svm.KERNELS, "pca+rbf"])
def test_numpy_decision_values_equal_scikit_learns(kernel):
    """svm.decision_values (numpy's matrix multiply) against SVC.decision_function on
    real digits: every value to rounding and the same predicted class, for each kernel,
    for the final model's PCA pipeline, and for two classes (one value a row); the
    kernel's own hyperparameters (gamma, degree, coef0) matter, so a wrong one fails."""
    X, y = real_digits(400)
    train, test = slice(0, 250), slice(250, 400)
    if kernel == "pca+rbf":
        model = svm.final_model(C=5.0, gamma=0.05, pca_components=30, seed=0)
    else:
        model = svm.make_svc(kernel, C=2.0, gamma="scale", degree=3)
        model.set_params(coef0=0.5)
    model.fit(X[train], y[train])
    ours = svm.decision_values(model, X[test])
    theirs = model.decision_function(X[test])
    assert ours.shape == theirs.shape == (150, 10)
    assert np.allclose(ours, theirs, rtol=0, atol=1e-9)
    assert np.array_equal(ours.argmax(axis=1), theirs.argmax(axis=1))
    # a model whose gamma is changed after fitting gives other values
    if kernel in ("poly", "rbf", "sigmoid"):
        model._gamma *= 2
        assert not np.allclose(svm.decision_values(model, X[test]), theirs, atol=1e-3)
    pair = (y[train] == 3) | (y[train] == 8)
    binary = svm.make_svc("rbf" if kernel == "pca+rbf" else kernel).fit(
        X[train][pair], y[train][pair]
    )
    two = svm.decision_values(binary, X[test])
    assert two.shape == (150,)
    assert np.allclose(two, binary.decision_function(X[test]), rtol=0, atol=1e-9)


def test_scoring_arrays_file_scores_as_the_model_and_refuses_a_changed_file(tmp_path):
    """A .npz of scoring arrays (what a robustness job reads instead of the skops file)
    round-trips: the loaded arrays give each model's class scores exactly as the fitted
    model does (kernels, a whitened PCA pipeline, a model that never saw a class), and
    the values equal scikit-learn's decision_function; a changed file, a missing
    checksum and a pickled object are refused."""
    X, y = real_digits(400)
    train, test = slice(0, 250), slice(250, 400)
    seen = y[train] != 7
    whitened = svm.final_model(C=5.0, gamma=0.05, pca_components=20, seed=0)
    whitened.set_params(pca__whiten=True)
    models = {
        "svm_poly": svm.make_svc("poly", C=2.0, degree=2).fit(X[train], y[train]),
        "svm_sigmoid": svm.make_svc("sigmoid").fit(X[train], y[train]),
        "svm_final": whitened.fit(X[train], y[train]),
        "svm_rbf": svm.make_svc("rbf").fit(X[train][seen], y[train][seen]),
    }
    path = tmp_path / "models.npz"
    svm.save_scoring_arrays(models, path)
    loaded = svm.load_scoring_arrays(path)
    assert list(loaded) == list(models)
    for name, model in models.items():
        ours = svm.class_scores(loaded[name], X[test], 10)
        assert np.array_equal(ours, svm.class_scores(model, X[test], 10)), name
        theirs = model.decision_function(X[test])
        assert np.allclose(ours[:, model.classes_], theirs, rtol=0, atol=1e-9), name
    assert loaded["svm_rbf"]["classes"].tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert "pca_scale" in loaded["svm_final"] and "pca_scale" not in loaded["svm_poly"]
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(TamperedFileError, match="refusing to load"):
        svm.load_scoring_arrays(path)
    (tmp_path / "models.npz.sha256").unlink()
    with pytest.raises(TamperedFileError, match="no recorded checksum"):
        svm.load_scoring_arrays(path)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{"svm_final.kernel": np.array([object()], dtype=object)})
    record_checksum(pickled)
    with pytest.raises(ValueError, match="allow_pickle"):
        svm.load_scoring_arrays(pickled)
