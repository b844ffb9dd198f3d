"""Models of your own in the study: the config's `models:` (config/README.md).

Each entry names a model by its kind: a scikit-learn classifier by its import path
(`estimator`) and keyword arguments, on raw pixels or on PCA components, trained on a
subset of the training set; or a Keras model built by a function in a Python file of
the user's (`file`, `function`), which the pipeline compiles and trains as it does the
MLP and the CNN (keras_models). Either is a registry model like the study's own
(models.register): one training job per seed, its predictions, metrics, robustness
scores, card and record.

What can go wrong is refused before any job runs, one line per problem (`check`): an
import path that names no scikit-learn classifier, a keyword it does not take, a file
outside the workflow's folder and the working directory, a function that does not
return a Keras model with one softmax output per class (built once per change of the
file, in a subprocess on Keras's numpy backend, `keras_problem`, and remembered under
.snakemake/).

A run's settings (`run_settings`) are the entry's flattened: its training keys and its
`settings:` side by side, so that a sweep varies either by its name; `label` and
`resources` are not among them (changing them retrains nothing).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import keyword
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .config import ConfigError

log = logging.getLogger(__name__)

KINDS = ("sklearn", "keras")
# The keys of an entry of each kind that the pipeline reads, with their defaults (None:
# required); `settings:` holds the rest: the estimator's keyword arguments, or what the
# user's function takes.
TRAINING_KEYS = {
    "sklearn": {"estimator": None, "features": "pixels", "pca_components": 50, "subset": 0},
    "keras": {
        "file": None,
        "function": "build",
        "optimizer": "adam",
        "learning_rate": 0.001,
        "epochs": 5,
        "batch_size": 128,
        "validation_split": 0.1,
    },
}
# Keys of every entry that are no training setting.
OTHER_KEYS = ("kind", "label", "settings", "resources")
# The optimizers a Keras entry may name, by their class in keras.optimizers.
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
# Every image is 28x28 (datasets.py): a Keras model takes it with its channel.
IMAGE_SHAPE = (28, 28, 1)
# The PCA of a model on `features: pca`: the study's solver (config.yaml's pca.solver).
PCA_SOLVER = "covariance_eigh"
# A name becomes a folder, a rule's name (train_<name>) and a table's model.
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def reserved_names() -> set[str]:
    """Names a model of the config cannot take: the study's models, the kernels' table
    models (svm_<kernel>, and the kernels' bare names that models.run_model reads as
    theirs) and every name whose train_<name> is a rule of the study's."""
    from .models import KERNELS, MODELS, PER_SEED_RULES

    study = [name for name, model in MODELS.items() if model.kind == "study"]
    rules = [rule.removeprefix("train_") for rule in PER_SEED_RULES]
    return {*study, *KERNELS, *(f"svm_{k}" for k in KERNELS), *rules, "base", "svm", "final_svm"}


def run_settings(entry: dict) -> dict:
    """What a run of `entry` trains with: its kind, its training keys (defaults filled in)
    and its `settings:`, in one flat dict. A pixels model has no pca_components."""
    kind = entry["kind"]
    settings = {"kind": kind}
    for key, default in TRAINING_KEYS[kind].items():
        settings[key] = default if entry.get(key) is None else entry[key]
    if kind == "sklearn" and settings["features"] != "pca":
        del settings["pca_components"]
    settings.update(entry.get("settings") or {})
    return settings


def split_settings(settings: dict) -> tuple[dict, dict]:
    """(training keys, the user's settings) of a run's flat `settings`."""
    keys = {"kind", *TRAINING_KEYS[settings["kind"]]}
    return (
        {k: v for k, v in settings.items() if k in keys},
        {k: v for k, v in settings.items() if k not in keys},
    )


def resources(entry: dict) -> dict:
    """The entry's `resources:` with the defaults of its kind: mem_mb, runtime (minutes),
    threads (the cores the scheduler gives the job) and gpu (a Keras model asks for one,
    as the MLP and CNN do)."""
    given = entry.get("resources") or {}
    defaults = {
        "mem_mb": 4000,
        "runtime": 60,
        "threads": None,
        "gpu": int(entry["kind"] == "keras"),
    }
    return {
        key: default if given.get(key) is None else given[key] for key, default in defaults.items()
    }


