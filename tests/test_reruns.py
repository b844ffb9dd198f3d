"""Rerun exactly what changed; survive a killed job; refuse bad data and tampered models.

Each test works on its own copy of the finished bundled-sample run, so that what it
changes stays its own.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import (
    FASHION_DIR,
    PER_SEED_RULES,
    RESCORING,
    ROOT,
    bookkeeping_counts,
    override,
    planned,
    planned_counts,
    ran,
    run_snakemake,
    snakemake_command,
    suite_settings,
)
from mnist_study.datasets import FILES, bundled_dir
from mnist_study.models import KERAS, MODELS

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

SEEDS = suite_settings()["repeats"]["seeds"]
PER_SEED = set(PER_SEED_RULES)


def test_nothing_changed_starts_no_job(finished):
    assert planned(finished) == set()
    proc = run_snakemake(finished)
    assert ran(proc) == [] and "Nothing to be done" in proc.stdout + proc.stderr


def test_the_same_values_in_another_key_order_rerun_nothing(finished):
    def reversed_keys(node):
        if isinstance(node, dict):
            return {key: reversed_keys(node[key]) for key in reversed(list(node))}
        return node

    # One file with every setting, keys in reverse order at every level, and a comment.
    same = finished / "same-values.yaml"
    text = yaml.safe_dump(reversed_keys(suite_settings()), sort_keys=False)
    same.write_text("# the suite's settings, reordered\n" + text)
    assert list(yaml.safe_load(same.read_text())) != list(suite_settings())
    assert planned(finished, "--configfile", same.name) == set()


# The config section of each per-seed rule's model (its settings param), by rule.
SECTION_OF = {rule: model.section for model in MODELS.values() for rule in model.rules[-1:]}
SECTION_OF["svm_grid_search"] = ("svm", "grid")
# The per-seed rules that compute with the config's `threads`.
THREADED = {"train_final_svm", "train_nn_numpy", "train_mlp", "train_cnn"}


def at(settings: dict, section: tuple) -> dict:
    for key in section:
        settings = settings[key]
    return settings


def nested(section: tuple, change: dict) -> dict:
    for key in reversed(section):
        change = {key: change}
    return change


def hiding_rounds() -> list[dict]:
    """Config changes, each changing a setting of every per-seed rule at once: round k the
    k-th integer setting of each rule's section (the rules' jobs are apart, so one
    change cannot mask another's), each to the number of `threads` (1) where it may take
    it, else to the smallest seed number it may take: the number of another param of the
    job (the CNN's feature-map image from 2, which the seed 2 holds too, to 1); then
    `threads` to 2, which the seed 2 and the CNN's feature-map image 2 hold, from 1,
    which the seed 1 holds."""
    from mnist_study.config import load_schema, merge_configs, schema_at

    schema = load_schema(ROOT / "rules/schemas/config.schema.yaml")
    full = suite_settings()

    def least(section, key):
        return schema_at(schema, (*section, key)).get("minimum", 0)

    # The integer settings that a seed's number can equal (a subset's least is above).
    keys = {
        rule: [
            k
            for k, v in at(full, section).items()
            if type(v) is int and least(section, k) <= max(SEEDS)
        ]
        for rule, section in SECTION_OF.items()
    }
    rounds = []
    for k in range(max(map(len, keys.values()))):
        change: dict = {}
        for rule, names in keys.items():
            if k < len(names):
                old = at(full, SECTION_OF[rule])[names[k]]
                lowest = least(SECTION_OF[rule], names[k])
                candidates = [full["threads"], *sorted(SEEDS)]
                new = next(n for n in candidates if n >= lowest and n != old)
                merge_configs(change, nested(SECTION_OF[rule], {names[k]: new}))
        rounds.append(change)
    return [*rounds, {"threads": 2}]


@pytest.mark.slow(40)
def test_no_setting_change_hides_among_a_jobs_other_params(finished):
    """Snakemake compares a job's params as a set of values (snakemake/snakemake#2212):
    before rules/common.smk's `exact`, `threads: 2` left the CNN's seed-1 job out of the
    plan (its params 1, 1, 2 before and 2, 1, 2 after make the same set) and a feature
    map image of 1 its seed-2 job. Each round changes settings of every per-seed rule to
    such values, and every seed's job of each rule it touches must be planned."""
    for change in hiding_rounds():
        counts = planned_counts(finished, *override(finished, change))
        if "threads" in change:  # every threaded run, and every run's scoring
            touched = THREADED
            assert counts.get(RESCORING) == len(MODELS) * len(SEEDS), counts
        else:
            touched = {rule for rule, section in SECTION_OF.items() if holds(change, section)}
        assert touched
        for rule in touched:
            assert counts.get(rule) == len(SEEDS), (change, rule, counts)


def holds(change: dict, section: tuple) -> bool:
    """Whether `change` sets something in the config section `section`."""
    try:
        at(change, section)
    except (KeyError, TypeError):
        return False
    return True


def test_every_jobs_params_hold_one_value_with_all_of_them(pipeline_run):
    """What Snakemake recorded of each job's params (.snakemake/metadata): beside the
    params the script reads, one value, `job` (rules/common.smk's `exact`), that holds
    every one of them by name, so that it changes whenever any of them does."""
    import ast

    workdir, _ = pipeline_run
    records = [json.loads(p.read_text()) for p in (workdir / ".snakemake/metadata").iterdir()]
    checked = set()
    for record in records:
        params = record.get("params") or []
        if not params:
            continue
        combined = [
            json.loads(ast.literal_eval(p))
            for p in params
            if p.startswith("'{") and p.endswith("}'")
        ]
        assert len(combined) == 1, (record["rule"], params)
        assert len(combined[0]) == len(params) - 1, (record["rule"], params)
        checked.add(record["rule"])
    assert {"train_cnn", "train_final_svm", RESCORING, "record"} <= checked


def test_numpy_network_setting_reruns_only_that_network(finished, bookkeeping):
    args = override(finished, {"nn_numpy": {"hidden": 50}})
    assert planned(finished, *args) == {"train_nn_numpy", RESCORING} | bookkeeping


def test_feature_map_image_reruns_only_the_cnn(finished, bookkeeping):
    # The CNN's job draws the feature maps (a job of their own would start TensorFlow
    # again): the image reruns it, and the tables that read its metrics and costs.
    args = override(finished, {"cnn": {"feature_map_image": 5}})
    assert planned(finished, *args) == {"train_cnn", RESCORING} | bookkeeping


@pytest.mark.slow(40)
def test_cnn_epochs_rerun_the_cnn_and_the_tables(finished, bookkeeping):
    args = override(finished, {"cnn": {"epochs": 1}})
    expected = {"train_cnn": len(SEEDS)} | bookkeeping_counts(bookkeeping, len(SEEDS))
    assert planned_counts(finished, *args) == expected
    # One seed for real: its run retrains with the new setting, the others still wait.
    target = f"results/mnist-sample/cnn/base/seed-{SEEDS[0]}/history.csv"
    proc = run_snakemake(finished, *args, targets=[target])
    assert ran(proc) == ["train_cnn"]
    assert len(pd.read_csv(finished / target)) == 1
    assert planned_counts(finished, *args)["train_cnn"] == len(SEEDS) - 1


@pytest.mark.slow(90)
def test_adding_a_seed_runs_only_that_seeds_jobs_and_the_tables(finished, bookkeeping):
    untouched = finished / f"results/mnist-sample/mlp/base/seed-{SEEDS[0]}/metrics.json"
    stamp = untouched.stat().st_mtime_ns
    new = max(SEEDS) + 1
    args = override(finished, {"repeats": {"seeds": [*SEEDS, new]}})
    # The new seed's runs; the grid search's choice over every seed, and with it every
    # seed's final SVM, which trains with the choice; the scoring of each run that
    # trains; the tables.
    final = {"train_final_svm": len(SEEDS) + 1}
    expected = dict.fromkeys(PER_SEED, 1) | final | {"svm_grid_choice": 1}
    expected |= bookkeeping_counts(bookkeeping, len(MODELS) - 1 + len(SEEDS) + 1)
    assert planned_counts(finished, *args) == expected
    # For real, the new seed's own training and the choice over every seed (the tables
    # over another seed list run for real in tests/test_user_datasets.py): no other
    # seed's run starts, and what is left is the final SVMs and the tables.
    own = [rule for rule in PER_SEED if rule not in final]
    runs = [model.name for model in MODELS.values() if not set(model.rules) & set(final)]
    targets = [f"results/mnist-sample/{name}/base/seed-{new}/metrics.json" for name in runs]
    targets.append("results/mnist-sample/svm/grid_best.json")
    proc = run_snakemake(finished, *args, targets=targets)
    assert sorted(ran(proc)) == sorted([*own, "svm_grid_choice"])
    assert untouched.stat().st_mtime_ns == stamp
    best = json.loads((finished / "results/mnist-sample/svm/grid_best.json").read_text())
    assert best["seeds"] == [*SEEDS, new]
    rescored = len(MODELS) - 1 + len(SEEDS) + 1  # the new seed's other runs, every final SVM
    assert planned_counts(finished, *args) == final | bookkeeping_counts(bookkeeping, rescored)


def test_mlp_speed_setting_reruns_only_the_mlp(finished, bookkeeping):
    args = override(finished, {"mlp": {"steps_per_execution": 4}})
    assert planned(finished, *args) == {"train_mlp", RESCORING} | bookkeeping


def test_keras_backend_reruns_the_keras_rules_only(finished, bookkeeping):
    args = override(finished, {"keras_backend": "jax"})
    expected = {"train_mlp", "train_cnn", RESCORING} | bookkeeping
    assert planned(finished, *args) == expected


def test_editing_library_code_reruns_its_stage(finished):
    module = finished / "scripts/mnist_study/kernel_trick.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    # The record covers every output, and nothing depends on it.
    assert planned(finished) == {"svm_kernel_trick", "record", "all"}
    module = finished / "scripts/mnist_study/pca.py"
    time.sleep(0.01)
    module.write_text(module.read_text() + "\n# an edit\n")
    assert planned(finished) == {
        "svm_kernel_trick",
        "pca_projection",
        "pca_variance",
        "study_comparison",
        "stage_costs",
        "record",
        "all",
    }  # the metrics did not change, so neither do the collected tables
    # The class names live in datasets.py, which the sample-digits figure draws with:
    # the rules' inputs come from their scripts' imports, so it reruns too.
    module = finished / "scripts/mnist_study/datasets.py"
    module.write_text(module.read_text() + "\n# an edit\n")
    assert "plot_sample_digits" in planned(finished)


def test_forcerun_and_until(finished, bookkeeping):
    expected = {"train_nn_numpy", RESCORING} | bookkeeping
    assert planned(finished, "--forcerun", "train_nn_numpy") == expected
    shutil.rmtree(finished / "results")
    assert planned(finished, "--until", "prepare_data") == {"prepare_data"}
    assert planned(finished, "--until", "pca_variance") == {"prepare_data", "pca_variance"}


@pytest.mark.slow(85)
def test_killed_training_is_rerun_and_ends_as_an_uninterrupted_run(finished):
    # Five epochs of one seed's MLP: long enough to be killed half-way.
    args = override(finished, {"mlp": {"epochs": 5}})
    target = "results/mnist-sample/mlp/base/seed-0/metrics.json"
    metrics = finished / target
    run_snakemake(finished, *args, targets=[target])
    before = json.loads(metrics.read_text())[0]
    log = finished / "results/mnist-sample/logs/train_mlp/base/seed-0.log"
    log.unlink()  # the finished run's log already says "epoch 2/5"
    proc = subprocess.Popen(
        [*snakemake_command(), "--cores", "2", target, *args, "--forcerun", "train_mlp"],
        cwd=finished, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if log.exists() and "epoch 2/5" in log.read_text():
            break
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the MLP never reached its second epoch")
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, as a power cut would
    proc.wait()

    assert not metrics.exists()  # Snakemake removed the job's outputs before it ran
    # the killed job is marked incomplete
    assert "train_mlp" in planned(finished, *args, targets=[target])
    # A killed Snakemake cannot release its lock; the user says it is gone.
    locked = run_snakemake(finished, *args, check=False, targets=[target])
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    run_snakemake(finished, *args, "--unlock")
    rerun = run_snakemake(finished, *args, targets=[target])
    assert "train_mlp" in ran(rerun)
    after = json.loads(metrics.read_text())[0]
    assert after["accuracy"] == before["accuracy"]
    assert after["test_loss"] == pytest.approx(before["test_loss"], rel=1e-6)


@pytest.mark.slow(45)
def test_keras_rules_repeat_their_predictions_in_fresh_processes(finished):
    """The real training rules, run again in new processes, predict exactly the same."""
    from mnist_study import data

    targets = [f"results/mnist-sample/{kind}/base/seed-1/predictions.parquet" for kind in KERAS]
    before = [data.read_predictions(finished / t) for t in targets]
    proc = run_snakemake(finished, "--forcerun", "train_mlp", "train_cnn", targets=targets)
    assert sorted(ran(proc)) == ["train_cnn", "train_mlp"]
    for target, first in zip(targets, before, strict=True):
        again = data.read_predictions(finished / target)
        for kind, run in first.items():
            assert np.array_equal(run["scores"], again[kind]["scores"]), target
            assert np.array_equal(run["predicted"], again[kind]["predicted"])


def assert_one_line_error(proc, log, *parts):
    """The console holds one line with every part and no traceback; the log holds the
    same line with the traceback below it."""
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    lines = [line for line in text.splitlines() if all(part in line for part in parts)]
    assert len(lines) == 1, text[-4000:]
    assert "Traceback" not in text, text[-4000:]
    logged = log.read_text()
    assert parts[0] in logged and "Traceback (most recent call last)" in logged
    assert logged.index(parts[0]) < logged.index("Traceback")


def tamper(model):
    """Append a byte to a saved model, keeping its modification time: Snakemake sees no
    newer input, so only the jobs a test forces read it."""
    stamp = model.stat()
    model.write_bytes(model.read_bytes() + b"\x00")
    os.utime(model, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))


def test_tampered_model_is_refused_in_one_line(finished):
    # Read back by the record, for the final SVM's model card (the job that trains the
    # model scores it in memory); --forcerun: the record's inputs are the default target's.
    tamper(finished / "results/mnist-sample/svm_final/base/seed-0/model.skops")
    proc = run_snakemake(finished, "--forcerun", "record", check=False)
    log = finished / "results/mnist-sample/logs/record.log"
    assert_one_line_error(
        proc, log, "rule record:", "model.skops: sha256 is", "refusing to load it",
        "Rerun the job that wrote it",
    )  # fmt: skip


def test_tampered_model_is_refused_by_its_scoring_job(finished):
    # The run's scoring job loads its saved model (an SVM's scoring arrays): forced, it
    # refuses the tampered file in one line and writes no scores; the scoring of another
    # run, forced beside it with --keep-going, is untouched by it and writes its own.
    tamper(finished / "results/mnist-sample/svm_final/base/seed-0/model.npz")
    scores = "results/mnist-sample/robustness/scores/{}/seed-0.parquet"
    targets = [scores.format("svm_final"), scores.format("nn_numpy")]
    assert all((finished / target).exists() for target in targets)
    proc = run_snakemake(
        finished, "--forcerun", RESCORING, "--keep-going", check=False, targets=targets
    )
    log = finished / "results/mnist-sample/logs/score_run_svm_final/base/seed-0.log"
    assert_one_line_error(
        proc, log, f"rule {RESCORING}:", "model.npz: sha256 is", "refusing to load it"
    )
    # Forced, the old scores were removed before the job ran; it wrote none.
    assert not (finished / targets[0]).exists()
    assert (finished / targets[1]).exists() and ran(proc) == [RESCORING]


def test_corrupt_dataset_file_is_refused_in_one_line(finished, tmp_path):
    broken = tmp_path / "sample"
    shutil.copytree(bundled_dir("mnist-sample"), broken)
    victim = broken / FILES["train_labels"]
    victim.write_bytes(victim.read_bytes()[:-40])  # a truncated download, say
    args = override(finished, {"dataset_dir": str(broken)})
    proc = run_snakemake(finished, *args, check=False)
    log = finished / "results/mnist-sample/logs/prepare_data.log"
    assert_one_line_error(
        proc, log, "rule prepare_data:", f"{FILES['train_labels']}: checksum mismatch",
        "Check dataset_dir",
    )  # fmt: skip


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="../shared/datasets/fashion-mnist is absent")
@pytest.mark.parametrize("fault", ["truncated", "missing"])
def test_bad_dataset_directory_stops_with_the_file_named(finished, tmp_path, fault):
    broken = tmp_path / "fashion"
    shutil.copytree(FASHION_DIR, broken)
    victim = broken / FILES["test_labels"]
    if fault == "truncated":
        victim.write_bytes(victim.read_bytes()[:1000])
    else:
        victim.unlink()
    sample = finished / "results/mnist-sample/tables/metrics.parquet"
    stamp = sample.stat().st_mtime_ns
    args = override(finished, {"dataset": "fashion-mnist", "dataset_dir": str(broken)})
    proc = run_snakemake(finished, *args, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "t10k-labels-idx1-ubyte.gz" in text
    assert ("checksum mismatch" if fault == "truncated" else "Missing input files") in text
    assert not (finished / "results/fashion-mnist/data/train.parquet").exists()
    assert sample.stat().st_mtime_ns == stamp  # earlier results untouched
