"""Sweeps in the pipeline: each point a cached job per seed, exact reruns, one-line errors.

Each test works on its own copy of the finished bundled-sample run (`finished`).
"""

import json

import pandas as pd
import pytest
import yaml

from conftest import (
    RESCORING,
    config_args,
    planned,
    planned_counts,
    ran,
    rerun_table,
    run_snakemake,
    suite_settings,
)
from mnist_study.models import report_categories

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

SETTINGS = suite_settings()
SEEDS = SETTINGS["repeats"]["seeds"]
BASE_HIDDEN = SETTINGS["nn_numpy"]["hidden"]
# A sweep's jobs besides its training: its table, the collection, the record (which
# covers every output), the target.
SWEEP_JOBS = {"sweep_table", "collect_sweeps", "record", "all"}


def sweep_args(workdir, values, name="width", extra=None) -> list[str]:
    """--configfile args adding a sweep of the numpy network's hidden units over `values`."""
    settings = {"sweeps": {name: {"model": "nn_numpy", "vary": {"hidden": list(values)}}}}
    if extra:
        settings |= extra
    path = workdir / f"sweep-{len(values)}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return config_args(path.name)


@pytest.mark.slow(125)
def test_a_sweep_trains_only_its_new_points_and_reruns_exactly(finished, bookkeeping):
    first = sweep_args(finished, [20, 50, BASE_HIDDEN])
    # The base value's point is the base run: two new points, once per seed, and the table.
    assert planned_counts(finished, *first) == {
        "train_nn_numpy": 2 * len(SEEDS),
        **dict.fromkeys(SWEEP_JOBS, 1),
    }
    proc = run_snakemake(finished, *first)
    assert sorted(ran(proc)) == sorted(["train_nn_numpy"] * 2 * len(SEEDS) + list(SWEEP_JOBS))
    assert planned(finished, *first) == set()

    sweeps = finished / "results/mnist-sample/sweeps"
    runs = pd.read_parquet(sweeps / "width.parquet")
    summary = pd.read_parquet(sweeps / "width_summary.parquet")
    assert list(summary["point"]) == ["hidden~20", "hidden~50", "base"]
    assert list(summary["hidden"]) == [20, 50, BASE_HIDDEN]
    assert (summary["seeds"] == len(SEEDS)).all()
    assert (summary["accuracy_ci_low"] < summary["accuracy_mean"]).all()
    assert (summary["accuracy_mean"] < summary["accuracy_ci_high"]).all()
    assert len(runs) == 3 * len(SEEDS)
    # The base point's rows are the base runs' metrics; the new points trained as asked.
    base = json.loads(
        (finished / f"results/mnist-sample/nn_numpy/base/seed-{SEEDS[0]}/metrics.json").read_text()
    )[0]
    first_base = runs[(runs["point"] == "base") & (runs["seed"] == SEEDS[0])].iloc[0]
    assert first_base["accuracy"] == base["accuracy"]
    narrow = json.loads(
        (
            finished / f"results/mnist-sample/nn_numpy/hidden~20/seed-{SEEDS[0]}/metrics.json"
        ).read_text()
    )[0]
    assert narrow["settings"]["hidden"] == 20
    assert (sweeps / "width.png").stat().st_size > 1000
    assert "hidden~20" in (sweeps / "width.md").read_text()
    collected = pd.read_csv(finished / "results/tables/sweeps_by_dataset.csv")
    assert set(collected["sweep"]) == {"width"} and len(collected) == 3
    # The report shows the figure under its own category, its caption naming the sweep.
    run_snakemake(finished, *first, "--report", "results/report.html")
    html = (finished / "results/report.html").read_text()
    assert '"results/mnist-sample/sweeps/width.png": {"name"' in html
    # Every category, the sweeps' among them, numbered 01, 02, ... in the registry's order.
    categories = list(report_categories().values())
    assert [title.split(". ")[0] for title in categories] == [
        f"{n:02d}" for n in range(1, len(categories) + 1)
    ]
    for category in categories:
        assert f'"{category}"' in html, category
    assert "<strong>width</strong>: the nn_numpy model" in html

    # Adding a value would train only the new point's seeds (the dry run's plan), as the
    # table of what each change reruns says (config/README.md).
    wider = sweep_args(finished, [20, 50, BASE_HIDDEN, 150])
    expected = {"train_nn_numpy": len(SEEDS), **dict.fromkeys(SWEEP_JOBS, 1)}
    assert planned_counts(finished, *wider) == expected
    assert rerun_table()["a sweep point added"] == (expected, sum(expected.values()))

    # Removing one reruns only the sweep's table (and the collection that lists it).
    fewer = sweep_args(finished, [20, BASE_HIDDEN])
    untouched = finished / f"results/mnist-sample/nn_numpy/hidden~20/seed-{SEEDS[0]}/metrics.json"
    stamp = untouched.stat().st_mtime_ns
    assert planned(finished, *fewer) == SWEEP_JOBS
    proc = run_snakemake(finished, *fewer)
    assert sorted(ran(proc)) == sorted(SWEEP_JOBS)
    assert untouched.stat().st_mtime_ns == stamp
    assert list(pd.read_parquet(sweeps / "width_summary.parquet")["point"]) == ["hidden~20", "base"]

    # An unrelated setting reruns no sweep job; one of the swept model reruns every point.
    unrelated = sweep_args(finished, [20, BASE_HIDDEN], extra={"cnn": {"epochs": 1}})
    assert planned(finished, *unrelated) == {"train_cnn", RESCORING} | bookkeeping
    related = sweep_args(finished, [20, BASE_HIDDEN], extra={"nn_numpy": {"epochs": 1}})
    counts = planned_counts(finished, *related)
    assert counts["train_nn_numpy"] == 2 * len(SEEDS)
    assert counts["sweep_table"] == 1


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"model": "svm", "vary": {"C": [1]}}, "config key sweeps.bad.model: 'svm' is not allowed"),
        (
            {"model": "mlp", "vary": {"hiden_units": [64]}},
            "sweep 'bad' (mlp): mlp has no setting 'hiden_units'; did you mean 'hidden_units'?",
        ),
        ({"model": "cnn", "vary": {"epochs": [0, 1]}}, "epochs = 0 is not allowed for cnn.epochs"),
        ({"model": "cnn", "vary": {"epochs": []}}, "config key sweeps.bad.vary.epochs: must not"),
        ({"model": "mlp", "vary": {"epochs": [2, 2]}}, "sweep 'bad' (mlp): epochs lists 2 twice"),
    ],
)
def test_a_bad_sweep_stops_before_any_job_with_one_line(finished, sweep, message):
    path = finished / "bad.yaml"
    path.write_text(yaml.safe_dump({"sweeps": {"bad": sweep}}))
    proc = run_snakemake(finished, *config_args(path.name), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    lines = [line for line in text.splitlines() if message in line]
    assert len(lines) == 1, text[-3000:]
    assert "Traceback" not in text and "Finished jobid" not in text