# --- the checks -------------------------------------------------------------------


def estimator_class(path: str):
    """The scikit-learn classifier class at import path `path`; ConfigError otherwise.

    Only modules under `sklearn.` are imported, so a path can run no code but
    scikit-learn's own.
    """
    if not isinstance(path, str) or not re.fullmatch(r"sklearn(\.[A-Za-z_]\w*)+", path):
        raise ConfigError(
            f"{path!r} is not the import path of a scikit-learn class "
            "(sklearn.<module>.<Class>, e.g. sklearn.linear_model.LogisticRegression)"
        )
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ConfigError(f"{path}: scikit-learn has no module {module_name}") from None
    found = getattr(module, name, None)
    if found is None:
        raise ConfigError(f"{path}: {module_name} has no {name}")
    from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier

    classifier = inspect.isclass(found) and issubclass(found, BaseEstimator)
    if classifier:
        try:  # is_classifier reads an instance's tags
            classifier = is_classifier(found())
        except TypeError:  # a class with required arguments (a meta-estimator)
            classifier = issubclass(found, ClassifierMixin)
    if not classifier:
        raise ConfigError(f"{path} is not a scikit-learn classifier (sklearn.base.is_classifier)")
    return found


def make_estimator(settings: dict, seed: int):
    """A fresh estimator of a run's flat `settings`, its random_state the run's `seed`
    where it takes one; behind a PCA of `pca_components` for `features: pca`."""
    keys, kwargs = split_settings(settings)
    cls = estimator_class(keys["estimator"])
    estimator = cls(**kwargs)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    if keys["features"] == "pca":
        from sklearn.decomposition import PCA
        from sklearn.pipeline import Pipeline

        components = keys.get("pca_components", TRAINING_KEYS["sklearn"]["pca_components"])
        pca = PCA(components, svd_solver=PCA_SOLVER, random_state=seed)
        return Pipeline([("pca", pca), ("model", estimator)])
    return estimator


def gives_probabilities(estimator) -> bool:
    """Whether `estimator` (unfitted, with its settings) has predict_proba: some offer it
    only for some settings (SVC's probability, SGDClassifier's loss)."""
    return hasattr(estimator, "predict_proba")


def find_file(text: str, roots) -> Path | None:
    """The file `text` names, relative to the first of `roots` (the working directory,
    then the workflow's folder) where it exists and lies inside that root; None if none."""
    for root in roots:
        root = Path(root).resolve()
        path = (root / text).resolve()
        if path.is_file() and path.is_relative_to(root):
            return path
    return None


