"""Shared fixtures: tiny IDX data built in memory, and a copy of the workflow to run."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_study.idx import encode_idx

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILES = [
    "Snakefile",
    "rules",
    "scripts",
    "envs",
    "config.yaml",
    "config",
    "report",
    "profiles",
]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# The rules that run once per seed of repeats.seeds.
PER_SEED_RULES = [
    "compare_svm_kernels",
    "train_final_svm",
    "score_final_svm",
    "train_nn_numpy",
    "train_mlp",
    "train_cnn",
]
# The suite's settings (the default seeds, shorter training), copied beside config.yaml.
TEST_CONFIG = ROOT / "tests" / "test-config.yaml"
# Where the pipeline run's jobs write the modules they imported (runtime.record_imports).
IMPORTS = ".imports"


def config_args(*more: str) -> list[str]:
    """--configfile for a copied workflow: config.yaml, the test config, then `more`."""
    return ["--configfile", "config.yaml", TEST_CONFIG.name, *more]


def suite_settings() -> dict:
    """config.yaml with the test config merged over it, as the suite's runs see it."""
    import yaml

    from mnist_study.config import merge_configs

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    return merge_configs(config, yaml.safe_load(TEST_CONFIG.read_text()))


def make_dataset_dir(directory: Path, n_train: int = 40, n_test: int = 20, seed: int = 0):
    """Four gzipped IDX files of random 28x28 images with labels 0-9."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (directory / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(encode_idx(images), mtime=0)
        )
        (directory / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(encode_idx(labels), mtime=0)
        )
        arrays[prefix] = (images, labels)
    return arrays


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow (as a clone would have it) in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        elif src.exists():
            shutil.copy2(src, dest / name)
    shutil.copy2(TEST_CONFIG, dest / TEST_CONFIG.name)
    return dest


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1800, targets=()):
    """snakemake in `workdir`, with the test config unless `args` name config files.

    `targets` come first, where no option that takes a list (--configfile) can swallow them.
    """
    if "--configfile" not in args and (workdir / TEST_CONFIG.name).exists():
        args = (*config_args(), *args)
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *targets, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """The whole pipeline run once on the bundled sample; tests read its outputs."""
    workdir = copy_workflow(tmp_path_factory.mktemp("pipeline"))
    # Each job also records the modules it imported (tests/test_envs.py reads them).
    os.environ["MNIST_STUDY_IMPORTS"] = str(workdir / IMPORTS)
    try:
        first = run_snakemake(workdir)
    finally:
        del os.environ["MNIST_STUDY_IMPORTS"]
    return workdir, first
