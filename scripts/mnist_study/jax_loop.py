"""`training_loop: scan`: each epoch of a Keras model's training as one compiled call (JAX).

Keras's JAX trainer calls its compiled train step once per batch from Python, even
with `steps_per_execution` (it loops over the steps in Python, `iterator_step` in
keras/src/backend/jax/trainer.py). On a GPU that per-step cost, not the arithmetic,
sets the MLP's epoch time: 968 steps an epoch. Here the same `model.train_step`
(and `model.test_step` for validation) runs inside a `jax.lax.scan` over the epoch's
batches, with the training arrays on the device and each batch gathered there by
index: one call of compiled code an epoch.

The model code stays Keras-API-only (mnist_study.keras_models); this is the package's
only module that imports jax, and only the scan loop needs it. The steps, the optimizer,
the losses, the metrics and the shuffled order are Keras's own; what differs from
`model.fit` is only who calls the steps. From the same seed it learns what fit learns,
to float rounding (tests/test_keras.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _state_variables(model, training: bool) -> list[list]:
    """The Keras variables that make up the state a train or test step threads."""
    groups = [model.trainable_variables, model.non_trainable_variables]
    if training:
        groups.append(model.optimizer.variables)
    groups.append(model.metrics_variables)
    return groups


def _epoch_function(step: Callable, n: int, batch_size: int) -> Callable:
    """A compiled (state, X, y, order) -> (state, logs) running `step` over `order`.

    `order` holds the n example indices in the order the batches take them: n //
    batch_size full batches in one scan, then the short last batch, if any (as
    `model.fit` does: every example once). The logs are those of the last step,
    which carry the metrics accumulated over the epoch.
    """
    import jax

    full = n // batch_size

    def run(state, X, y, order):
        def body(state, index):
            logs, state = step(state, (X[index], y[index]))
            return state, logs

        logs = None
        if full:
            batches = order[: full * batch_size].reshape(full, batch_size)
            state, all_logs = jax.lax.scan(body, state, batches)
            logs = jax.tree.map(lambda t: t[-1], all_logs)
        if full * batch_size < n:
            state, logs = body(state, order[full * batch_size :])
        return state, logs

    return jax.jit(run, donate_argnums=0)


def _run_epoch(model, function: Callable, training: bool, X, y, order: np.ndarray) -> dict:
    """One call of `function` from the model's variables; writes the new state back."""
    model.reset_metrics()
    groups = _state_variables(model, training)
    state = tuple([v.value for v in group] for group in groups)
    state, logs = function(state, X, y, order)
    for group, values in zip(groups, state, strict=True):
        for variable, value in zip(group, values, strict=True):
            variable.assign(value)
    return {name: float(value) for name, value in logs.items()}


def fit(
    model,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence = (),
    shuffle: bool = True,
):
    """`model.fit` for a compiled model on the JAX backend, one compiled call an epoch.

    Each epoch's order is the one fit would take: a permutation from numpy's global
    generator (seeded by `keras.utils.set_random_seed`), after one draw that fit
    makes when it builds the model (`shuffle=False`: in order). Validation, when
    given, runs after each epoch with `model.test_step` in batches of `batch_size`,
    and its metrics are logged with a `val_` prefix, as fit logs them. The callbacks
    get epoch begin and end (with those logs) and train begin and end, not batches.
    Returns the History, as fit does.
    """
    import jax
    import keras

    if keras.backend.backend() != "jax":
        raise ValueError(
            "training_loop 'scan' runs on the jax backend only "
            f"(this process runs {keras.backend.backend()}); use training_loop 'fit'"
        )
    n = len(y)
    if n == 0:
        raise ValueError("no training examples")
    # Builds the model, its metrics and the optimizer's variables, as fit does
    # before its first step; no epoch runs, and no order is drawn.
    model.fit(
        X[:batch_size], y[:batch_size], batch_size=batch_size, epochs=0, shuffle=False, verbose=0
    )
    train_epoch = _epoch_function(model.train_step, n, batch_size)
    X_device, y_device = jax.device_put(X), jax.device_put(y)
    if validation is not None:
        X_val, y_val = jax.device_put(validation[0]), jax.device_put(validation[1])
        val_order = np.arange(len(validation[1]), dtype=np.int32)
        val_epoch = _epoch_function(model.test_step, len(val_order), batch_size)

    callback_list = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=True,
        model=model,
        epochs=epochs,
        steps=-(-n // batch_size),
        verbose=0,
    )
    if shuffle:
        # Keras's fit draws an order as it builds the model, and one each epoch
        # (ArrayDataAdapter, keras/src/trainers/data_adapters/array_data_adapter.py).
        np.random.permutation(n)  # noqa: NPY002 - the global generator, as fit uses it
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        order = np.random.permutation(n) if shuffle else np.arange(n)  # noqa: NPY002
        logs = _run_epoch(model, train_epoch, True, X_device, y_device, order.astype(np.int32))
        if validation is not None:
            val_logs = _run_epoch(model, val_epoch, False, X_val, y_val, val_order)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return model.history
