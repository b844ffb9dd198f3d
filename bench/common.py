"""What the benchmark scripts share: the paths, a fresh copy of the workflow, numpy's
matrix-multiply rate (the yardstick for the Keras efficiencies) and writing a summary.

Every script in bench/ imports this module (it sits beside them) instead of importing
another benchmark as a library.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FASHION = ROOT.parent / "shared" / "datasets" / "fashion-mnist"
# What a clone needs to run the workflow (no tests, no results).
WORKFLOW = ["Snakefile", "rules", "scripts", "envs", "config.yaml", "config", "report", "profiles"]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from mnist_study.datasets import bundled_dir  # noqa: E402

BUNDLED = bundled_dir("mnist-sample")


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow in `dest` (which must not exist yet)."""
    dest.mkdir(parents=True)
    for name in WORKFLOW:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


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
