"""The pipeline through the SLURM profile, on a real single-node SLURM started here.

Slow (the whole pipeline on the bundled sample, as SLURM jobs) and root-only (it
installs and starts SLURM and munge); skipped where it cannot run.
"""

import subprocess
import sys

import pandas as pd
import pytest
from slurm_cluster import SlurmCluster, can_run

from conftest import config_args, copy_workflow

# Two seeds: every seed's jobs fan out as independent SLURM jobs, with the profile as it is.
SLURM_SEEDS = [0, 1]

pytestmark = pytest.mark.skipif(can_run() is not None, reason=str(can_run()))

# Tables that must be byte-identical to a local run's (no timings in them).
IDENTICAL = [
    "data/train.parquet",
    "data/test.parquet",
    "pca/explained_variance.csv",
    "pca/components_for_variance.csv",
    "svm/grid_search.csv",
    "svm/grid_best.json",
    *(
        f"{model}/base/seed-{seed}/{name}"
        for seed in SLURM_SEEDS
        for model, name in (
            ("svm_kernels", "kernels.csv"),
            ("svm_final", "scores.json"),
            ("nn_numpy", "history.csv"),
            ("nn_numpy", "auc.csv"),
        )
    ),
]


SLURM_RULES = {
    "prepare_data",
    "plot_sample_digits",
    "pca_projection",
    "pca_variance",
    "compare_svm_kernels",
    "plot_svm_boundaries",
    "svm_grid_search",
    "train_final_svm",
    "score_final_svm",
    "svm_kernel_trick",
    "train_nn_numpy",
    "train_mlp",
    "train_cnn",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


def test_pipeline_through_slurm_matches_a_local_run(cluster, pipeline_run, tmp_path):
    local_dir, _ = pipeline_run
    workdir = copy_workflow(tmp_path / "slurm-run")
    seeds = workdir / "seeds.yaml"
    # and a sweep of two points of the numpy network: each point and seed its own job
    seeds.write_text(
        f"repeats:\n  seeds: {SLURM_SEEDS}\n"
        "sweeps:\n  width: {model: nn_numpy, vary: {hidden: [20, 40]}}\n"
    )
    # The local run (--cores 2) gives each multi-core rule half the cores: the same
    # here, so that the Keras models train with the same thread count on both.
    threads = "1"
    command = [
        "timeout", "-k", "10", "2400",
        sys.executable, "-m", "snakemake",
        "--workflow-profile", "profiles/slurm",
        # No accounting database here: poll with squeue, submit without an account.
        "--slurm-status-command", "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1",
        "--slurm-keep-successful-logs",
        # One node with 2 CPUs and no GPU.
        "--set-threads", f"svm_grid_search={threads}", f"train_mlp={threads}",
        f"train_cnn={threads}", f"train_nn_numpy={threads}",
        "--set-resources", "train_mlp:gpu=0", "train_cnn:gpu=0",
        "--jobs", "2",
        *config_args(seeds.name),
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=workdir, env=cluster.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-8000:]

    # Every job except the local bookkeeping rules ran under SLURM and completed: one
    # per seed for the 6 per-seed rules, one per sweep point and seed, and 8 more
    # (pca_projection for 2 and for 3).
    jobs = cluster.completed_jobs()
    assert len(jobs) == 6 * len(SLURM_SEEDS) + 2 * len(SLURM_SEEDS) + 8, jobs
    assert all(job["JobState"] == "COMPLETED" for job in jobs), jobs
    logs = workdir / ".snakemake/slurm_logs"
    assert {p.name.removeprefix("rule_") for p in logs.iterdir()} == SLURM_RULES

    # The same results as the local run.
    for name in IDENTICAL:
        here = workdir / "results/mnist-sample" / name
        there = local_dir / "results/mnist-sample" / name
        assert here.read_bytes() == there.read_bytes(), name
    slurm_metrics = pd.read_parquet(workdir / "results/mnist-sample/tables/metrics.parquet")
    local_metrics = pd.read_parquet(local_dir / "results/mnist-sample/tables/metrics.parquet")
    local_metrics = local_metrics[local_metrics["seed"].isin(SLURM_SEEDS)].reset_index(drop=True)
    assert slurm_metrics["model"].tolist() == local_metrics["model"].tolist()
    assert slurm_metrics["seed"].tolist() == local_metrics["seed"].tolist()
    # Keras on a different thread count may round differently; the documented tolerance.
    assert (slurm_metrics["accuracy"] - local_metrics["accuracy"]).abs().max() <= 0.01
    sweep = pd.read_csv(workdir / "results/mnist-sample/sweeps/width_summary.csv")
    assert sweep["point"].tolist() == ["hidden~20", "hidden~40"]
    assert (sweep["seeds"] == len(SLURM_SEEDS)).all()
