"""Support vector machines: the four kernels, decision regions, grid search, final model."""

from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .metrics import classification_scores

if TYPE_CHECKING:
    from sklearn.svm import SVC

# scikit-learn (and joblib) are imported by the functions that fit: svm_grid_choice
# reads its tables with this module and fits nothing, and the import costs a second.

log = logging.getLogger(__name__)

KERNELS = ("linear", "poly", "sigmoid", "rbf")
KERNEL_LABELS = {
    "linear": "linear",
    "poly": "polynomial",
    "sigmoid": "sigmoid",
    "rbf": "RBF",
}


def make_svc(kernel: str, C: float = 1.0, gamma="scale", degree: int = 2) -> SVC:
    from sklearn.svm import SVC

    if kernel not in KERNELS:
        raise ValueError(f"unknown SVM kernel {kernel!r}; choose from {', '.join(KERNELS)}")
    return SVC(kernel=kernel, C=C, gamma=gamma, degree=degree)


def class_scores(model, X, n_classes: int) -> np.ndarray:
    """A fitted model's decision values on X, one column per class of the dataset: column
    k holds label k's values, so that the highest column is the predicted label.
    `model` is an SVC, a Pipeline of a PCA and an SVC, or its `scoring_arrays`.

    scikit-learn gives a column per class the model was trained on, in the order of
    `model.classes_`: where the training subset lacked a class, a column index is not a
    label. Each column goes to its class here, and a class the model never saw gets a
    column below every value the model gave (their minimum less 1): it is never
    predicted, and it ranks every test image alike (a one-vs-rest AUC of 0.5).
    """
    arrays = model if isinstance(model, dict) else scoring_arrays(model)
    values = decision_values(arrays, X)
    classes = np.asarray(arrays["classes"])
    if values.ndim == 1:  # two classes: one value, positive for classes_[1]
        values = np.column_stack([-values, values])
    if classes.min() < 0 or classes.max() >= n_classes:
        raise ValueError(f"the model's classes {classes.tolist()} are not labels 0-{n_classes - 1}")
    scores = np.full((len(values), n_classes), values.min() - 1.0 if values.size else -1.0)
    scores[:, classes] = values
    return scores


def scoring_arrays(model) -> dict[str, np.ndarray]:
    """What `decision_values` needs of a fitted SVC, or of a Pipeline of a PCA and an
    SVC, as plain arrays: the support vectors, their dual coefficients, the intercepts,
    the kernel and its settings, the classes, and the PCA's mean and components (and its
    whitening scale). A scoring job reads them from a .npz (`save_scoring_arrays`)
    without importing scikit-learn; `gamma` is the fitted value (SVC's `_gamma`, the
    number "scale" came to), so a scikit-learn upgrade must rerun tests/test_pca_svm.py.
    """
    arrays: dict[str, np.ndarray] = {}
    steps = getattr(model, "steps", None)
    if steps:
        if len(steps) != 2 or type(steps[0][1]).__name__ != "PCA":
            raise ValueError(f"no scoring arrays for a pipeline of {[n for n, _ in steps]}")
        pca = steps[0][1]
        arrays |= {"pca_mean": pca.mean_, "pca_components": pca.components_}
        if pca.whiten:
            scale = np.sqrt(pca.explained_variance_)
            arrays["pca_scale"] = np.maximum(scale, np.finfo(scale.dtype).eps)
        model = steps[-1][1]
    return arrays | {
        "kernel": np.array(model.kernel),
        "gamma": np.array(float(model._gamma)),
        "coef0": np.array(float(model.coef0)),
        "degree": np.array(int(model.degree)),
        "support_vectors": model.support_vectors_,
        "dual_coef": model.dual_coef_,
        "intercept": model.intercept_,
        "n_support": model.n_support_,
        "classes": np.asarray(model.classes_),
    }


def save_scoring_arrays(models: dict, path) -> str:
    """Each named model's `scoring_arrays` in one .npz (keys "<name>.<array>"), written
    atomically with its sha256 beside it; returns the sha256."""
    from .storage import atomic_path, record_checksum

    arrays = {f"{name}.{k}": v for name, m in models.items() for k, v in scoring_arrays(m).items()}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return record_checksum(path)


def load_scoring_arrays(path) -> dict[str, dict[str, np.ndarray]]:
    """{name: scoring arrays} of a `save_scoring_arrays` file, after checking its sha256;
    plain arrays only (no pickled objects), so loading runs no code from the file."""
    from .storage import verify_checksum

    verify_checksum(path)
    models: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as stored:
        for key in stored.files:
            name, field = key.rsplit(".", 1)
            models.setdefault(name, {})[field] = stored[key]
    return models


