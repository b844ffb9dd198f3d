"""Where a Keras training step's time goes on a CPU: the parts of one step, timed apart.

    python bench/keras_step_parts.py                      # tensorflow, 1 and 2 threads
    KERAS_BACKEND=jax python bench/keras_step_parts.py --threads 1
    KERAS_BACKEND=jax python bench/keras_step_parts.py --threads 1 \
        --xla-flags= --xla-flags=--xla_cpu_use_xnnpack=true   # each XLA_FLAGS in turn

For each model of config.yaml (its batch size and `steps_per_execution`), each part is
compiled by the backend and timed alone, in a fresh process per thread count:

- `step`: the whole training step, as `model.fit` runs it (steady epoch time / steps);
- `loop_only` (MLP): the same `fit` over a 784-8-8-10 network, next to no arithmetic:
  what the training loop itself costs a step (on a GPU, the floor of an epoch);
- `step_scan`, `loop_only_scan` (JAX): the same two under `training_loop: scan`, each
  epoch one compiled call (mnist_study.jax_loop);
- `forward_backward`: the loss and its gradients (`training=True`: dropout on);
- `optimizer`: Adam's update of every weight from given gradients;
- `optimizer_fused` (TensorFlow): the same update by TensorFlow's fused Adam kernel,
  which Keras 3 does not use: what the update would cost as one pass over the weights;
- `matmuls` (MLP): only the step's eight matrix products (3 forward, 3 for the weight
  gradients, 2 for the hidden layers' input gradients): no training loop can beat it;
- `conv_layers` (CNN): forward and backward of the convolution and pooling layers alone.

Each part's GFLOP/s is the step's arithmetic (`mlp_flops_per_example`,
`cnn_flops_per_example` times the batch) over the part's time, and its efficiency that
over numpy's float32 matrix-multiply rate on as many threads (measured in its own
process just before and just after, as in bench/keras_levers.py). Random inputs: the
timing of dense arithmetic does not depend on the values. Writes
bench/results/keras_step_parts_<backend>.{json,md} unless --out is given. With
`--xla-flags=VALUE` (repeated), every thread count runs once under each value of
XLA_FLAGS given (JAX only; an empty value for XLA's defaults), to try XLA's CPU options
on the same parts. This is
backend code on purpose (tf.function, jax.jit): the pipeline's model code stays on the
Keras API.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, matmul_rates_around, write_summary  # noqa: E402

# The seed of every model timed here (the pipeline trains one per seed of repeats.seeds).
SEED = 0


def timed(fn, repeats: int) -> float:
    """Median seconds of one call of `fn` (which blocks until its result is ready)."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def tensorflow_parts(model, loss_fn, x, y, conv_part) -> dict:
    import tensorflow as tf

    variables = model.trainable_variables

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tape.gradient(loss, variables)

    grads = forward_backward()

    @tf.function
    def update():
        model.optimizer.apply(grads, variables)

    # What the update would cost as one fused kernel: TensorFlow's own Adam op (the
    # same formula as Keras's Adam, which runs as a dozen separate elementwise ops),
    # on copies of the weights.
    copies = [[tf.Variable(tf.zeros_like(v)) for _ in range(3)] for v in variables]
    values = {
        "beta1_power": 0.9,
        "beta2_power": 0.999,
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-7,
    }
    scalars = {name: tf.constant(value, tf.float32) for name, value in values.items()}

    @tf.function
    def fused_update():
        for (var, m, v), grad in zip(copies, grads, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=var.handle, m=m.handle, v=v.handle, grad=grad, **scalars
            )

    parts = {
        "forward_backward": lambda: [g.numpy() for g in forward_backward()][0],
        "optimizer": lambda: (update(), variables[0].numpy()),
        "optimizer_fused": lambda: (fused_update(), copies[0][0].numpy()),
    }
    if conv_part is not None:

        @tf.function
        def conv_grads():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(conv_part(x, training=True)))
            return tape.gradient(loss, conv_part.trainable_variables)

        parts["conv_layers"] = lambda: [g.numpy() for g in conv_grads()][0]
    else:
        weights = [v for v in variables if len(v.shape) == 2]

        @tf.function
        def matmuls():
            acts, out = [x], []
            for w in weights:
                acts.append(tf.matmul(acts[-1], w))
            d = acts[-1]
            for i in reversed(range(len(weights))):
                out.append(tf.matmul(acts[i], d, transpose_a=True))
                if i > 0:
                    d = tf.matmul(d, weights[i], transpose_b=True)
            return out

        parts["matmuls"] = lambda: [g.numpy() for g in matmuls()][0]
    return parts