def entry_problems(name: str, entry: dict, roots) -> tuple[list[str], dict | None]:
    """(problems, spec) of one entry of `models:`, each problem one line; the spec
    (`spec`) when there are none."""
    where = f"models.{name}"
    if not NAME.match(name):
        return [
            f"{where}: a model's name becomes a folder and a rule's name: use lower-case "
            "letters, digits and '_', starting with a letter"
        ], None
    if name in reserved_names():
        return [f"{where}: {name!r} is a name of the study's own (models.py); choose another"], None
    kind = entry.get("kind")
    if kind not in KINDS:
        return [f"{where}.kind: {kind!r} is not allowed (allowed: {', '.join(KINDS)})"], None
    problems = []
    other = TRAINING_KEYS["keras" if kind == "sklearn" else "sklearn"]
    for key in entry:  # null: not given (the schema's default)
        if key not in TRAINING_KEYS[kind] and key not in OTHER_KEYS and entry[key] is not None:
            hint = " (a key of the other kind)" if key in other else ""
            allowed = ", ".join([*OTHER_KEYS, *TRAINING_KEYS[kind]])
            problems.append(
                f"{where}: unknown key {key!r} for kind {kind}{hint} (allowed: {allowed})"
            )
    for key, default in TRAINING_KEYS[kind].items():
        if default is None and not entry.get(key):
            problems.append(f"{where}: kind {kind} needs {key}")
    user = entry.get("settings") or {}
    for key in user:
        if key in TRAINING_KEYS[kind] or key in OTHER_KEYS:
            problems.append(
                f"{where}.settings.{key}: {key} is a key of the entry itself; give it "
                f"as {where}.{key}"
            )
    if problems:
        return problems, None
    probabilities = True
    if kind == "sklearn":
        try:
            cls = estimator_class(entry["estimator"])
        except ConfigError as err:
            return [f"{where}.estimator: {err}"], None
        if "random_state" in user:
            problems.append(
                f"{where}.settings.random_state: set by each seed of repeats.seeds; leave it out"
            )
        known = [
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        for key in user:
            if key not in known:
                problems.append(
                    f"{where}.settings.{key}: {entry['estimator']} takes no {key!r} "
                    f"(it takes: {', '.join(sorted(known))})"
                )
        if problems:
            return problems, None
        try:
            estimator = cls(**user)
        except (TypeError, ValueError) as err:
            return [f"{where}.settings: {entry['estimator']} refuses them: {err}"], None
        if not (hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")):
            problems.append(
                f"{where}.estimator: {entry['estimator']} gives neither class probabilities "
                "(predict_proba) nor decision values (decision_function), which the study scores"
            )
        probabilities = gives_probabilities(estimator)
    else:
        if find_file(entry["file"], roots) is None:
            inside = " or ".join(str(Path(r).resolve()) for r in roots)
            problems.append(f"{where}.file: {entry['file']} is no file inside {inside}")
        function = entry.get("function") or "build"
        if not function.isidentifier() or keyword.iskeyword(function):
            problems.append(f"{where}.function: {function!r} is no Python name")
    if problems:
        return problems, None
    return [], spec(name, entry, probabilities)


def spec(name: str, entry: dict, probabilities: bool) -> dict:
    """What the registry holds of a model of the config (models.register), and every
    job that reads tables of it gets as a param: no setting of it, so that a change of
    one model's settings reruns no job of another's."""
    return {
        "name": name,
        "kind": entry["kind"],
        "label": entry.get("label") or "",
        "probabilities": bool(probabilities),
    }


def check(models: dict, roots, n_classes: int, cache_dir: str | Path | None = None) -> list[dict]:
    """The specs of the config's `models:`; ConfigError with one line per problem.

    `roots`: the folders a Keras file may lie in (the working directory, the
    workflow's); `n_classes`: the run's dataset's classes, which each Keras model must
    output; `cache_dir`: where each Keras file's check is remembered (None: checked
    every time).
    """
    problems, specs = [], []
    for name, entry in (models or {}).items():
        found, made = entry_problems(name, entry, roots)
        problems += found
        if made is None:
            continue
        if entry["kind"] == "keras":
            path = find_file(entry["file"], roots)
            problem = checked_keras_file(path, run_settings(entry), n_classes, cache_dir)
            if problem:
                problems.append(f"models.{name}.file: {entry['file']}: {problem}")
                continue
        specs.append(made)
    if problems:
        raise ConfigError("invalid models:\n  " + "\n  ".join(problems))
    return specs


# --- scikit-learn runs --------------------------------------------------------------


def class_scores(estimator, X: np.ndarray, n_classes: int, probabilities: bool) -> np.ndarray:
    """The estimator's scores of X, one column per class of the dataset (column k for
    label k): its probabilities, or its decision values. A class it never saw in
    training gets probability 0, or a decision value below every other of its row."""
    raw = estimator.predict_proba(X) if probabilities else estimator.decision_function(X)
    raw = np.asarray(raw, dtype=np.float64)
    classes = np.asarray(estimator.classes_).astype(np.int64)
    if raw.ndim == 1:  # two classes seen: the decision value of the second
        raw = np.stack([-raw, raw], axis=1)
    if len(classes) == n_classes and (classes == np.arange(n_classes)).all():
        return raw
    floor = 0.0 if probabilities else (raw.min(axis=1) - 1.0)[:, None]
    scores = np.broadcast_to(floor, (len(X), n_classes)).astype(np.float64).copy()
    scores[:, classes] = raw
    return scores


def fit_sklearn(settings: dict, seed: int, X, y, X_test, n_classes: int, probabilities: bool):
    """One run of a scikit-learn model: subset (seeded, stratified), fit, score the test
    set. Returns a dict: the fitted `model`, `train_size`, the test set's `scores`, and
    `fit_seconds` and `predict_seconds`."""
    from .data import stratified_subset

    keys, _ = split_settings(settings)
    idx = stratified_subset(y, keys["subset"], seed) if keys["subset"] else np.arange(len(y))
    estimator = make_estimator(settings, seed)
    log.info(
        "%s, seed %d: training on %d images%s",
        keys["estimator"],
        seed,
        len(idx),
        " projected on PCA components" if keys["features"] == "pca" else "",
    )
    start = time.perf_counter()
    estimator.fit(X[idx], y[idx])
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = class_scores(estimator, X_test, n_classes, probabilities)
    return {
        "model": estimator,
        "train_size": len(idx),
        "scores": scores,
        "fit_seconds": fit_seconds,
        "predict_seconds": time.perf_counter() - start,
    }


# Plain data a saved estimator may hold besides storage's: numpy's scalars and random
# generators (HistGradientBoostingClassifier keeps one).
_NUMPY_TYPES = {
    *(f"numpy.{t}" for t in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "bool_")),
    "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64",
    "numpy.random.mtrand.RandomState",
}


def trusted_types(path: str | Path, estimator: str) -> list[str]:
    """The types a saved model of `estimator` (an import path) may hold, of those its
    file names: the estimator's class, the PCA and pipeline before it, and the classes
    of scikit-learn it is built of (trees, losses, label encoders), each checked to be
    a class in scikit-learn's own modules; plain data. A function, or a type of any
    other package, makes storage.load_model refuse the file."""
    from .storage import model_file_types

    trusted = []
    for name in sorted(model_file_types(path)):
        if name in _NUMPY_TYPES:
            trusted.append(name)
        elif name.startswith("sklearn."):
            module_name, _, attr = name.rpartition(".")
            try:
                found = getattr(importlib.import_module(module_name), attr, None)
            except ImportError:
                found = None
            if inspect.isclass(found):
                trusted.append(name)
    return sorted({*trusted, estimator_path(estimator)})


def estimator_path(path: str) -> str:
    """The class's full path as skops names it (sklearn.linear_model._logistic.<Class>)."""
    cls = estimator_class(path)
    return f"{cls.__module__}.{cls.__qualname__}"


def load_sklearn(path: str | Path, estimator: str):
    """A saved scikit-learn run, its checksum checked, trusting only `trusted_types`."""
    from .storage import load_model

    return load_model(path, trusted=trusted_types(path, estimator))


# --- Keras runs ---------------------------------------------------------------------


def load_function(path: str | Path, function: str):
    """The function `function` of the user's Python file at `path`."""
    module_name = "own_model_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    found = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    made = getattr(module, function, None)
    if not callable(made):
        raise ConfigError(f"{path} defines no function {function}")
    return made


def _layers(model):
    """Every layer of `model`, those inside nested models too."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def keras_problem(model, n_classes: int) -> str | None:
    """What is wrong with what the user's function returned, in one line; None if it is
    a keras.Model of Keras's own layers taking IMAGE_SHAPE with one softmax output per
    class (its outputs on a blank image sum to 1)."""
    import keras

    if not isinstance(model, keras.Model):
        return f"the function returned {type(model).__name__}, not a keras.Model"
    if len(model.outputs) != 1:
        return f"the model has {len(model.outputs)} outputs; give it one"
    shape = tuple(model.outputs[0].shape)
    if shape != (None, n_classes):
        return (
            f"the model's output shape is {shape}, not (None, {n_classes}): one column per "
            f"class of the dataset"
        )
    foreign = sorted(
        {
            type(layer).__module__ + "." + type(layer).__name__
            for layer in _layers(model)
            if not type(layer).__module__.startswith("keras.")
        }
    )
    if foreign:
        return (
            f"layers not of Keras's own ({', '.join(foreign)}): a saved model is loaded in "
            "Keras's safe mode, which builds Keras's own layers only"
        )
    probabilities = keras.ops.convert_to_numpy(model(np.zeros((2, *IMAGE_SHAPE), "float32")))
    if not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4) or (probabilities < 0).any():
        return "the model's outputs are not class probabilities: end it with a softmax"
    return None


def build_keras(settings: dict, n_classes: int, steps_per_execution: int = 1):
    """The user's model of a run's flat `settings` (its `file` the path to load),
    checked (`keras_problem`) and compiled: the entry's optimizer and learning rate,
    cross-entropy, as keras_models compiles the MLP and the CNN."""
    import keras

    keys, user = split_settings(settings)
    model = load_function(keys["file"], keys["function"])(IMAGE_SHAPE, n_classes, user)
    problem = keras_problem(model, n_classes)
    if problem:
        raise ConfigError(f"{keys['file']}: {keys['function']}: {problem}")
    optimizer = getattr(keras.optimizers, OPTIMIZERS[keys["optimizer"]])
    from .keras_models import compile_model

    compile_model(model, keys["learning_rate"], steps_per_execution, optimizer)
    return model


def checked_keras_file(path, settings: dict, n_classes: int, cache_dir) -> str | None:
    """`keras_problem` of the model the file at `path` builds with `settings`, or why it
    could not be built, in one line; None if it is fine.

    It is built in a subprocess on Keras's numpy backend (the parse itself imports no
    Keras), once per content of the file, settings and class count: a fine result is
    remembered in `cache_dir`. Where this Python has no Keras (a run with
    --software-deployment-method conda), the training job checks it instead.
    """
    if importlib.util.find_spec("keras") is None:
        return None
    keys, user = split_settings(settings)
    key = hashlib.sha256(
        json.dumps(
            [Path(path).read_bytes().hex(), keys["function"], user, n_classes], sort_keys=True
        ).encode()
    ).hexdigest()[:24]
    remembered = Path(cache_dir) / f"{key}.ok" if cache_dir else None
    if remembered is not None and remembered.exists():
        return None
    env = {
        **os.environ,
        "KERAS_BACKEND": "numpy",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    request = json.dumps([str(path), keys["function"], user, n_classes])
    done = subprocess.run(
        [sys.executable, "-c", "from mnist_study.own_models import _check_main; _check_main()"],
        input=request,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"building it failed: {last}"
    problem = json.loads(lines[-1])
    if problem is None and remembered is not None:
        from .storage import write_text

        write_text(remembered, "")
    return problem


def _check_main() -> None:
    """The subprocess of `checked_keras_file`: the request on stdin, the problem (or
    null) as JSON on the last line of stdout."""
    import warnings

    warnings.filterwarnings("ignore")
    path, function, user, n_classes = json.loads(sys.stdin.read())
    try:
        model = load_function(path, function)(IMAGE_SHAPE, n_classes, user)
        problem = keras_problem(model, n_classes)
    except Exception as err:  # the user's code: any error is the answer
        problem = f"{function}(input_shape, n_classes, settings) raised {type(err).__name__}: {err}"
    print(json.dumps(problem))


# --- a run's scores -----------------------------------------------------------------

# The stage of a model of the config's own in the metrics tables.
STAGE = "own"


def score_run(name: str, settings: dict, y_test, scores, probabilities: bool, **row):
    """(scores, metrics row) of one run of model `name`: as the networks' (with its
    test loss) where `scores` are probabilities, as the SVMs' (no loss) where they are
    decision values. `row` holds train_size, fit_seconds, predict_seconds and seed."""
    from . import metrics

    if probabilities:
        seed = row.pop("seed")
        return metrics.score_probabilities(
            STAGE, name, dict(settings), y_test, scores, seed=seed, **row
        )
    found = metrics.classification_scores(y_test, np.argmax(scores, axis=1), scores)
    found["test_loss"] = None
    made = metrics.metric_row(
        STAGE,
        name,
        dict(settings),
        test_size=len(y_test),
        accuracy=found["accuracy"],
        macro_auc=found["macro_auc"],
        auc_classes=found["auc_classes"],
        **row,
    )
    return found, made
