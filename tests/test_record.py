"""The reproducibility record, its pages and cards, checked against the truth: the
versions importlib.metadata reports, the files' hashes, the benchmark files' sums."""

import hashlib
import itertools
import json
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import copy_workflow, run_snakemake, suite_settings
from mnist_study import data
from mnist_study.datasets import bundled_dir
from mnist_study.record import made
from mnist_study.storage import sha256_file


@pytest.fixture(scope="module")
def record(pipeline_run):
    workdir, _ = pipeline_run
    folder = workdir / "results/mnist-sample/record"
    return workdir, folder, json.loads((folder / "record.json").read_text())


@pytest.mark.pipeline
def test_the_record_says_how_the_run_was_made(record):
    workdir, _, found = record
    assert found["schema"] == 1 and found["dataset"] == "mnist-sample" and found["missing"] == []
    made_ = found["made"]
    assert made_["config"]["yaml"] == yaml.safe_dump(yaml.safe_load(made_["config"]["yaml"]),
                                                     sort_keys=True)  # fmt: skip
    assert yaml.safe_load(made_["config"]["yaml"]) == suite_settings()
    text = made_["config"]["yaml"].encode()
    assert made_["config"]["sha256"] == hashlib.sha256(text).hexdigest()
    assert made_["seeds"]["list"] == suite_settings()["repeats"]["seeds"]
    # One run made every job: the suite's one Snakemake command.
    [command] = made_["commands"]
    assert "snakemake" in command["command"] and "--configfile" in command["command"]
    assert command["jobs"] == found["compute"]["totals"]["jobs"]
    assert made_["workflow"]["source"] == str(workdir)  # a copy, not a git checkout
    assert made_["workflow"]["commit"] is None


@pytest.mark.pipeline
def test_the_record_environment_is_what_importlib_reports(record):
    _, _, found = record
    packages = found["environment"]["packages"]
    assert {"train_mlp", "train_cnn", "prepare_data", "metrics_summary"} <= set(packages)
    assert {"keras", "tensorflow"} <= set(packages["train_mlp"])
    assert "scikit-learn" in packages["train_final_svm"]
    # numpy imported by pca_projection.py above its package lines is the job's, and
    # scoring a network imports no scikit-learn (mnist_study/metrics.py)
    assert {"numpy", "scikit-learn"} <= set(packages["pca_projection"])
    assert "numpy" in packages["train_nn_numpy"] and "scikit-learn" not in packages["train_mlp"]
    for rule, versions in packages.items():
        for name, version in versions.items():
            assert version == metadata.version(name), (rule, name)
    [machine] = found["environment"]["machines"]
    assert machine["cores"] >= 1 and machine["python"].count(".") == 2 and machine["cpu"]


@pytest.mark.pipeline
def test_the_record_data_hashes_are_the_files(record):
    workdir, folder, found = record
    sample = bundled_dir("mnist-sample")
    files = found["data"]["files"]
    assert len(files) == 4
    for name, facts in files.items():
        assert facts["sha256"] == sha256_file(sample / name) and facts["verified"]
    assert found["data"]["split"] == {"train": 7996, "test": 2004}
    assert "CC BY-SA 3.0" in found["data"]["licence"] and "LeCun" in found["data"]["citation"]
    # The Croissant data card, read back with mlcroissant: its records are the Parquet data.
    mlc = pytest.importorskip("mlcroissant")
    card = json.loads((folder / "croissant.json").read_text())
    parquet = workdir / "results/mnist-sample/data/test.parquet"
    shas = {f["name"]: f["sha256"] for f in card["distribution"]}
    assert shas["test.parquet"] == sha256_file(parquet)
    dataset = mlc.Dataset(jsonld=folder / "croissant.json")
    assert not dataset.metadata.ctx.issues.errors
    assert [r.name for r in dataset.metadata.record_sets] == ["train", "test"]
    first = list(itertools.islice(dataset.records(record_set="test"), 2))
    split = data.read_split(parquet)
    for k, rec in enumerate(first):
        assert rec["test/label"] == split.y[k]
        assert np.allclose(rec["test/pixels"], split.X[k])