def decision_values(model, X) -> np.ndarray:
    """`model.decision_function(X)` of an SVC, or a Pipeline of a PCA and an SVC (or its
    `scoring_arrays`), computed with numpy's matrix multiply: libsvm evaluates the kernel
    one pair of vectors at a time, about ten times slower on MNIST's test set; the values
    agree to rounding (tests/test_pca_svm.py). One-vs-rest shape, as scikit-learn's
    default, from the one-vs-one values of every pair of classes; one value a row for
    two classes. The PCA projects as scikit-learn's does (X times the components, less
    the mean's projection)."""
    arrays = model if isinstance(model, dict) else scoring_arrays(model)
    if "pca_components" in arrays:
        components = arrays["pca_components"]
        X = np.asarray(X) @ components.T - arrays["pca_mean"][None, :] @ components.T
        if "pca_scale" in arrays:
            X = X / arrays["pca_scale"]
    X = np.asarray(X, dtype=np.float64)
    kernel = _kernel(arrays, X)
    coef, intercept = arrays["dual_coef"], arrays["intercept"]
    n = len(arrays["classes"])
    if n == 2:  # scikit-learn's public coefficients already give classes_[1] positive
        return kernel @ coef[0] + intercept[0]
    starts = np.concatenate([[0], np.cumsum(arrays["n_support"])])
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            si, sj = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
            pairs.append(kernel[:, si] @ coef[j - 1, si] + kernel[:, sj] @ coef[i, sj])
    ovo = np.column_stack(pairs) + intercept
    return ovr_decision(ovo < 0, -ovo, n)


def _kernel(arrays: dict, X: np.ndarray) -> np.ndarray:
    """The SVC's kernel between every row of X and every support vector."""
    support, kind = arrays["support_vectors"], str(arrays["kernel"])
    gamma, coef0 = float(arrays["gamma"]), float(arrays["coef0"])
    dot = X @ support.T
    if kind == "linear":
        return dot
    if kind == "poly":
        return (gamma * dot + coef0) ** int(arrays["degree"])
    if kind == "sigmoid":
        return np.tanh(gamma * dot + coef0)
    if kind == "rbf":
        squared = (X**2).sum(axis=1)[:, None] - 2 * dot + (support**2).sum(axis=1)[None, :]
        return np.exp(-gamma * np.maximum(squared, 0))
    raise ValueError(f"no numpy kernel for {kind!r}")


def ovr_decision(predictions: np.ndarray, confidences: np.ndarray, n: int) -> np.ndarray:
    """scikit-learn's one-vs-rest values from one-vs-one ones (its
    utils.multiclass._ovr_decision_function): each class's votes, plus its summed
    confidences squeezed into (-1/3, 1/3) so that they only break ties of votes."""
    votes = np.zeros((len(predictions), n))
    confidence = np.zeros((len(predictions), n))
    k = 0
    for i in range(n):
        for j in range(i + 1, n):
            confidence[:, i] -= confidences[:, k]
            confidence[:, j] += confidences[:, k]
            votes[predictions[:, k] == 0, i] += 1
            votes[predictions[:, k] == 1, j] += 1
            k += 1
    return votes + confidence / (3 * (np.abs(confidence) + 1))


def score_on_test(model, X_test, y_test, n_classes: int | None = None) -> dict:
    """Score a fitted SVM on held-out test data, timing the prediction.

    The AUC uses the continuous decision values (returned as `scores`, one row per
    test image and one column per class, `class_scores`), never hard predictions.
    `n_classes` is the dataset's class count; without it, the highest label the model
    or the test set knows, plus one.
    """
    if n_classes is None:
        n_classes = int(max(np.max(model.classes_), np.max(y_test, initial=0))) + 1
    start = time.perf_counter()
    scores = class_scores(model, X_test, n_classes)
    predicted = np.argmax(scores, axis=1)  # column k is label k
    predict_seconds = time.perf_counter() - start
    result = classification_scores(y_test, predicted, scores)
    result.update(predict_seconds=predict_seconds, test_size=len(y_test), scores=scores)
    return result


def fit_and_score(model, X_train, y_train, X_test, y_test, n_classes: int | None = None) -> dict:
    """Fit on the training data, score on the held-out test data (never the training data)."""
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    result = score_on_test(model, X_test, y_test, n_classes)
    result.update(fit_seconds=fit_seconds, train_size=len(y_train))
    return result


