"""A run's numbers depend on its config, never on --cores.

The threads that share a sum set its order, and with it the rounding: a model trained
on two threads can score, and then predict, otherwise than on one. So every job whose
numbers the thread count can change computes with the config's `threads`, and --cores
decides only how many jobs run side by side.

The test runs every model's runs of one seed twice, at --cores 1 and at --cores 4, with
`threads: 2`: at --cores 1 the scheduler gives each job one core and the job computes
on two all the same; at --cores 4 it gives two and runs jobs side by side, and the grid
search, whose worker threads change no score, fits with two workers instead of one.
Every model's predictions.parquet must be the same byte for byte, and every job's record
must name the threads it computed with.

The settings are the suite's with one epoch per Keras model and the MLP at its default
1,200 units a layer, where a second thread changed its predictions on another machine.
On the code before the setting (each multi-core job took half of --cores: one thread at
--cores 1, two at --cores 4), the two runs' predictions differed here in the numpy
network's scores (2,003 of 2,004 test images, by up to 7e-7) and the CNN's (all 2,004,
by up to 8e-7); TensorFlow's MLP summed alike on 1 to 8 threads on this CPU.
"""

import json

import pytest

from conftest import copy_workflow, override, run_snakemake
from mnist_study.models import MODELS

pytestmark = pytest.mark.pipeline

SEEDS = [0]
SETTINGS = {
    "threads": 2,
    "repeats": {"seeds": SEEDS},
    "mlp": {"hidden": [1200, 1200], "epochs": 1},
    "cnn": {"epochs": 1},
}
# The rules that compute with the config's threads, of those run here (tests/test_envs.py
# holds the whole list).
CONFIG_THREADS = ["train_final_svm", "train_nn_numpy", "train_mlp", "train_cnn"]


def predictions(dataset: str = "mnist-sample") -> list[str]:
    """Every model's predictions.parquet for every seed, under the run's folder."""
    return [
        f"results/{dataset}/{model}/base/seed-{seed}/predictions.parquet"
        for model in MODELS
        for seed in SEEDS
    ]


@pytest.mark.slow(90)
def test_predictions_are_the_same_at_any_cores(tmp_path):
    runs = {}
    for cores in (1, 4):
        workdir = copy_workflow(tmp_path / f"cores-{cores}")
        args = override(workdir, SETTINGS)
        run_snakemake(workdir, *args, "--cores", str(cores), targets=predictions())
        runs[cores] = workdir

    differing = [
        name
        for name in predictions()
        if (runs[1] / name).read_bytes() != (runs[4] / name).read_bytes()
    ]
    assert differing == []

    def recorded_threads(workdir, rule, seed):
        log = workdir / f"results/mnist-sample/logs/{rule}/base/seed-{seed}.log.json"
        return json.loads(log.read_text())["threads"]

    for seed in SEEDS:
        for rule in CONFIG_THREADS:
            assert [recorded_threads(runs[c], rule, seed) for c in (1, 4)] == [2, 2], rule
        # One worker of one BLAS thread at --cores 1, two at --cores 4.
        assert [recorded_threads(runs[c], "svm_grid_search", seed) for c in (1, 4)] == [1, 2]
