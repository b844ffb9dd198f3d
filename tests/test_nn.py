"""The from-scratch network: gradients, epochs, stability, determinism."""

import numpy as np
import pytest

from conftest import real_digits
from mnist_study.nn_numpy import (
    NeuralNetwork,
    batches,
    cross_entropy_from_logits,
    flops_per_epoch,
    softmax,
)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    net = NeuralNetwork(6, 5, 4, init_scale=0.7, rng=rng, dtype=np.float64)
    X = rng.normal(size=(9, 6))
    y = rng.integers(0, 4, size=9)
    grads, _ = net.gradients(X, y)
    eps = 1e-6
    for name in ("W1", "b1", "W2", "b2"):
        param = getattr(net, name)
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            saved = param[i]
            param[i] = saved + eps
            up = net.loss(X, y)
            param[i] = saved - eps
            down = net.loss(X, y)
            param[i] = saved
            numeric[i] = (up - down) / (2 * eps)
        error = np.linalg.norm(grads[name] - numeric) / np.linalg.norm(grads[name] + numeric)
        assert error < 1e-6, f"{name}: relative error {error:.2e}"


def test_batches_cover_every_index_once_with_a_short_last_batch():
    got = list(batches(103, 10, np.random.default_rng(0)))
    assert [len(b) for b in got] == [10] * 10 + [3]
    assert sorted(np.concatenate(got).tolist()) == list(range(103))
    again = list(batches(103, 10, np.random.default_rng(0)))
    assert all(np.array_equal(a, b) for a, b in zip(got, again, strict=True))
    with pytest.raises(ValueError):
        list(batches(10, 0, np.random.default_rng(0)))


def test_one_epoch_visits_each_example_exactly_once():
    seen = []

    class Recording(NeuralNetwork):
        def step(self, X, y, learning_rate):
            seen.extend(X[:, 0].astype(int).tolist())
            return super().step(X, y, learning_rate)

    X = np.zeros((57, 3))
    X[:, 0] = np.arange(57)  # each row identifies itself
    y = np.arange(57) % 2
    net = Recording(3, 4, 2, init_scale=0.1, rng=np.random.default_rng(0), dtype=np.float64)
    history = net.fit(
        X, y, batch_size=10, epochs=1, learning_rate=0.1, rng=np.random.default_rng(1)
    )
    assert sorted(seen) == list(range(57))
    assert history[0]["examples"] == 57


def test_gradient_is_the_mean_over_the_true_batch_size():
    rng = np.random.default_rng(3)
    net = NeuralNetwork(5, 4, 3, init_scale=0.5, rng=rng, dtype=np.float64)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)
    whole, _ = net.gradients(X, y)
    singles = [net.gradients(X[i : i + 1], y[i : i + 1])[0] for i in range(7)]
    for name in whole:
        assert np.allclose(whole[name], np.mean([g[name] for g in singles], axis=0))


def test_softmax_and_cross_entropy_are_stable():
    Z = np.array([[1000.0, 0.0, -1000.0], [-5.0, -5.0, -5.0]])
    P = softmax(Z)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=1), 1)
    assert P[0, 0] == pytest.approx(1.0) and P[1, 0] == pytest.approx(1 / 3)
    assert cross_entropy_from_logits(Z, np.array([0, 1])) == pytest.approx(np.log(3) / 2)
    assert np.isfinite(cross_entropy_from_logits(Z, np.array([2, 0])))


def test_loss_falls_on_real_digits():
    X, y = real_digits()
    rng = np.random.default_rng(0)
    net = NeuralNetwork(784, 32, 10, init_scale=0.1, rng=rng)
    before = net.loss(X, y)
    history = net.fit(X, y, batch_size=20, epochs=3, learning_rate=1.0, rng=rng)
    after = net.loss(X, y)
    assert after < 0.6 * before
    assert history[-1]["loss"] < history[0]["loss"]


def test_training_is_exactly_reproducible_and_weights_round_trip(tmp_path):
    X, y = real_digits(120)

    def train():
        rng = np.random.default_rng(5)
        net = NeuralNetwork(784, 16, 10, init_scale=0.1, rng=rng)
        net.fit(X, y, batch_size=25, epochs=2, learning_rate=0.5, rng=rng)
        return net

    a, b = train(), train()
    for name in ("W1", "b1", "W2", "b2"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    a.save(tmp_path / "w.npz")
    loaded = NeuralNetwork.load(tmp_path / "w.npz")
    assert loaded.shape == (784, 16, 10)
    assert np.array_equal(loaded.predict_proba(X), a.predict_proba(X))


def test_loading_weights_checks_their_recorded_checksum(tmp_path):
    from mnist_study.storage import TamperedFileError

    net = NeuralNetwork(784, 8, 10, init_scale=0.1, rng=np.random.default_rng(0))
    path = tmp_path / "w.npz"
    net.save(path)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(TamperedFileError, match="refusing to load it"):
        NeuralNetwork.load(path)
    (tmp_path / "w.npz.sha256").unlink()
    with pytest.raises(TamperedFileError, match="no recorded checksum"):
        NeuralNetwork.load(path)


def test_flops_per_epoch():
    assert flops_per_epoch(1, 784, 100, 10) == 2 * (784 * 100 + 1000 + 2000 + 78400)