def compare_kernels(
    names, settings, X_train, y_train, X_test, y_test, n_classes: int | None = None
) -> list[dict]:
    rows = []
    for kernel in names:
        model = make_svc(kernel, settings["C"], settings["gamma"], settings["degree"])
        result = fit_and_score(model, X_train, y_train, X_test, y_test, n_classes)
        log.info(
            "%s kernel: test accuracy %.4f, macro AUC %.4f, fit %.2f s",
            kernel,
            result["accuracy"],
            result["macro_auc"],
            result["fit_seconds"],
        )
        rows.append({"kernel": kernel, **result, "model": model})
    return rows


def boundary_grid(Z: np.ndarray, resolution: int, margin: float = 0.5):
    x_min, x_max = Z[:, 0].min() - margin, Z[:, 0].max() + margin
    y_min, y_max = Z[:, 1].min() - margin, Z[:, 1].max() + margin
    return np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))


def decision_regions(names, settings, X: np.ndarray, y: np.ndarray, resolution: int, seed: int):
    """Project X on 2 PCA components, fit each kernel there, predict over a grid."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, svd_solver="covariance_eigh", random_state=seed).fit(X)
    Z = pca.transform(X)
    xx, yy = boundary_grid(Z, resolution)
    panels = []
    for kernel in names:
        model = make_svc(kernel, settings["C"], settings["gamma"], settings["degree"]).fit(Z, y)
        grid = model.predict(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
        accuracy = float(np.mean(model.predict(Z) == y))
        panels.append(
            (f"{KERNEL_LABELS[kernel]} kernel (fit accuracy {accuracy:.2f})", xx, yy, grid)
        )
    return Z, panels


# Among settings tied for the best mean CV accuracy (scikit-learn's rank 1), the one
# chosen: the strongest regularisation, then the smoothest kernel.
# Settings the data cannot tell from the best, and which of them is chosen.
TIE_RULE = (
    "within one standard error of the best mean CV accuracy (the error of the paired "
    "difference to the best: over the seeds' mean differences, or over the folds with one seed)"
)
TIE_BREAK = (
    "the smallest C, then the smallest gamma, among the tied settings (the most regularised)"
)


def grid_subset(y: np.ndarray, size: int, folds: int, seed: int) -> np.ndarray:
    """The grid search's training images: a stratified subset of `size` (all when size
    >= n), drawn with `seed`, in which every class has at least one image for each of
    the `folds` folds where it has that many (`data.subset_indices` with minimum
    `folds`).

    A class with fewer images than folds keeps them all: StratifiedKFold puts each in
    another fold's test part, the other folds are scored without it, and every fold
    trains on the rest of them. Each class this touches gets one warning line.
    """
    from .data import subset_indices

    chosen, rare = subset_indices(y, size, seed, minimum=folds)
    counts = np.bincount(y[chosen])
    for k in np.flatnonzero(counts):
        k = int(k)
        if counts[k] < folds:
            log.warning(
                "class %d has %d training image%s, fewer than the %d folds: all are in the "
                "grid search's %d images, each in another fold's test part; %d fold%s "
                "scored without it",
                k,
                counts[k],
                "s" if counts[k] > 1 else "",
                folds,
                len(chosen),
                folds - counts[k],
                "s are" if folds - counts[k] > 1 else " is",
            )
        elif k in rare:
            log.warning(
                "class %d has %d training images, %.3g expected in a stratified subset of "
                "%d: %d kept, one for each of the %d folds; the other classes stratified as "
                "usual",
                k,
                rare[k]["images"],
                rare[k]["expected"],
                size,
                rare[k]["kept"],
                folds,
            )
    return chosen


def grid_search(X, y, C_values, gamma_values, folds: int, seed: int, n_jobs: int) -> pd.DataFrame:
    """Cross-validated accuracy of the RBF kernel over every (C, gamma), on folds drawn
    with `seed`: one row per setting, each fold's accuracy (fold_<k>), mean and std.

    The folds are stratified. A class with fewer examples than folds (`grid_subset` says
    so in the log) is in the test part of as many folds as it has examples, and the
    other folds are scored without it; scikit-learn's warning about it is not repeated.
    """
    import joblib
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import SVC

    if not C_values or not gamma_values:
        raise ValueError("the SVM grid is empty: give at least one C and one gamma")
    for name, values in (("C", C_values), ("gamma", gamma_values)):
        if len(set(values)) != len(values):
            raise ValueError(f"the SVM grid repeats a {name} value: {list(values)}")
    search = GridSearchCV(
        SVC(kernel="rbf"),
        {"C": list(C_values), "gamma": list(gamma_values)},
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed),
        scoring="accuracy",
        n_jobs=n_jobs,
        refit=False,
        verbose=0,
    )
    # Threads, not processes: libsvm releases the GIL while it fits, and the grid's
    # small fits would otherwise wait seconds for worker processes to start and
    # import scikit-learn (measured on 2 cores: 8 s against 11 s, and 12-15 s serial).
    with joblib.parallel_backend("threading", n_jobs=n_jobs), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class in y has only")
        search.fit(X, y)
    cv = search.cv_results_
    table = pd.DataFrame(
        {
            "seed": seed,
            "C": np.asarray(cv["param_C"], dtype=float),
            "gamma": np.asarray(cv["param_gamma"], dtype=float),
            **{f"fold_{k}": cv[f"split{k}_test_score"] for k in range(folds)},
            "mean_accuracy": cv["mean_test_score"],
            "std_accuracy": cv["std_test_score"],
        }
    )
    return table.sort_values(["C", "gamma"], ignore_index=True)


def choose_grid(tables: list[pd.DataFrame]) -> tuple[pd.DataFrame, dict]:
    """The setting chosen from every seed's grid search: (table per setting, choice).

    The best setting has the highest mean CV accuracy over the seeds (and folds). A
    setting is tied with it when its mean is within one standard error of the best's
    (TIE_RULE): the error of the paired difference, each seed's folds scoring both.
    Among the tied settings the smallest C, then the smallest gamma, is chosen
    (TIE_BREAK). Every seed must have searched the same grid with the same folds.
    """
    runs = pd.concat(tables, ignore_index=True)
    folds = [c for c in runs.columns if c.startswith("fold_")]
    seeds = sorted(runs["seed"].unique())
    by_setting = runs.groupby(["C", "gamma"], sort=True)
    table = by_setting["mean_accuracy"].agg(mean_accuracy="mean", seed_std=_std).reset_index()
    best = table.loc[table["mean_accuracy"].idxmax()]
    scores = runs.set_index(["C", "gamma", "seed"]).sort_index()[folds]
    top = scores.loc[(best["C"], best["gamma"])]
    errors = []
    for c, g in zip(table["C"], table["gamma"], strict=True):
        difference = scores.loc[(c, g)].to_numpy() - top.loc[seeds].to_numpy()  # seeds x folds
        per_seed = difference.mean(axis=1)
        spread = per_seed if len(seeds) > 1 else difference[0]
        errors.append(float(np.std(spread, ddof=1) / np.sqrt(len(spread))))
    table["difference_to_best"] = table["mean_accuracy"] - best["mean_accuracy"]
    table["difference_se"] = errors
    table["tied"] = table["difference_to_best"] >= -table["difference_se"]
    tied = table[table["tied"]].sort_values(["C", "gamma"])
    chosen = tied.iloc[0]
    choice = {
        "C": float(chosen["C"]),
        "gamma": float(chosen["gamma"]),
        "cv_accuracy": float(chosen["mean_accuracy"]),
        "cv_seed_std": float(chosen["seed_std"]),
        "best": [float(best["C"]), float(best["gamma"])],
        "best_cv_accuracy": float(best["mean_accuracy"]),
        "seeds": [int(s) for s in seeds],
        "folds": len(folds),
        "tied": [[float(c), float(g)] for c, g in zip(tied["C"], tied["gamma"], strict=True)],
        "tie_rule": TIE_RULE,
        "tie_break": TIE_BREAK,
    }
    return table, choice


def _std(values) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def score_matrix(table: pd.DataFrame, C_values, gamma_values) -> np.ndarray:
    pivot = table.pivot(index="C", columns="gamma", values="mean_accuracy")
    return pivot.loc[list(map(float, C_values)), list(map(float, gamma_values))].to_numpy()


def final_model(C: float, gamma: float, pca_components: int = 0, seed: int = 0):
    """The RBF SVM with the best settings, optionally after a PCA projection.

    Projecting the 784 features on a few dozen components shrinks every kernel
    evaluation by the same factor, which is what makes all 60,000 training
    digits practical.
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    svc = SVC(kernel="rbf", C=C, gamma=gamma, cache_size=1000)
    if pca_components:
        return Pipeline(
            [
                (
                    "pca",
                    PCA(
                        n_components=pca_components, svd_solver="covariance_eigh", random_state=seed
                    ),
                ),
                ("svc", svc),
            ]
        )
    return svc