def jax_parts(model, loss_fn, x, y, conv_part) -> dict:
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss(trainable, non_trainable):
        out, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, out)

    grad_fn = jax.jit(jax.grad(loss))
    grads = grad_fn(trainable, non_trainable)
    optimizer = model.optimizer
    optimizer_state = [v.value for v in optimizer.variables]
    apply_fn = jax.jit(optimizer.stateless_apply)
    parts = {
        "forward_backward": lambda: jax.block_until_ready(grad_fn(trainable, non_trainable)),
        "optimizer": lambda: jax.block_until_ready(apply_fn(optimizer_state, grads, trainable)),
    }
    if conv_part is not None:
        conv_trainable = [v.value for v in conv_part.trainable_variables]
        conv_fixed = [v.value for v in conv_part.non_trainable_variables]

        def conv_loss(trainable):
            out, _ = conv_part.stateless_call(trainable, conv_fixed, x, training=True)
            return jnp.sum(jnp.square(out))

        conv_fn = jax.jit(jax.grad(conv_loss))
        parts["conv_layers"] = lambda: jax.block_until_ready(conv_fn(conv_trainable))
    else:
        weights = [w for w in trainable if w.ndim == 2]

        @jax.jit
        def matmuls(x, weights):
            acts, out = [x], []
            for w in weights:
                acts.append(acts[-1] @ w)
            d = acts[-1]
            for i in reversed(range(len(weights))):
                out.append(acts[i].T @ d)
                if i > 0:
                    d = d @ weights[i].T
            return out

        xj = jnp.asarray(x)
        parts["matmuls"] = lambda: jax.block_until_ready(matmuls(xj, weights))
    return parts


