"""The pipeline through the SLURM profile, on a real single-node SLURM started here.

Slow (the whole pipeline on the bundled sample, as SLURM jobs) and root-only (it
installs and starts SLURM and munge); skipped where it cannot run.
"""

import json
import subprocess

import pandas as pd
import pytest
from slurm_cluster import SlurmCluster, can_run

from conftest import (
    config_args,
    copy_workflow,
    deterministic_outputs,
    local_rules,
    planned_counts,
    snakemake_command,
)

# One seed, and a sweep of two points: every point and seed is its own SLURM job, with the
# profile as it is.
SLURM_SEEDS = [0]

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.skipif(can_run() is not None, reason=str(can_run())),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


@pytest.mark.slow(300)
def test_pipeline_through_slurm_matches_a_local_run(cluster, request, tmp_path):
    # The shared local run is asked for only once the SLURM run is done, so that the two
    # start side by side on two pytest-xdist workers (tests/conftest.py orders the tests).
    workdir = copy_workflow(tmp_path / "slurm-run")
    seeds = workdir / "seeds.yaml"
    # and a sweep of two points of the numpy network: each point and seed its own job
    seeds.write_text(
        f"repeats:\n  seeds: {SLURM_SEEDS}\n"
        "sweeps:\n  width: {model: nn_numpy, vary: {hidden: [20, 40]}}\n"
    )
    # Every job but the local rules goes to SLURM: the plan, read before the run.
    args = config_args(seeds.name)
    submitted = {
        rule: count
        for rule, count in planned_counts(workdir, *args).items()
        if rule not in local_rules(workdir)
    }
    command = [
        "timeout", "-k", "10", "2400",
        *snakemake_command(),
        "--workflow-profile", "profiles/slurm",
        # No accounting database here: poll with squeue, submit without an account.
        "--slurm-status-command", "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1",
        # Ask for finished jobs every 2 s rather than 10: the jobs here take seconds.
        "--seconds-between-status-checks", "2",
        "--slurm-keep-successful-logs",
        # One node with 2 CPUs and no GPU. The jobs compute with the config's threads
        # on SLURM as locally; the grid search's workers, which change no score, are
        # the profile's 8 unless set.
        "--set-threads", "svm_grid_search=1",
        "--set-resources", "train_mlp:gpu=0", "train_cnn:gpu=0",
        "--jobs", "2",
        *args,
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=workdir, env=cluster.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-8000:]

    # Every submitted job ran under SLURM and completed: one per seed for each per-seed
    # rule, one per sweep point and seed, one per job of the deterministic stages.
    jobs = cluster.completed_jobs()
    assert len(jobs) == sum(submitted.values()), (jobs, submitted)
    assert all(job["JobState"] == "COMPLETED" for job in jobs), jobs
    logs = workdir / ".snakemake/slurm_logs"
    assert {p.name.removeprefix("rule_") for p in logs.iterdir()} == set(submitted)

    # The same results as the local run, byte for byte where no timing is written: every
    # model's predictions too. The final SVM's follow the grid's choice, made over the
    # seeds of each run: the suite's grid chooses the same over seed 0 as over all five.
    local_dir, _ = request.getfixturevalue("pipeline_run")
    here, there = workdir / "results/mnist-sample", local_dir / "results/mnist-sample"
    chosen = [
        {key: json.loads((run / "svm/grid_best.json").read_text())[key] for key in ("C", "gamma")}
        for run in (here, there)
    ]
    assert chosen[0] == chosen[1]
    final = [f"svm_final/base/seed-{seed}/predictions.parquet" for seed in SLURM_SEEDS]
    for name in [*deterministic_outputs(SLURM_SEEDS), *final]:
        assert (here / name).read_bytes() == (there / name).read_bytes(), name
    slurm_metrics = pd.read_parquet(workdir / "results/mnist-sample/tables/metrics.parquet")
    local_metrics = pd.read_parquet(local_dir / "results/mnist-sample/tables/metrics.parquet")
    local_metrics = local_metrics[local_metrics["seed"].isin(SLURM_SEEDS)].reset_index(drop=True)
    assert slurm_metrics["model"].tolist() == local_metrics["model"].tolist()
    assert slurm_metrics["seed"].tolist() == local_metrics["seed"].tolist()
    assert slurm_metrics["accuracy"].tolist() == local_metrics["accuracy"].tolist()
    sweep = pd.read_csv(workdir / "results/mnist-sample/sweeps/width_summary.csv")
    assert sweep["point"].tolist() == ["hidden~20", "hidden~40"]
    assert (sweep["seeds"] == len(SLURM_SEEDS)).all()