@pytest.mark.pipeline
def test_the_record_compute_totals_are_the_benchmark_files(record):
    workdir, _, found = record
    benchmarks = sorted((workdir / "results/mnist-sample/benchmarks").rglob("*.tsv"))
    frames = pd.concat([pd.read_csv(p, sep="\t") for p in benchmarks])
    totals = found["compute"]["totals"]
    assert totals["benchmarked_jobs"] == len(benchmarks)
    assert totals["cpu_seconds"] == pytest.approx(frames["cpu_time"].sum())
    assert totals["wall_seconds"] == pytest.approx(frames["s"].sum())
    assert totals["cpu_hours"] == pytest.approx(totals["cpu_seconds"] / 3600)
    assert totals["reused"] == 0  # the suite's one run made everything
    rules = {job["rule"] for job in found["compute"]["jobs"]}
    assert {"train_mlp", "svm_grid_search", "headline", "svm_kernel_trick"} <= rules
    assert "record" not in rules


@pytest.mark.pipeline
def test_the_pages_cards_and_checklist(record):
    _, folder, found = record
    page = (folder / "record.md").read_text()
    for anchor in ("how-it-was-made", "environment", "data", "methods", "compute", "missing"):
        assert f'<a id="{anchor}"></a>' in page
    # What each interval means is the code's own docstring.
    from mnist_study import stats

    assert stats.two_source.__doc__.split("\n")[0] in page
    checklist = (folder / "checklist.md").read_text()
    assert checklist.count("([evidence](") == 7 and "record.md#compute" in checklist
    models = set(found["methods"]["models"])
    assert {p.stem for p in (folder / "cards").glob("*.md")} == models
    for model in models:
        card = (folder / "cards" / f"{model}.md").read_text()
        for section in ("Model description", "Training data", "Evaluation data", "Settings",
                        "Metrics", "Confusion matrix", "Limitations"):  # fmt: skip
            assert f"# {section}" in card, (model, section)
    svm = (folder / "cards/svm_final.md").read_text()
    grid = found["methods"]["models"]["svm_final"]["chosen"]
    assert "chosen by the grid search" in grid and grid in svm


def test_the_config_hash_changes_with_a_setting():
    config = suite_settings()
    first = made(config, [], "/w", {})["config"]["sha256"]
    config["mlp"]["epochs"] += 1
    assert made(config, [], "/w", {})["config"]["sha256"] != first


@pytest.mark.pipeline
def test_a_partial_run_records_what_is_missing(tmp_path):
    # The data and PCA stages' files of the default target, and the record.
    workdir = copy_workflow(tmp_path)
    record = "results/mnist-sample/record/record.json"
    stages = [
        "data/train.parquet",
        "data/test.parquet",
        "data/sample_digits.png",
        "pca/pca2_scatter.png",
        "pca/pca3_scatter.png",
        "pca/cumulative_variance.png",
    ]
    run_snakemake(workdir, targets=[*(f"results/mnist-sample/{f}" for f in stages), record])
    found = json.loads((workdir / record).read_text())
    missing = found["missing"]
    assert "results/mnist-sample/tables/metrics_summary.csv" in missing
    assert not any("/pca/" in path or "/data/" in path for path in missing)
    assert found["methods"]["models"] == {}
    rules = {job["rule"] for job in found["compute"]["jobs"]}
    assert rules == {"prepare_data", "plot_sample_digits", "pca_projection", "pca_variance"}
    page = (workdir / "results/mnist-sample/record/record.md").read_text()
    assert "results/mnist-sample/tables/metrics_summary.csv" in page
    assert "Partial results" in (workdir / "results/mnist-sample/record/checklist.md").read_text()


def test_the_record_names_the_failed_runs(tmp_path):
    """record.json's `failed_runs` comes from the metrics table (a NaN metric), and the
    record page gives them one line, or says that every run counts."""
    from mnist_study import record, record_page, results
    from mnist_study.metrics import metric_row

    rows = [
        metric_row("mlp", "mlp", {}, seed=s, train_size=10, test_size=20, fit_seconds=1.0,
                   accuracy=[0.9, np.nan][s], macro_auc=[0.99, np.nan][s],
                   test_loss=[0.3, np.nan][s])
        for s in (0, 1)
    ]  # fmt: skip
    (tmp_path / "tables").mkdir()
    results.metrics_table(rows, "toy").to_parquet(tmp_path / "tables/metrics.parquet")
    failed = record.failed(tmp_path)
    assert failed == [
        {"model": "mlp", "seed": 1, "metrics": ["accuracy", "macro_auc", "test_loss"]}
    ]
    assert record_page.failed_line(failed) == (
        "- Failed runs: 1, a metric NaN (a diverged network), left out of that metric's "
        "mean and interval and counted in metrics_summary's `failed`: mlp seed 1 "
        "(accuracy, macro_auc, test_loss)."
    )
    assert record_page.failed_line([]).startswith("- Failed runs: none")
    assert record.failed(tmp_path / "elsewhere") == []
