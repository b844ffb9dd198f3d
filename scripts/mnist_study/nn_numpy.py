"""A one-hidden-layer network written from scratch in numpy.

I inputs, H sigmoid hidden units, J softmax outputs, cross-entropy loss,
backpropagation and minibatch gradient descent. Weights follow the study's
shapes (W1 is H x I, W2 is J x H); a batch is a matrix with one example per
row, so the forward pass is X @ W1.T.

Each epoch visits every training example exactly once, in a seeded shuffled
order, and each gradient is the mean over the examples actually in the batch
(the last batch may be smaller).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy.special import expit, log_softmax

log = logging.getLogger(__name__)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)


def cross_entropy_from_logits(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of integer labels y under softmax(Z), via log-softmax."""
    return float(-np.mean(log_softmax(Z, axis=1)[np.arange(len(y)), y]))


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Index arrays covering a seeded permutation of range(n), each index exactly once."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


class NeuralNetwork:
    def __init__(
        self,
        I: int,  # noqa: E741 - the study's name for the number of inputs
        H: int,
        J: int,
        init_scale: float = 1.0,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.W1 = (init_scale * rng.standard_normal((H, I))).astype(dtype)
        self.b1 = np.zeros(H, dtype=dtype)
        self.W2 = (init_scale * rng.standard_normal((J, H))).astype(dtype)
        self.b2 = np.zeros(J, dtype=dtype)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.W1.shape[1], self.W1.shape[0], self.W2.shape[0]

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hidden activations (n, H) and output logits (n, J)."""
        A1 = expit(X @ self.W1.T + self.b1)
        return A1, A1 @ self.W2.T + self.b2

    def predict_proba(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        return np.concatenate(
            [softmax(self.forward(X[i : i + chunk])[1]) for i in range(0, len(X), chunk)]
        )

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return cross_entropy_from_logits(self.forward(X)[1], y)

    def gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[dict, float]:
        """Mean loss over the batch and its gradients by backpropagation."""
        m = len(y)
        A1, Z2 = self.forward(X)
        A2 = softmax(Z2)
        loss = cross_entropy_from_logits(Z2, y)
        D2 = A2
        D2[np.arange(m), y] -= 1  # dLoss/dZ2 of softmax + cross-entropy is A2 - Y
        D2 /= m
        D1 = (D2 @ self.W2) * A1 * (1 - A1)  # back through W2 and the sigmoid
        grads = {"W2": D2.T @ A1, "b2": D2.sum(axis=0), "W1": D1.T @ X, "b1": D1.sum(axis=0)}
        return grads, loss

    def step(self, X: np.ndarray, y: np.ndarray, learning_rate: float) -> float:
        grads, loss = self.gradients(X, y)
        for name, grad in grads.items():
            param = getattr(self, name)
            param -= (learning_rate * grad).astype(param.dtype, copy=False)
        return loss

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        epochs: int,
        learning_rate: float,
        rng: np.random.Generator,
        on_epoch: Callable[[int, float, float], None] | None = None,
    ) -> list[dict]:
        """Minibatch gradient descent; one record per epoch, without timings (logged
        instead), so that the same seed gives the same history."""
        history = []
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            total, seen = 0.0, 0
            for index in batches(len(y), batch_size, rng):
                total += self.step(X[index], y[index], learning_rate) * len(index)
                seen += len(index)
            seconds = time.perf_counter() - start
            record = {"epoch": epoch, "loss": total / seen, "examples": seen}
            history.append(record)
            log.info(
                "epoch %d/%d: mean training loss %.4f (%.2f s)",
                epoch,
                epochs,
                record["loss"],
                seconds,
            )
            if on_epoch is not None:
                on_epoch(epoch, record["loss"], seconds)
        return history

    def save(self, path: str | Path) -> str:
        """Write the weights as `.npz` (no pickle), atomically; record and return the sha256."""
        from .storage import atomic_path, record_checksum

        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, W1=self.W1, b1=self.b1, W2=self.W2, b2=self.b2)
        return record_checksum(path)

    @classmethod
    def load(cls, path: str | Path) -> NeuralNetwork:
        """Weights saved by `save`, after checking them against their recorded `.sha256`."""
        from .storage import verify_checksum

        verify_checksum(path)
        with np.load(path, allow_pickle=False) as arrays:
            net = cls.__new__(cls)
            for name in ("W1", "b1", "W2", "b2"):
                setattr(net, name, arrays[name])
        if net.W2.shape[1] != net.W1.shape[0]:
            raise ValueError(f"{path}: W1 {net.W1.shape} and W2 {net.W2.shape} do not fit together")
        return net


def flops_per_epoch(n: int, I: int, H: int, J: int) -> float:  # noqa: E741
    """Multiply-adds x 2 of the matrix products in one epoch (forward and backward)."""
    forward = n * (I * H + H * J)
    backward = n * (H * J + H * J + I * H)  # dW2, dA1, dW1
    return 2.0 * (forward + backward)
