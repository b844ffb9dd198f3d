"""What the benchmark scripts share: the paths, a fresh copy of the workflow, numpy's
matrix-multiply rate and the models' FLOPs (the yardstick and the work of the Keras
efficiencies), and writing a summary.

Every script in bench/ imports this module (it sits beside them) instead of importing
another benchmark as a library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from mnist_study.datasets import bundled_dir  # noqa: E402
from mnist_study.layout import FASHION_DIR as FASHION  # noqa: E402, F401
from mnist_study.layout import copy_workflow  # noqa: E402, F401 (the scripts' copy)

BUNDLED = bundled_dir("mnist-sample")


def matmul_rate(threads: int) -> float:
    """float32 GFLOP/s of numpy's matrix multiply, measured in a fresh process."""
    code = (
        "import time, numpy as np\n"
        "from threadpoolctl import threadpool_limits\n"
        f"threadpool_limits({threads})\n"
        "a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)\n"
        "a @ a\n"
        "best = min((lambda t: (a @ a, time.perf_counter() - t)[1])(time.perf_counter())"
        " for _ in range(5))\n"
        "print(2 * 2048**3 / best / 1e9)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def matmul_rates_around(threads: int, work):
    """`work()`'s result, and numpy's matmul rate measured just before and just after it.

    The machines here drift by 20% within minutes, so a rate taken once at the start
    makes an efficiency drift with them; the Keras benchmarks divide by the mean of the two.
    """
    before = matmul_rate(threads)
    result = work()
    return result, [before, matmul_rate(threads)]


def write_summary(out: Path, summary: dict, markdown: str) -> None:
    """`out`.json (the figures) and `out`.md (the same for a reader), side by side."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown)


def flops_per_example(kind: str) -> float:
    """Training FLOPs per example of the config's `kind` model ("mlp" or "cnn"), read off
    the built model: each dense and convolution layer's multiply-adds (kernel size times
    output positions), x2 for FLOPs and x3 for the forward and the backward pass."""
    import yaml

    from mnist_study import keras_models

    settings = yaml.safe_load((ROOT / "config.yaml").read_text())[kind]
    model = keras_models.build(kind, settings)
    macs = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            positions = layer.output.shape[1:-1]  # () for a dense layer
            macs += int(np.prod(kernel.shape)) * int(np.prod(positions))
    return 6.0 * macs