def fit_step_seconds(model, X, Y, batch: int, seed: int, training_loop: str = "fit") -> float:
    """Seconds per training step: the fastest epoch after the first (which compiles)."""
    from mnist_study import keras_models

    records = keras_models.train(model, X, Y, 3, batch, seed, training_loop=training_loop)
    return min(r["seconds"] for r in records[1:]) / -(-len(X) // batch)


def one_run(threads: int, repeats: int) -> dict:
    """Every part of both models on `threads` threads, in this process."""
    from mnist_study import keras_models
    from mnist_study.runtime import limit_threads

    limit_threads(threads)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    keras_models.configure_backend(threads, backend)
    import keras

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    rng = np.random.default_rng(0)
    flops = {
        "mlp": keras_models.mlp_flops_per_example(),
        "cnn": keras_models.cnn_flops_per_example(),
    }
    result = {"threads": threads, "backend": backend, "models": {}}
    for kind in ("mlp", "cnn"):
        settings = config[kind]
        batch = settings["batch_size"]
        keras_models.set_seed(SEED)
        model = keras_models.build(kind, settings)
        shape = (784,) if kind == "mlp" else (28, 28, 1)
        x = rng.random((batch, *shape), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        model.optimizer.build(model.trainable_variables)
        loss_fn = keras.losses.SparseCategoricalCrossentropy()
        conv_part = None
        if kind == "cnn":
            conv_part = keras.Sequential(
                [keras.Input(shape=shape)]
                + [layer for layer in model.layers if layer.name.startswith(("conv", "pool"))]
            )
        make = jax_parts if backend == "jax" else tensorflow_parts
        seconds = {
            name: timed(fn, repeats) for name, fn in make(model, loss_fn, x, y, conv_part).items()
        }
        # The whole step as fit runs it: the fastest epoch after the first (which
        # compiles), over random rows.
        steps = 30 * settings.get("steps_per_execution", 1)
        X = rng.random((steps * batch, *shape), dtype=np.float32)
        Y = rng.integers(0, 10, len(X))
        loops = ["fit", "scan"] if backend == "jax" else ["fit"]
        for loop in loops:
            suffix = "" if loop == "fit" else f"_{loop}"
            keras_models.set_seed(SEED)
            model = keras_models.build(kind, settings)
            seconds["step" + suffix] = fit_step_seconds(model, X, Y, batch, SEED, loop)
            if kind == "mlp":
                # The loop's own cost: the same training of a model with next to no
                # arithmetic.
                tiny = keras_models.build(kind, {**settings, "hidden": [8, 8]})
                seconds["loop_only" + suffix] = fit_step_seconds(tiny, X, Y, batch, SEED, loop)
        result["models"][kind] = {
            "batch_size": batch,
            "step_gflop": flops[kind] * batch / 1e9,
            "seconds": seconds,
        }
    return result


def markdown(summary: dict) -> str:
    lines = [
        f"# Parts of a Keras training step: {summary['backend']} on {summary['machine']}",
        "",
        f"Command: `{summary['command']}`. Milliseconds per step (median of "
        f"{summary['repeats']}); efficiency = the step's FLOPs over the part's time, over "
        "numpy's float32 matmul rate on the same threads (the mean of one measurement "
        "just before the thread count's run and one just after).",
        "",
        "| threads | numpy GFLOP/s | model | part | ms | share of the step | efficiency |",
        "|---|---|---|---|---|---|---|",
    ]
    flagged = any("xla_flags" in run for run in summary["runs"])
    if flagged:
        lines[-2] = "| XLA_FLAGS " + lines[-2]
        lines[-1] = "|---" + lines[-1]
    # Parts that do the step's arithmetic; the others do a share of it or none.
    whole = ("step", "step_scan", "forward_backward", "matmuls")
    order = [
        "step",
        "loop_only",
        "step_scan",
        "loop_only_scan",
        "forward_backward",
        "optimizer",
        "optimizer_fused",
        "matmuls",
        "conv_layers",
    ]
    for run in summary["runs"]:
        for kind, model in run["models"].items():
            for part in (p for p in order if p in model["seconds"]):
                ms = model["seconds"][part] * 1e3
                share = model["seconds"][part] / model["seconds"]["step"]
                eff = model["step_gflop"] / (ms / 1e3) / run["matmul_gflops"]
                flags = f"| `{run['xla_flags'] or '(defaults)'}` " if flagged else ""
                lines.append(
                    flags + f"| {run['threads']} | {run['matmul_gflops']:.0f} | {kind} | {part} | "
                    f"{ms:.2f} | {share:.0%} | {f'{eff:.2f}' if part in whole else '-'} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", type=Path, help="output path without suffix")
    parser.add_argument(
        "--xla-flags",
        action="append",
        metavar="VALUE",
        help="a value of XLA_FLAGS to run each thread count under (JAX; repeat for several, "
        "in turn; --xla-flags= for XLA's defaults)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(one_run(args.one, args.repeats)), flush=True)
        return

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend not in ("tensorflow", "jax"):
        raise SystemExit(f"the parts are timed for tensorflow and jax, not {backend!r}")
    if args.xla_flags is not None and backend != "jax":
        raise SystemExit("--xla-flags tries XLA's options under JAX: set KERAS_BACKEND=jax")
    summary = {
        "backend": backend,
        "machine": f"{os.uname().machine} CPU, {len(os.sched_getaffinity(0))} cores",
        "command": " ".join(["python", *sys.argv]),
        "repeats": args.repeats,
        "runs": [],
    }
    out = args.out or ROOT / "bench" / "results" / f"keras_step_parts_{backend}"
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = [(t, f) for f in (args.xla_flags or [None]) for t in args.threads]
    for threads, flags in settings:
        label = f"{threads} threads" + ("" if flags is None else f", XLA_FLAGS={flags!r}")
        print(f"[{label}] ...", flush=True)
        child = [sys.executable, __file__, "--repeats", str(args.repeats), "--one", str(threads)]
        env = os.environ if flags is None else {**os.environ, "XLA_FLAGS": flags}
        train = partial(subprocess.run, child, capture_output=True, text=True, env=env)
        proc, rates = matmul_rates_around(threads, train)
        lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise SystemExit(f"the run with {label} failed:\n{proc.stderr[-3000:]}")
        run = json.loads(lines[-1].removeprefix("RESULT "))
        if flags is not None:
            run["xla_flags"] = flags
        run["matmul_gflops_before_after"] = rates
        run["matmul_gflops"] = float(np.mean(run["matmul_gflops_before_after"]))
        summary["runs"].append(run)
    write_summary(out, summary, markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
