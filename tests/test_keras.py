"""The Keras models: layer shapes, parameter counts, a short real training, save/reload."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mnist_study.keras_models import configure_backend

configure_backend(2)
keras = pytest.importorskip("keras")


from conftest import ROOT, real_digits  # noqa: E402
from mnist_study import keras_models  # noqa: E402
from mnist_study.models import KERAS  # noqa: E402


def skip_unless_installed(backend: str) -> None:
    """Skip where `backend` is not installed, found without importing it: it runs only in
    a probe's own process, never beside TensorFlow (or the other backend) in this one."""
    import importlib.util

    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")


def shapes(model):
    return [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_mlp_architecture():
    model = keras_models.build_mlp()
    assert shapes(model) == [
        ("hidden_1", (1200,)),
        ("dropout", (1200,)),
        ("hidden_2", (1200,)),
        ("output", (10,)),
    ]
    assert model.get_layer("dropout").rate == 0.4
    assert model.count_params() == (784 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 10 + 10)


def test_models_and_arrays_from_the_config_sections():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    X, y = np.random.default_rng(0).random((50, 784), dtype=np.float32), np.arange(50) % 10
    mlp = keras_models.build("mlp", config["mlp"])
    assert mlp.count_params() == keras_models.build_mlp(config["mlp"]["hidden"]).count_params()
    assert mlp.get_layer("dropout").rate == config["mlp"]["dropout"]
    assert mlp.steps_per_execution == config["mlp"]["steps_per_execution"]
    assert keras_models.build("mlp", config["mlp"], steps_per_execution=1).steps_per_execution == 1
    assert keras_models.training_arrays("mlp", config["mlp"], X, y, X[:5], 0)[2] is None
    cnn = keras_models.build("cnn", config["cnn"])
    assert cnn.get_layer("dropout").rate == config["cnn"]["dropout"]
    X_fit, y_fit, (X_val, y_val), X_test = keras_models.training_arrays(
        "cnn", config["cnn"], X, y, X[:5], seed=3
    )
    # The seed draws the validation images: another seed holds out others.
    other = keras_models.training_arrays("cnn", config["cnn"], X, y, X[:5], seed=4)[2][0]
    assert not np.array_equal(X_val, other)
    assert X_fit.shape == (40, 28, 28, 1) and X_val.shape == (10, 28, 28, 1)
    assert X_test.shape == (5, 28, 28, 1)
    # Every image is in exactly one of the two parts, with its own label.
    rows = np.concatenate([X_fit, X_val]).reshape(50, 784)
    order = np.lexsort(rows.T)
    np.testing.assert_array_equal(rows[order], X[np.lexsort(X.T)])
    np.testing.assert_array_equal(np.concatenate([y_fit, y_val])[order], y[np.lexsort(X.T)])
    with pytest.raises(ValueError, match="unknown model kind"):
        keras_models.build("rnn", config["mlp"])


def test_cnn_architecture():
    model = keras_models.build_cnn()
    assert shapes(model) == [
        ("conv_1", (26, 26, 6)),
        ("pool_1", (13, 13, 6)),
        ("conv_2", (11, 11, 16)),
        ("pool_2", (5, 5, 16)),
        ("flatten", (400,)),
        ("dense_120", (120,)),
        ("dropout", (120,)),
        ("dense_84", (84,)),
        ("output", (10,)),
    ]
    assert model.count_params() == 60 + 880 + 48_120 + 10_164 + 850


def test_validation_split_is_seeded_and_disjoint():
    fit, val = keras_models.validation_split(100, 0.2, seed=1)
    assert len(val) == 20 and len(fit) == 80 and not set(fit) & set(val)
    assert np.array_equal(val, keras_models.validation_split(100, 0.2, seed=1)[1])
    assert not np.array_equal(val, keras_models.validation_split(100, 0.2, seed=2)[1])
    with pytest.raises(ValueError, match="empty side"):
        keras_models.validation_split(3, 0.01, seed=0)


@pytest.mark.parametrize("kind", KERAS)
def test_short_training_on_real_digits_then_save_and_reload(kind, tmp_path):
    X, y = real_digits(400)
    if kind == "mlp":
        model = keras_models.build_mlp(hidden=(64, 64))
    else:
        model = keras_models.build_cnn()
        X = keras_models.as_images(X)
    history = keras_models.train(
        model, X[:300], y[:300], epochs=2, batch_size=32, seed=0, validation=(X[300:], y[300:])
    )
    assert [h["epoch"] for h in history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history[0])
    assert history[1]["loss"] < history[0]["loss"]
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert np.allclose(reloaded.predict(X[:50], verbose=0), model.predict(X[:50], verbose=0))


def test_feature_maps_shapes():
    X, _ = real_digits(1)
    maps = keras_models.feature_maps(keras_models.build_cnn(), X[0])
    assert [(name, m.shape) for name, m in maps] == [
        ("conv_1", (26, 26, 6)),
        ("pool_1", (13, 13, 6)),
        ("conv_2", (11, 11, 16)),
        ("pool_2", (5, 5, 16)),
    ]
    # Each pooling map is the 2x2 maximum of the convolution map before it.
    named = dict(maps)
    for conv, pool in (("conv_1", "pool_1"), ("conv_2", "pool_2")):
        c, p = named[conv], named[pool]
        h, w = p.shape[:2]
        blocks = c[: 2 * h, : 2 * w].reshape(h, 2, w, 2, -1).max(axis=(1, 3))
        np.testing.assert_allclose(p, blocks, rtol=1e-6)


@pytest.mark.parametrize("kind", KERAS)
def test_same_seed_gives_identical_predictions(kind):
    X, y = real_digits(300)
    inputs = X if kind == "mlp" else keras_models.as_images(X)

    def run():
        keras_models.set_seed(7)  # before building: the initial weights come from the seed
        model = (
            keras_models.build_mlp(hidden=(32, 32)) if kind == "mlp" else (keras_models.build_cnn())
        )
        keras_models.train(model, inputs, y, epochs=1, batch_size=50, seed=7)
        return model.predict(inputs[:64], verbose=0)

    assert np.array_equal(run(), run())


@pytest.mark.parametrize("kind", KERAS)
def test_steps_per_execution_does_not_change_what_is_learnt(kind):
    """Grouping steps into one call changes how they run, not the steps."""
    X, y = real_digits(300)
    inputs = X if kind == "mlp" else keras_models.as_images(X)

    def run(steps_per_execution):
        keras_models.set_seed(3)
        if kind == "mlp":
            model = keras_models.build_mlp(hidden=(32, 32), steps_per_execution=steps_per_execution)
        else:
            model = keras_models.build_cnn(steps_per_execution=steps_per_execution)
        history = keras_models.train(model, inputs, y, epochs=2, batch_size=32, seed=3)
        assert model.steps_per_execution == steps_per_execution
        return history, model.predict(inputs[:64], verbose=0)

    history, plain = run(1)
    assert history[1]["loss"] < history[0]["loss"]  # it learnt something to compare
    # 300 examples in batches of 32 are 10 steps: 3 calls of 4 steps, the last one short.
    grouped_history, grouped = run(4)
    np.testing.assert_allclose(grouped, plain, rtol=0, atol=1e-6)
    for epoch, grouped_epoch in zip(history, grouped_history, strict=True):
        assert grouped_epoch["loss"] == pytest.approx(epoch["loss"], rel=1e-5)


BACKEND_PROBE = """
import json, sys
from pathlib import Path

from mnist_study.keras_models import configure_backend

configure_backend(2, sys.argv[2])
import keras
import numpy as np

from mnist_study import keras_models
from mnist_study.models import KERAS
from conftest import real_digits

out_dir = Path(sys.argv[1])
X, y = real_digits(300)
report = {"backend": keras.backend.backend()}
for kind in KERAS:
    inputs = X if kind == "mlp" else keras_models.as_images(X)

    def run():
        keras_models.set_seed(5)
        if kind == "mlp":
            model = keras_models.build_mlp(hidden=(32, 32), steps_per_execution=4)
        else:
            model = keras_models.build_cnn(steps_per_execution=4)
        history = keras_models.train(model, inputs, y, epochs=2, batch_size=32, seed=5)
        return model, history, model.predict(inputs[:64], verbose=0)

    model, history, first = run()
    second = run()[2]
    model.save(out_dir / f"{kind}.keras")
    np.save(out_dir / f"{kind}_predictions.npy", first)
    report[kind] = {
        "losses": [h["loss"] for h in history],
        "repeatable": bool(np.array_equal(first, second)),
        "steps_per_execution": model.steps_per_execution,
    }
report["maps"] = [[n, list(m.shape)] for n, m in keras_models.feature_maps(model, X[0])]
if report["backend"] == "jax":
    # training_loop "scan": Keras's own steps, an epoch per compiled call.
    for kind in KERAS:
        inputs = X if kind == "mlp" else keras_models.as_images(X)
        # 250 examples in batches of 32: 7 full batches in the scan, then a short one.
        fit_on, validation = (inputs[:250], y[:250]), (inputs[250:], y[250:])

        def loop_run(training_loop):
            keras_models.set_seed(5)
            if kind == "mlp":
                model = keras_models.build_mlp(hidden=(32, 32))
            else:
                model = keras_models.build_cnn()
            history = keras_models.train(model, *fit_on, 2, 32, 5, validation, training_loop)
            return history, model.predict(inputs[:64], verbose=0)

        fit_history, fit_predictions = loop_run("fit")
        scan_history, scan_predictions = loop_run("scan")
        report[kind + "_scan"] = {
            "fit_history": fit_history,
            "scan_history": scan_history,
            "largest_difference": float(np.abs(scan_predictions - fit_predictions).max()),
        }
print("REPORT " + json.dumps(report))
"""


@pytest.mark.slow(60)
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_train_repeatably_and_save_portable_models(tmp_path, backend):
    """keras_backend: jax or torch, each in its own process (a process runs one backend),
    found installed without importing it here (skip_unless_installed).

    jax is in the test setup; torch is an extra that CI does not install (PyPI's
    Linux build brings CUDA), so its case runs where `uv sync --extra torch` (or
    `--all-extras`) did.
    """
    skip_unless_installed(backend)
    proc = subprocess.run(
        [sys.executable, "-c", BACKEND_PROBE, str(tmp_path), backend],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    assert report["backend"] == backend
    for kind in KERAS:
        losses = report[kind]["losses"]
        assert losses[1] < losses[0], kind
        assert report[kind]["repeatable"], kind
        # Keras's torch trainer takes one step per call; the setting only says how
        # many steps a call runs, so build() uses 1 there rather than fail.
        assert report[kind]["steps_per_execution"] == (1 if backend == "torch" else 4)
        # The .keras file's model is backend-neutral: TensorFlow predicts what the other
        # backend predicted. Its compile config is not (torch's optimizer is a class of
        # Keras's torch backend, whose import would bring torch and triton beside
        # TensorFlow here, which crashes), so the model is read without it.
        reloaded = keras.saving.load_model(tmp_path / f"{kind}.keras", compile=False)
        X, _ = real_digits(64)
        inputs = X if kind == "mlp" else keras_models.as_images(X)
        expected = np.load(tmp_path / f"{kind}_predictions.npy")
        np.testing.assert_allclose(reloaded.predict(inputs, verbose=0), expected, atol=1e-5)
    # torch (and the triton it brings) stayed in the probe's process: this one runs
    # TensorFlow's Keras (jax is loaded here anyway, by Keras itself).
    assert not {"torch", "triton"} & set(sys.modules)
    assert report["maps"] == [
        ["conv_1", [26, 26, 6]],
        ["pool_1", [13, 13, 6]],
        ["conv_2", [11, 11, 16]],
        ["pool_2", [5, 5, 16]],
    ]
    if backend == "jax":
        assert_scan_learns_what_fit_learns(report)


def assert_scan_learns_what_fit_learns(report):
    """The JAX probe's `training_loop: scan` runs against `fit` from the same seed."""
    for kind in KERAS:
        scan = report[kind + "_scan"]
        # The scan loop takes fit's batches in fit's shuffled order, with fit's
        # dropout masks: the same steps, so the same metrics and weights (to float
        # rounding: the steps compile inside one loop instead of one by one).
        assert scan["largest_difference"] < 1e-6, kind
        for fit_epoch, scan_epoch in zip(scan["fit_history"], scan["scan_history"], strict=True):
            assert scan_epoch.keys() == fit_epoch.keys(), kind
            for name in fit_epoch.keys() - {"seconds"}:
                assert scan_epoch[name] == pytest.approx(fit_epoch[name], rel=1e-5), name
        assert {"val_loss", "val_accuracy"} <= scan["scan_history"][0].keys()
        assert scan["scan_history"][1]["loss"] < scan["scan_history"][0]["loss"], kind


def test_scan_loop_needs_the_jax_backend():
    X, y = real_digits(64)
    model = keras_models.build_mlp(hidden=(8,))
    with pytest.raises(ValueError, match="runs on the jax backend only"):
        keras_models.train(model, X, y, 1, 32, 0, training_loop="scan")
    with pytest.raises(ValueError, match="training_loop 'sacn'"):
        keras_models.train(model, X, y, 1, 32, 0, training_loop="sacn")


def test_configure_backend_refuses_a_second_backend_in_one_process():
    assert keras.backend.backend() == "tensorflow"
    with pytest.raises(RuntimeError, match="a process runs one backend"):
        configure_backend(2, "jax")
    with pytest.raises(ValueError, match="keras_backend 'torchh'"):
        configure_backend(2, "torchh")


def test_configure_backend_names_the_missing_package(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(ModuleNotFoundError, match=r"needs the torch package.*--extra torch"):
        configure_backend(2, "torch")


THREADS_PROBE = """
import os, sys, time

from mnist_study.keras_models import configure_backend

threads, backend = int(sys.argv[1]), sys.argv[2]
configure_backend(threads, backend)
if backend == "jax":
    import jax
    import jax.numpy as jnp

    product = jax.jit(lambda a: a @ a)
    square = lambda a: product(a).block_until_ready()
    a = jnp.ones((1024, 1024), jnp.float32) / 1024
else:
    import torch

    assert torch.get_num_threads() == threads, torch.get_num_threads()
    square = lambda a: a @ a
    a = torch.ones((1024, 1024)) / 1024


def cpu_by_thread():
    found = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        found[tid] = int(fields[11]) + int(fields[12])  # utime + stime, in ticks
    return found


square(a)
before, wall = cpu_by_thread(), time.perf_counter()
while time.perf_counter() - wall < 2:
    a = square(a)  # a @ a stays a: its rows sum to 1
spent = {tid: ticks - before.get(tid, 0) for tid, ticks in cpu_by_thread().items()}
# The threads that did a share of the work: a thread busy on another core counts
# however busy the machine is (which would only slow every thread alike).
busiest = max(spent.values())
print("BUSY", sum(ticks >= busiest / 4 for ticks in spent.values()))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads per-thread CPU from /proc")
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_jax_and_torch_keep_to_the_threads_they_are_given(backend):
    """threads: 1 means one core for JAX (which ignores the usual XLA flag) and torch:
    one thread does the work of a matrix product that two threads share."""
    skip_unless_installed(backend)

    def busy_threads(threads):
        proc = subprocess.run(
            [sys.executable, "-c", THREADS_PROBE, str(threads), backend],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
            timeout=300,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("BUSY ")]
        assert proc.returncode == 0 and lines, proc.stderr[-3000:]
        return int(lines[-1].split()[1])

    assert busy_threads(2) >= 2  # the probe sees a second thread when there is one
    assert busy_threads(1) == 1


@pytest.mark.pipeline
def test_the_cnn_jobs_feature_maps_are_those_of_its_saved_model(pipeline_run):
    """train_cnn draws the maps from the model in memory; the saved file gives the same."""
    from conftest import suite_settings
    from mnist_study import data

    workdir, _ = pipeline_run
    settings = suite_settings()
    seed = settings["repeats"]["seeds"][-1]
    index = settings["cnn"]["feature_map_image"]
    run = workdir / f"results/mnist-sample/cnn/base/seed-{seed}"
    train = data.read_split(workdir / "results/mnist-sample/data/train.parquet")
    model = keras_models.load(run / "model.keras")
    with np.load(run / "feature_maps.npz", allow_pickle=False) as saved:
        assert np.array_equal(saved["image"], train.X[index].reshape(28, 28))
        maps = keras_models.feature_maps(model, train.X[index])
        assert [name for name, _ in maps] == ["conv_1", "pool_1", "conv_2", "pool_2"]
        for name, activations in maps:
            assert np.allclose(saved[name], activations, atol=1e-6), name


def test_load_checks_the_checksum_and_refuses_code(tmp_path):
    from mnist_study.storage import TamperedFileError, record_checksum

    model = keras_models.build_mlp(hidden=(8,))
    path = tmp_path / "model.keras"
    model.save(path)
    record_checksum(path)
    assert keras_models.load(path).count_params() == model.count_params()
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(TamperedFileError):
        keras_models.load(path)
    # A model whose file holds a Python function (a Lambda layer) is refused in safe mode.
    inputs = keras.Input((4,))
    lambda_model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    code_path = tmp_path / "lambda.keras"
    lambda_model.save(code_path)
    record_checksum(code_path)
    with pytest.raises(ValueError, match="safe_mode"):
        keras_models.load(code_path)


def test_a_class_whose_images_all_fall_in_the_validation_split_is_trained_on(caplog):
    """Class 9 has two images, both drawn into the CNN's validation part: they go back
    to the part it trains on, said in one line; a split that keeps every class on both
    sides is left as it was."""
    y = np.concatenate([np.arange(40) % 9, [9, 9]])
    fit, val = np.arange(30), np.arange(30, 42)
    with caplog.at_level("WARNING"):
        new_fit, new_val = keras_models.keep_every_class(y, fit, val)
    assert 9 in y[new_fit] and 9 not in y[new_val]
    assert sorted([*new_fit, *new_val]) == list(range(42)) and len(new_val) == 10
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("class 9: all 2 of its training images fell in the CNN's valid")
    same = keras_models.keep_every_class(y, np.arange(12, 42), np.arange(12))
    assert np.array_equal(same[0], np.arange(12, 42)) and np.array_equal(same[1], np.arange(12))
