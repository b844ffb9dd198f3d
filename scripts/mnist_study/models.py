"""The registry: the study's stages and its stochastic models, each defined once.

The rules, the sweeps, the config checks, the results tables, the tests and bench read
every list of models or report categories from here.
"""

from __future__ import annotations

from dataclasses import dataclass

# The report's categories, one per stage, in the report's order: a new category is one
# entry here. A run numbers those it holds in turn (report_categories), zero-padded:
# the report's menu sorts the titles as text (String.localeCompare), where "10" comes
# before "2" but "02" before "10".
CATEGORY_TITLES = {
    "data": "Data",
    "pca": "PCA",
    "svm": "SVM",
    "nn_numpy": "Numpy network",
    "mlp": "Keras MLP",
    "cnn": "Keras CNN",
    "results": "Results",
    "sweeps": "Sweeps",
    "record": "Record",
    "robustness": "Robustness",
    "errors": "Errors",
}


def report_categories(absent=()) -> dict[str, str]:
    """{stage: "NN. Title"}, the categories present numbered 01, 02, ... in the report's
    order with no gap, each number as wide as the registry's count of categories ("01.
    Data" ... "11. Errors", whatever the run leaves out), so that sorting them as text
    keeps that order; those `absent` (the sweeps when none is configured), whose rules
    run no job, keep their bare title."""
    present = [key for key in CATEGORY_TITLES if key not in absent]
    width = len(str(len(CATEGORY_TITLES)))
    numbered = {key: f"{n:0{width}d}. {CATEGORY_TITLES[key]}" for n, key in enumerate(present, 1)}
    return {key: numbered.get(key, title) for key, title in CATEGORY_TITLES.items()}


@dataclass(frozen=True)
class Model:
    """A model trained once per seed, in its own folder of runs.

    name: its folder under results/<dataset>/ and, but for the kernels, its name in
        the tables; section: where its settings live in the config; rules: the rules
        run once per seed for it, in order; targets: the files of each run that the default
        target asks for (the rest follow from the rules); category: its report
        category (a key of CATEGORY_TITLES); label: its name in a sentence (short_name),
        unique among the table models; seed_draws: what a seed of repeats.seeds draws
        for it; sweepable: whether a sweep can vary its settings; headline: the metric
        the run log reports for it; kind: "study" for the study's own models, "sklearn"
        or "keras" for one of the config's `models:` (mnist_study.own_models);
        probabilities: whether its scores are class probabilities (False for the SVMs'
        decision values).
    """

    name: str
    section: tuple[str, ...]
    rules: tuple[str, ...]
    targets: tuple[str, ...]
    category: str
    label: str
    seed_draws: str
    sweepable: bool = True
    headline: str = "accuracy"
    kind: str = "study"
    probabilities: bool = True

    @property
    def section_key(self) -> str:
        return ".".join(self.section)


MODELS = {
    model.name: model
    for model in (
        Model(
            "svm_kernels",
            ("svm", "kernels"),
            ("compare_svm_kernels",),
            ("kernels.csv",),
            "svm",
            "SVM kernels",
            "the training subset",
            sweepable=False,
            probabilities=False,
        ),
        Model(
            "svm_final",
            ("svm", "final"),
            ("svm_grid_search", "train_final_svm"),
            ("confusion.png",),
            "svm",
            "final RBF SVM",
            "its grid search's subset and folds, and its training subset",
            probabilities=False,
        ),
        Model(
            "nn_numpy",
            ("nn_numpy",),
            ("train_nn_numpy",),
            ("roc_curves.png",),
            "nn_numpy",
            "numpy network",
            "the initial weights and the minibatch order",
            headline="macro_auc",
        ),
        Model(
            "mlp",
            ("mlp",),
            ("train_mlp",),
            ("confusion.png",),
            "mlp",
            "Keras MLP",
            "the initial weights, the batch order and dropout",
        ),
        Model(
            "cnn",
            ("cnn",),
            ("train_cnn",),
            ("confusion.png", "feature_maps.png"),
            "cnn",
            "Keras CNN",
            "the initial weights, the batch order, dropout and the validation split",
        ),
    )
}
# The models a sweep can vary.
SWEEPABLE = [name for name, model in MODELS.items() if model.sweepable]
# The Keras models: one rule definition serves them all (rules/keras.smk).
KERAS = ["mlp", "cnn"]
# The rules that run once per seed of repeats.seeds.
PER_SEED_RULES = [rule for model in MODELS.values() for rule in model.rules]


# The kernels' runs report one model each, svm_<kernel>: its name in a sentence.
KERNELS = {
    "linear": "linear SVM",
    "poly": "polynomial SVM",
    "sigmoid": "sigmoid SVM",
    "rbf": "RBF SVM",
}


def short_name(model: str) -> str:
    """A table model's name in a sentence: its registry label ("final RBF SVM"), or its
    kernel's ("RBF SVM"). No two table models share one (tests/test_results.py), and
    every readable label starts with it."""
    if model in MODELS:
        return MODELS[model].label
    kernel = model.removeprefix("svm_")
    return KERNELS[kernel] if model.startswith("svm_") and kernel in KERNELS else model


