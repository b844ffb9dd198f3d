"""The Keras MLP and LeNet-5-like CNN, written against the Keras 3 API only.

Nothing here calls a backend directly, so the same code runs with the tensorflow
backend (the default), jax or torch (config key `keras_backend`). A saved model is
scored again (the robustness stage) with Keras's own inference-only numpy backend
(SCORING_BACKEND), whichever backend trained it. `configure_backend` must run before
Keras is first imported.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time

import numpy as np

log = logging.getLogger(__name__)


BACKENDS = ("tensorflow", "jax", "torch")
# Keras's numpy backend runs a saved model forward (it cannot train): a scoring job imports
# it in 0.9 CPU-seconds against TensorFlow's 2.3, and takes 4.4 CPU-seconds in all against
# 6.2 (bench/README.md). Its convolutions run on jax.lax, so it needs JAX (a dependency).
# Its probabilities agree with the training backend's to float32 rounding, not bit for
# bit (tests/test_robustness.py).
SCORING_BACKEND = "numpy"


def configure_backend(
    threads: int, backend: str = "tensorflow", deterministic: bool = True
) -> None:
    """Backend, thread counts and determinism; call before keras is first imported.

    `backend` is the config's `keras_backend` (SCORING_BACKEND to score saved models);
    `threads` is the config's `threads`, never the scheduler's count, since the threads
    that share a sum set its order and so its rounding: these settings leave nothing
    else to the machine or to --cores.
    TensorFlow gets `threads` intra-op threads and one inter-op thread (independent ops
    run one after another, whatever the count). JAX sizes its CPU thread pool by the
    `NPROC` variable, else by every CPU the process may run on:
    `--xla_cpu_multi_thread_eigen=false`, the flag usually given for this, left a
    one-thread job on both cores of a 2-core machine (1.9 CPU-seconds a second); with
    `NPROC` it used 1.1 (the numpy backend's convolutions run on the same client). Torch
    sizes its intra-op pool by `OMP_NUM_THREADS` when it is imported (its inter-op pool
    serves only TorchScript's forks, which Keras never makes).
    """
    if backend not in (*BACKENDS, SCORING_BACKEND):
        raise ValueError(f"keras_backend {backend!r} is not one of {', '.join(BACKENDS)}")
    package = "jax" if backend == SCORING_BACKEND else backend
    if importlib.util.find_spec(package) is None:
        how = "uv sync --extra torch" if backend == "torch" else "the README's setup command"
        raise ModuleNotFoundError(
            f"keras backend {backend!r} needs the {package} package, which this Python "
            f"({sys.executable}) lacks: install it with {how} (config/README.md)"
        )
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != backend:
        raise RuntimeError(
            f"keras was imported with the {keras.backend.backend()} backend before "
            f"configure_backend({backend!r}); a process runs one backend"
        )
    threads = max(1, int(threads))
    os.environ["KERAS_BACKEND"] = backend
    if backend == SCORING_BACKEND:  # a CPU backend: JAX need not look for a GPU or TPU
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = str(threads)
    # Read by XLA's CPU client (DefaultThreadPoolSize), which JAX runs on.
    os.environ["NPROC"] = str(threads)
    if deterministic:
        # Same seed, same machine, same metrics: TensorFlow's deterministic kernels
        # (XLA on a CPU, which JAX uses, is deterministic as it is).
        os.environ["TF_DETERMINISTIC_OPS"] = "1"


# Packages that the frameworks' own imports try (inside try/except ImportError) for
# features a run never uses: TensorFlow's TFLite tools import JAX where it is installed
# (tensorflow/lite/python/util.py), and Keras's scikit-learn wrappers scikit-learn
# (keras/src/wrappers/fixes.py); each costs a job about a second of its start. The numpy
# backend runs only in scoring jobs (scripts/score_run.py), which draw nothing:
# Keras's image gallery's try of matplotlib.pyplot is skipped there too
# (keras/src/visualization/plot_image_gallery.py, 0.3 s of CPU time a job). Not pandas,
# which Keras's array slicing tries too: pyarrow's Parquet reader imports it whenever it
# is installed, and fails where it is skipped.
UNUSED_PROBES = {
    "tensorflow": ("jax", "sklearn"),
    "jax": ("sklearn",),
    "torch": ("sklearn",),
    SCORING_BACKEND: ("sklearn", "matplotlib"),
}


def skip_unused_probes(backend: str) -> None:
    """Let the frameworks' tries of UNUSED_PROBES fail at once (as if not installed), in
    a Keras job's own process, before keras is imported; never in a process that goes
    on to use them (bench/plain_study.py fits its SVMs in the same process)."""
    for name in UNUSED_PROBES.get(backend, ()):
        if name == backend or name in sys.modules:
            continue
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError


def set_seed(value: int) -> None:
    """Seed Python, numpy and the backend: initial weights, dropout and shuffling."""
    import keras

    keras.utils.set_random_seed(value)


def build_mlp(
    hidden=(1200, 1200),
    dropout: float = 0.4,
    learning_rate: float = 1e-3,
    steps_per_execution: int = 1,
    classes: int = 10,
):
    """784-1200-1200-10: ReLU, dropout after the first hidden layer, softmax, Adam.

    `classes` sets the output layer (10 for MNIST, the dataset's class count otherwise).
    """
    import keras
    from keras import layers

    stack = [keras.Input(shape=(784,), name="pixels")]
    for i, units in enumerate(hidden):
        stack.append(layers.Dense(units, activation="relu", name=f"hidden_{i + 1}"))
        if i == 0:
            stack.append(layers.Dropout(dropout, name="dropout"))
    stack.append(layers.Dense(classes, activation="softmax", name="output"))
    model = keras.Sequential(stack, name="mlp")
    _compile(model, learning_rate, steps_per_execution)
    return model


def build_cnn(
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
    steps_per_execution: int = 1,
    classes: int = 10,
):
    """LeNet-5-like: conv 6@3x3, pool, conv 16@3x3, pool, dense 120, dropout, 84, 10.

    `classes` sets the output layer, as for the MLP.
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            layers.Conv2D(6, 3, activation="relu", name="conv_1"),
            layers.MaxPooling2D(2, name="pool_1"),
            layers.Conv2D(16, 3, activation="relu", name="conv_2"),
            layers.MaxPooling2D(2, name="pool_2"),
            layers.Flatten(name="flatten"),
            layers.Dense(120, activation="relu", name="dense_120"),
            layers.Dropout(dropout, name="dropout"),
            layers.Dense(84, activation="relu", name="dense_84"),
            layers.Dense(classes, activation="softmax", name="output"),
        ],
        name="cnn",
    )
    _compile(model, learning_rate, steps_per_execution)
    return model


def build(kind: str, settings: dict, classes: int = 10, **compile_options):
    """The model of config section `kind` ("mlp" or "cnn" of config.yaml), `classes` outputs;
    kind "own": a Keras model of the config's `models:`, `settings` its run's
    (own_models.build_keras).

    `compile_options` (`steps_per_execution`) override the section's.
    """
    options = {"steps_per_execution": settings.get("steps_per_execution", 1), **compile_options}
    if kind == "own":
        from . import own_models

        return own_models.build_keras(settings, classes, **options)
    if kind == "mlp":
        return build_mlp(
            settings["hidden"], settings["dropout"], settings["learning_rate"], **options,
            classes=classes,
        )  # fmt: skip
    if kind == "cnn":
        return build_cnn(settings["dropout"], settings["learning_rate"], **options, classes=classes)
    raise ValueError(f"unknown model kind {kind!r}: mlp, cnn or own")


def training_arrays(kind: str, settings: dict, X, y, X_test, seed: int):
    """What config section `kind` trains and scores on: (X_fit, y_fit, validation, X_test).

    The MLP takes the flat rows as they are. The CNN takes 28x28x1 images, and holds
    out `validation_split` of the training images by a split seeded with `seed`
    (`keep_every_class` returns a rare class's images to training if all fell out).
    A Keras model of the config's own ("own") takes the images as the CNN does, with no
    validation part where its validation_split is 0.
    """
    if kind == "mlp":
        return X, y, None, X_test
    images = as_images(X)
    if kind == "own" and not settings["validation_split"]:
        return images, y, None, as_images(X_test)
    fit_idx, val_idx = validation_split(len(y), settings["validation_split"], seed)
    fit_idx, val_idx = keep_every_class(y, fit_idx, val_idx)
    return images[fit_idx], y[fit_idx], (images[val_idx], y[val_idx]), as_images(X_test)


def keep_every_class(y, fit_idx: np.ndarray, val_idx: np.ndarray):
    """A class whose every training image fell in the validation part (a class of a few
    images, by chance) goes back to the part trained on, so that the model learns it;
    the validation scores go without it. One warning line per class moved."""
    for k in np.setdiff1d(np.unique(y[val_idx]), np.unique(y[fit_idx])):
        moved = val_idx[y[val_idx] == k]
        if len(moved) == len(val_idx):
            continue  # nothing would be left to validate on
        log.warning(
            "class %d: all %d of its training images fell in the CNN's validation split; "
            "moved to the images it trains on, and validated without it",
            k,
            len(moved),
        )
        fit_idx = np.sort(np.concatenate([fit_idx, moved]))
        val_idx = val_idx[y[val_idx] != k]
    return fit_idx, val_idx


def _compile(model, learning_rate: float, steps_per_execution: int) -> None:
    """Adam and cross-entropy (compile_model)."""
    import keras

    compile_model(model, learning_rate, steps_per_execution, keras.optimizers.Adam)


def compile_model(model, learning_rate: float, steps_per_execution: int, optimizer) -> None:
    """`optimizer` (a keras.optimizers class) at `learning_rate` and cross-entropy, and
    the speed lever of the training loop: the MLP's, the CNN's and the config's own
    Keras models' (own_models.build_keras).

    `steps_per_execution` runs that many training steps per call of the compiled
    train function, so the per-call overhead (Python, callbacks, dispatch) is paid
    once for all of them. XLA is Keras's choice: on for jax; for tensorflow Keras keeps
    it off while deterministic ops are on (as `configure_backend` sets them).
    """
    import keras

    if steps_per_execution > 1 and keras.backend.backend() == "torch":
        # Keras's torch trainer refuses anything but 1. The setting changes only
        # how many steps one call runs, never what they compute, so a config made
        # for the other backends runs unchanged.
        log.info(
            "steps_per_execution %d: the torch backend runs one step per call; using 1",
            steps_per_execution,
        )
        steps_per_execution = 1
    # Sparse categorical cross-entropy is categorical cross-entropy with the
    # labels given as integers rather than one-hot rows: the same loss.
    model.compile(
        optimizer=optimizer(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def as_images(X: np.ndarray) -> np.ndarray:
    return X.reshape(-1, 28, 28, 1)


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded shuffled split of range(n) into training and validation indices."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * fraction))
    if not 0 < n_val < n:
        raise ValueError(f"validation fraction {fraction} of {n} examples leaves an empty side")
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def epoch_logger():
    """A callback that logs each epoch's metrics and time (progress on long runs)."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            logs["seconds"] = time.perf_counter() - self.start
            shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items()))
            log.info("epoch %d/%d: %s", epoch + 1, self.params.get("epochs", 0), shown)

    return EpochLog()


TRAINING_LOOPS = ("fit", "scan")


def train(
    model,
    X,
    y,
    epochs: int,
    batch_size: int,
    seed: int,
    validation=None,
    training_loop: str = "fit",
) -> list[dict]:
    """Fit with shuffling seeded by `seed`; returns one record per epoch.

    `training_loop` "fit" is Keras's `model.fit`; "scan" (jax backend only) runs the
    same Keras train steps, each epoch's as one compiled call (mnist_study.jax_loop).
    """
    if training_loop not in TRAINING_LOOPS:
        raise ValueError(f"training_loop {training_loop!r} is not one of {TRAINING_LOOPS}")
    set_seed(seed)
    if training_loop == "scan":
        from mnist_study import jax_loop

        history = jax_loop.fit(
            model, X, y, epochs, batch_size, validation, callbacks=[epoch_logger()]
        )
    else:
        history = model.fit(
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=validation,
            shuffle=True,
            verbose=0,
            callbacks=[epoch_logger()],
        )
    records = []
    for epoch in range(epochs):
        record = {"epoch": epoch + 1}
        record.update({k: float(v[epoch]) for k, v in history.history.items()})
        records.append(record)
    return records


def fit_and_predict(
    kind: str, settings: dict, seed: int, X, y, X_test, classes: int = 10, **compile_options
):
    """Seed, build, split, train and predict: one run of config section `kind`.

    The training rules and the benchmarks all train through this function. `settings`
    is the section (its `epochs`, `batch_size` and `training_loop` among them);
    `compile_options` override its `steps_per_execution`; `classes` is
    the dataset's class count (the output layer's width). Returns a
    dict: the model, its per-epoch `history`, `train_size` (the CNN holds out its
    validation share), `validation_size`, the test-set `probabilities`, and
    `fit_seconds` and `predict_seconds`.
    """
    set_seed(seed)  # before building: seeds the initial weights
    model = build(kind, settings, classes, **compile_options)
    X_fit, y_fit, validation, X_test = training_arrays(kind, settings, X, y, X_test, seed)
    log.info(
        "%s, seed %d: %d parameters, training on %d images%s",
        kind,
        seed,
        model.count_params(),
        len(y_fit),
        f", validating on {len(validation[1])}" if validation else "",
    )
    start = time.perf_counter()
    history = train(
        model,
        X_fit,
        y_fit,
        settings["epochs"],
        settings["batch_size"],
        seed,
        validation,
        settings.get("training_loop", "fit"),
    )
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = predict(model, X_test)
    return {
        "model": model,
        "history": history,
        "train_size": len(y_fit),
        "validation_size": len(validation[1]) if validation else 0,
        "probabilities": probabilities,
        "fit_seconds": fit_seconds,
        "predict_seconds": time.perf_counter() - start,
    }


PREDICT_BATCH = 1024  # images per call of the model in `predict` (training and scoring)


def predict(model, X: np.ndarray) -> np.ndarray:
    """Class probabilities of `model` on X (its input's shape), PREDICT_BATCH images at a
    time, each batch a plain call of the model in inference mode.

    `model.predict` would first trace and compile a function for the model: 0.1-0.4 s a
    model on 2,004 images, more than the arithmetic, paid again by every job that loads
    a saved model to score it (each robustness job scores ten). Training and scoring both
    predict here, in the same batches, so a saved model scores its clean test set exactly
    as its run did (tests/test_robustness.py's identity corruption).
    """
    import keras

    if len(X) == 0:
        return np.empty((0, model.outputs[0].shape[-1]), dtype=np.float32)
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(model(X[i : i + PREDICT_BATCH], training=False))
            for i in range(0, len(X), PREDICT_BATCH)
        ]
    )


def load(path):
    """A saved model.keras, after checking its recorded sha256, in Keras's safe mode.

    Safe mode refuses a file whose config holds Python code (a `Lambda` layer's
    function), so loading runs none; the checksum refuses a file changed since its run.
    """
    import keras

    from .storage import verify_checksum

    verify_checksum(path)
    return keras.saving.load_model(path, safe_mode=True)


def feature_maps(model, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Activations of each convolution and pooling layer for one 28x28 image."""
    import keras

    wanted = [layer for layer in model.layers if layer.name.startswith(("conv", "pool"))]
    probe = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in wanted])
    outputs = probe.predict(as_images(image[None, :]), verbose=0)
    return [(layer.name, np.asarray(out)[0]) for layer, out in zip(wanted, outputs, strict=True)]
