"""Results tables: unit tests on small frames, then real runs on two datasets."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, run_snakemake
from mnist_study import results
from mnist_study.metrics import metric_row

FASHION = ROOT.parent / "shared" / "datasets" / "fashion-mnist"
MODELS = ["svm_linear", "svm_poly", "svm_sigmoid", "svm_rbf", "svm_final", "nn_numpy", "mlp", "cnn"]


def test_metrics_table_is_tidy():
    rows = [
        metric_row(
            "svm",
            "svm_rbf",
            {"C": 1.0},
            train_size=10,
            test_size=5,
            accuracy=0.9,
            macro_auc=0.95,
            fit_seconds=0.1,
            predict_seconds=0.01,
        ),
        metric_row(
            "mlp",
            "mlp",
            {"epochs": 2},
            train_size=10,
            test_size=5,
            accuracy=0.8,
            macro_auc=0.9,
            test_loss=0.4,
            fit_seconds=1.0,
            predict_seconds=0.1,
        ),
    ]
    table = results.metrics_table(rows, "toy")
    assert list(table.columns) == results.METRIC_COLUMNS
    assert table["dataset"].tolist() == ["toy", "toy"]
    assert json.loads(table["settings"][1]) == {"epochs": 2}
    assert pd.isna(table["test_loss"][0]) and table["test_loss"][1] == 0.4
    with pytest.raises(ValueError, match="unknown metric fields"):
        metric_row("x", "y", {}, accuracy=1, bogus=2)


def test_study_comparison_differences_and_notes():
    variance = pd.DataFrame({"explained_variance_ratio": [0.1, 0.07, 0.05]})
    levels = pd.DataFrame({"variance_level": [0.8, 0.9], "components": [44, 87]})
    best = {"C": 10.0, "gamma": 0.01, "cv_accuracy": 0.9}
    metrics = pd.DataFrame(
        {
            "model": ["svm_rbf", "nn_numpy", "mlp", "cnn"],
            "accuracy": [0.9, 0.91, 0.97, 0.99],
            "macro_auc": [0.98, 0.995, 0.999, 0.999],
        }
    )
    table = results.study_comparison(variance, levels, best, metrics, "mnist").set_index("quantity")
    assert table.loc["PCA explained variance, components 1+2", "this_run"] == pytest.approx(0.17)
    assert table.loc["PCA explained variance, components 1+2", "difference"] == pytest.approx(
        0.17 - 0.168
    )
    assert table.loc["PCA components for 80% of variance", "this_run"] == 44
    assert table.loc["Keras CNN test accuracy", "difference"] == pytest.approx(0.99 - 0.9859)
    unlike = table.loc["SVM RBF (C=1) accuracy"]
    assert pd.isna(unlike["study"]) and "own training subset" in unlike["note"]
    other = results.study_comparison(variance, levels, best, metrics, "fashion-mnist")
    assert other["note"].str.len().gt(0).all()


def test_stage_costs_reads_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "train_mlp.tsv").write_text(
        header + "12.5\t0:00:12\t900.1\t1\t1\t1\t0\t0\t80\t20.0\n"
    )
    (tmp_path / "prepare_data.tsv").write_text(
        header + "3.0\t0:00:03\t200\t1\t1\t1\t0\t0\t50\t2.5\n"
    )
    costs = results.stage_costs(sorted(tmp_path.iterdir()), "toy")
    assert costs["job"].tolist() == ["prepare_data", "train_mlp"]
    assert costs["wall_seconds"].tolist() == [3.0, 12.5]
    assert costs["cpu_seconds"].tolist() == [2.5, 20.0]
    assert costs["max_rss_mb"].tolist() == [200.0, 900.1]


def test_run_log_only_grows(tmp_path):
    path = tmp_path / "run_log.csv"
    metrics = pd.DataFrame(
        {"model": ["mlp", "nn_numpy"], "accuracy": [0.9, 0.8], "macro_auc": [0.99, 0.98]}
    )
    first = results.run_log_row("toy", {"a": 1}, ROOT, metrics)
    assert first["mlp_accuracy"] == 0.9 and first["nn_numpy_auc"] == 0.98
    assert (
        results.run_log_row("toy", {"a": 2}, ROOT, metrics)["config_hash"] != first["config_hash"]
    )
    assert results.append_run_log(path, first)
    assert results.append_run_log(path, {**first, "dataset": "other"})
    # The same results again (a later time only) add nothing; different ones do.
    assert not results.append_run_log(path, {**first, "time": "later"})
    assert results.append_run_log(path, {**first, "mlp_accuracy": 0.91})
    log = pd.read_csv(path)
    assert log["dataset"].tolist() == ["toy", "other", "toy"]


def test_metrics_table_of_the_sample_run(pipeline_run):
    workdir, _ = pipeline_run
    table = pd.read_parquet(workdir / "results/mnist-sample/tables/metrics.parquet")
    assert table["model"].tolist() == MODELS
    assert (table["dataset"] == "mnist-sample").all() and (table["test_size"] == 2004).all()
    assert table["accuracy"].between(0.5, 1).all() and table["macro_auc"].between(0.9, 1).all()
    assert table["fit_seconds"].gt(0).all() and table["predict_seconds"].gt(0).all()
    assert table.loc[table["stage"].isin(["nn_numpy", "mlp", "cnn"]), "test_loss"].gt(0).all()
    markdown = (workdir / "results/mnist-sample/tables/metrics.md").read_text()
    assert markdown.count("\n") == len(table) + 2
    costs = pd.read_csv(workdir / "results/mnist-sample/tables/stage_costs.csv")
    assert {"train_mlp", "svm_grid_search", "prepare_data"} <= set(costs["job"])
    assert costs["wall_seconds"].gt(0).all() and costs["max_rss_mb"].gt(10).all()
    comparison = pd.read_csv(workdir / "results/mnist-sample/tables/study_comparison.csv")
    assert len(comparison) == 11 and comparison["this_run"].notna().all()


@pytest.mark.skipif(not FASHION.is_dir(), reason="../shared/datasets/fashion-mnist is absent")
def test_second_dataset_joins_the_collected_table_and_the_run_log(pipeline_run):
    workdir, _ = pipeline_run
    run_log = workdir / "results/tables/run_log.csv"
    run_snakemake(workdir)  # the sample is complete: a no-op
    before = len(pd.read_csv(run_log))
    assert before >= 1

    # Fashion-MNIST from the local copy, with light settings to keep the test short.
    small = {
        "dataset": "fashion-mnist",
        "dataset_dir": str(FASHION),
        "pca": {"scatter_points": 500},
        "svm": {
            "kernels": {"subset": 300},
            "boundaries": {"subset": 300, "resolution": 60},
            "grid": {"subset": 200, "folds": 3, "C": [1, 10], "gamma": [0.01, 0.1]},
            "final": {"subset": 500},
        },
        "nn_numpy": {"epochs": 1},
        "mlp": {"epochs": 1, "hidden": [64, 64], "batch_size": 256},
        "cnn": {"epochs": 1, "batch_size": 256},
    }
    config = workdir / "fashion.yaml"
    config.write_text(yaml.safe_dump(small))
    sample_table = workdir / "results/mnist-sample/svm/kernels.csv"
    stamp = sample_table.stat().st_mtime_ns
    run_snakemake(workdir, "--configfile", "config.yaml", str(config))
    collected = pd.read_csv(workdir / "results/tables/metrics_by_dataset.csv")
    assert set(collected["dataset"]) == {"mnist-sample", "fashion-mnist"}
    assert len(collected) == 2 * len(MODELS)
    fashion = collected[collected["dataset"] == "fashion-mnist"]
    assert (fashion["test_size"] == 10_000).all()
    log = pd.read_csv(run_log)
    assert len(log) == before + 1
    assert log["dataset"].iloc[-1] == "fashion-mnist"
    assert np.isclose(
        log["cnn_accuracy"].iloc[-1], fashion.loc[fashion["model"] == "cnn", "accuracy"].iloc[0]
    )
    # The sample's results are untouched by the second dataset and its other settings.
    assert sample_table.stat().st_mtime_ns == stamp

    proc = run_snakemake(workdir, "--configfile", "config.yaml", str(config))
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert len(pd.read_csv(run_log)) == before + 1


def test_score_probabilities_row():
    from mnist_study.metrics import score_probabilities

    y = np.arange(20) % 10
    probabilities = np.full((20, 10), 0.05)
    probabilities[np.arange(20), y] = 0.55  # every row right, with probability 0.55
    scores, row = score_probabilities("mlp", "mlp", {"epochs": 1}, y, probabilities, 100, 2.0, 0.1)
    assert scores["accuracy"] == 1.0 and row["accuracy"] == 1.0
    assert row["test_loss"] == pytest.approx(-np.log(0.55))
    assert row["train_size"] == 100 and row["test_size"] == 20 and row["macro_auc"] == 1.0


def test_table_rules_do_not_import_scikit_learn():
    # The bookkeeping rules import the results module for the metrics row format;
    # importing scikit-learn with it would cost each of them seconds.
    code = "import sys, mnist_study.results; print('sklearn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "scripts",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