def readable(model: str, settings: dict, train_size: int | None = None) -> str:
    """A table model's label in the tables and figures: its short name, then the settings
    that tell it apart, "final RBF SVM, C = 10, gamma = 0.01, 3,000 images" against the
    kernels' "RBF SVM, C = 1, 1,000 images" (the SVMs train on a subset, whose size is
    named; the networks on the whole training set, or all but its validation split). A
    model of the config's `models:` is called by its label there, or its name."""
    if model in MODELS and MODELS[model].kind != "study":
        return MODELS[model].label
    kernel = model.removeprefix("svm_")
    if model.startswith("svm_") and kernel in KERNELS:
        parts = [f"degree {settings['degree']}"] if kernel == "poly" else []
        parts.append(f"C = {settings['C']:g}")
    elif model == "svm_final":
        parts = [f"C = {settings['C']:g}", f"gamma = {settings['gamma']:g}"]
        if settings.get("pca_components"):
            parts.append(f"{settings['pca_components']} PCA components")
    elif model == "nn_numpy":
        parts = [f"{settings['hidden']} sigmoid units"]
    elif model == "mlp":
        parts = [f"hidden layers {'-'.join(map(str, settings['hidden']))}"]
    elif model == "cnn":
        parts = ["LeNet-5-like"]
    else:
        return model
    if train_size and model.startswith("svm_"):
        parts.append(f"{train_size:,} images")
    return ", ".join([short_name(model), *parts])


def unique_labels(labels: dict[str, str]) -> dict[str, str]:
    """`labels` ({table model: its label}), checked: no two models share a label or a
    short name (a ValueError names them)."""
    for name, of in (("label", labels), ("short name", {m: short_name(m) for m in labels})):
        seen: dict[str, str] = {}
        for model, label in of.items():
            if label in seen:
                raise ValueError(f"{seen[label]} and {model} share the {name} {label!r}")
            seen[label] = model
    return labels


def table_models(kernels) -> list[str]:
    """The models of the tables, in their order: one per kernel of `kernels` (the
    svm.kernels.names setting), then every other stochastic model."""
    return [f"svm_{kernel}" for kernel in kernels] + [m for m in MODELS if m != "svm_kernels"]


def run_model(model: str) -> str:
    """The registry model whose runs hold a table model: the kernels' folder for each
    kernel, the model itself otherwise."""
    return "svm_kernels" if model.removeprefix("svm_") in KERNELS else model


def headline_metric(model: str) -> str:
    """The metric the run log reports for `model` (a table's model name)."""
    return MODELS[model].headline if model in MODELS else "accuracy"


# The file of each model's run that holds what it learnt (its .sha256 beside it): the
# robustness stage scores every run again from it (scoring.py).
SAVED = {
    "svm_kernels": "models.npz",  # svm.scoring_arrays, beside models.skops
    "svm_final": "model.npz",
    "nn_numpy": "weights.npz",
    "mlp": "model.keras",
    "cnn": "model.keras",
}


# The seeds of a model of the config's `models:`, by its kind.
OWN_SEED_DRAWS = {
    "sklearn": "its training subset and its random_state, where it has one",
    "keras": "the initial weights, the batch order, dropout and the validation split",
}
# The file of a model of the config's `models:` that holds what it learnt, by its kind.
OWN_SAVED = {"sklearn": "model.skops", "keras": "model.keras"}


def own_model(spec: dict) -> Model:
    """The registry entry of one of the config's `models:` from its spec
    (own_models.spec: name, kind, label, probabilities): one training rule, train_<name>,
    its figures in the Results category."""
    name = spec["name"]
    return Model(
        name,
        ("models", name),
        (f"train_{name}",),
        ("confusion.png",),
        "results",
        spec.get("label") or name,
        OWN_SEED_DRAWS[spec["kind"]],
        kind=spec["kind"],
        probabilities=bool(spec["probabilities"]),
    )


def register(specs) -> None:
    """Add the config's own models (their specs, own_models.spec) to the registry: to
    MODELS, SWEEPABLE, PER_SEED_RULES and SAVED, in place, so that every module that
    imported them sees them. The Snakefile registers them as it is parsed, and each job
    of a rule that needs them from its `own_models` param (runtime.run_rule). Registering
    the same spec again changes nothing; another model under a taken name is refused."""
    for spec in specs or ():
        model = own_model(spec)
        if model.name in MODELS:
            if MODELS[model.name] != model:
                raise ValueError(f"a model named {model.name!r} is already registered")
            continue
        MODELS[model.name] = model
        SWEEPABLE.append(model.name)
        PER_SEED_RULES.extend(model.rules)
        SAVED[model.name] = OWN_SAVED[model.kind]


def unregister(names) -> None:
    """Take the config's own models `names` out of the registry again (the tests)."""
    for name in names:
        model = MODELS.get(name)
        if model is None or model.kind == "study":
            continue
        del MODELS[name], SAVED[name]
        SWEEPABLE.remove(name)
        for rule in model.rules:
            PER_SEED_RULES.remove(rule)
