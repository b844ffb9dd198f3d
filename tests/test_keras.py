"""The Keras models: layer shapes, parameter counts, a short real training, save/reload."""

import numpy as np
import pytest

from mnist_study.keras_models import configure_backend

configure_backend(2)
keras = pytest.importorskip("keras")

from test_nn import real_digits  # noqa: E402

from mnist_study import keras_models  # noqa: E402


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


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
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
    assert all(np.all(m >= 0) for _, m in maps)  # after ReLU and max-pooling


def test_flops_counts():
    assert keras_models.mlp_flops_per_example() == 6.0 * (784 * 1200 + 1200 * 1200 + 12000)
    assert keras_models.cnn_flops_per_example() > 6.0 * 400 * 120


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
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
