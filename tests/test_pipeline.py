"""The whole pipeline, run by snakemake on the bundled sample in a temporary copy."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import run_snakemake
from mnist_study import data
from mnist_study.storage import sha256_file

SAMPLE_TRAIN_COUNTS = [800, 901, 792, 825, 784, 690, 811, 856, 755, 782]
SAMPLE_TEST_COUNTS = [201, 226, 199, 207, 196, 173, 203, 214, 189, 196]


def out(pipeline_run, *parts):
    workdir, _ = pipeline_run
    return workdir.joinpath("results", "mnist-sample", *parts)


def test_parquet_outputs_hold_the_sample(pipeline_run):
    train = data.read_split(out(pipeline_run, "data", "train.parquet"))
    test = data.read_split(out(pipeline_run, "data", "test.parquet"))
    assert train.X.shape == (7996, 784) and test.X.shape == (2004, 784)
    assert train.X.dtype == np.float32
    assert train.X.min() == 0.0 and train.X.max() == 1.0
    assert np.bincount(train.y).tolist() == SAMPLE_TRAIN_COUNTS
    assert np.bincount(test.y).tolist() == SAMPLE_TEST_COUNTS
    assert train.metadata["dataset"] == "mnist-sample"
    assert set(train.metadata["source_sha256"]) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    }
    # Pixels are k/255 exactly: the scaling kept the original grey levels.
    grey = train.X[:50] * 255
    assert np.allclose(grey, np.round(grey), atol=1e-4)
    meta = pq.read_metadata(out(pipeline_run, "data", "train.parquet"))
    assert b"mnist_study" in meta.metadata


def test_summary_and_sample_figure(pipeline_run):
    summary = json.loads(out(pipeline_run, "data", "summary.json").read_text())
    assert summary["train"]["class_counts"] == SAMPLE_TRAIN_COUNTS
    assert summary["test"]["examples"] == 2004
    png = out(pipeline_run, "data", "sample_digits.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_every_rule_left_a_log(pipeline_run):
    logs = out(pipeline_run, "logs")
    assert "train: 7996 examples" in (logs / "prepare_data.log").read_text()
    assert out(pipeline_run, "benchmarks", "prepare_data.tsv").read_text().startswith("s\t")


def test_second_run_does_nothing(pipeline_run):
    workdir, _ = pipeline_run
    proc = run_snakemake(workdir)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    dry = run_snakemake(workdir, "--dry-run", "--quiet", "rules")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_pca_outputs(pipeline_run):
    import pandas as pd

    two = pd.read_csv(out(pipeline_run, "pca", "pca2_variance.csv"))
    three = pd.read_csv(out(pipeline_run, "pca", "pca3_variance.csv"))
    full = pd.read_parquet(out(pipeline_run, "pca", "explained_variance.parquet"))
    assert len(two) == 2 and len(three) == 3 and len(full) == 784
    # The first components agree whichever number was asked for.
    assert np.allclose(two["explained_variance_ratio"], full["explained_variance_ratio"][:2])
    assert np.allclose(three["explained_variance_ratio"], full["explained_variance_ratio"][:3])
    assert 0.08 < two["explained_variance_ratio"][0] < 0.12
    assert full["cumulative"].iloc[-1] == pytest.approx(1.0, abs=1e-4)
    levels = pd.read_csv(out(pipeline_run, "pca", "components_for_variance.csv"))
    assert levels["variance_level"].tolist() == [0.8, 0.9, 0.95]
    counts = levels["components"].tolist()
    assert counts == sorted(counts) and 20 < counts[0] < 80
    for k, level in zip(counts, levels["variance_level"], strict=True):
        assert full["cumulative"][k - 1] >= level > full["cumulative"][k - 2]


def test_svm_outputs(pipeline_run):
    import pandas as pd

    kernels = pd.read_csv(out(pipeline_run, "svm", "kernels.csv"))
    assert kernels["kernel"].tolist() == ["linear", "poly", "sigmoid", "rbf"]
    assert kernels["accuracy"].between(0, 1).all() and kernels["macro_auc"].between(0, 1).all()
    assert (kernels["test_size"] == 2004).all() and (kernels["train_size"] == 1000).all()
    assert kernels["accuracy"].min() > 0.5  # far above the 0.1 of guessing
    grid = pd.read_csv(out(pipeline_run, "svm", "grid_search.csv"))
    assert len(grid) == 7 * 5 and not grid.duplicated(["C", "gamma"]).any()
    best = json.loads(out(pipeline_run, "svm", "grid_best.json").read_text())
    assert best["C"] in [0.01, 0.1, 1, 10, 100, 1000, 10000]
    assert best["gamma"] in [0.0001, 0.001, 0.01, 0.1, 1]
    assert best["cv_accuracy"] == pytest.approx(grid["mean_accuracy"].max())
    final = json.loads(out(pipeline_run, "svm", "final_metrics.json").read_text())[0]
    assert final["model"] == "svm_final" and final["train_size"] == 3000
    assert final["settings"]["C"] == best["C"] and final["test_size"] == 2004
    assert 0.9 < final["accuracy"] <= 1
    model = out(pipeline_run, "svm", "final_model.joblib")
    recorded = out(pipeline_run, "svm", "final_model.joblib.sha256").read_text().split()[0]
    assert recorded == sha256_file(model)


def test_network_outputs(pipeline_run):
    import pandas as pd

    history = pd.read_csv(out(pipeline_run, "nn_numpy", "history.csv"))
    assert history["epoch"].tolist() == [1, 2]
    assert (history["examples"] == 7996).all()  # every training image, every epoch
    assert history["loss"].iloc[1] < history["loss"].iloc[0]
    auc = pd.read_csv(out(pipeline_run, "nn_numpy", "auc.csv"))
    assert auc["class"].astype(str).tolist() == [*map(str, range(10)), "micro", "macro"]
    assert auc["auc"].between(0.9, 1).all()
    with np.load(out(pipeline_run, "nn_numpy", "weights.npz"), allow_pickle=False) as weights:
        assert weights["W1"].shape == (100, 784) and weights["W2"].shape == (10, 100)
    for kind, train_size in (("mlp", 7996), ("cnn", 6397)):
        row = json.loads(out(pipeline_run, kind, "metrics.json").read_text())[0]
        assert row["model"] == kind and row["train_size"] == train_size
        assert 0.85 < row["accuracy"] <= 1 and 0 < row["test_loss"] < 1
        history = pd.read_csv(out(pipeline_run, kind, "history.csv"))
        assert len(history) == {"mlp": 10, "cnn": 5}[kind]
        recorded = out(pipeline_run, kind, "model.keras.sha256").read_text().split()[0]
        assert recorded == sha256_file(out(pipeline_run, kind, "model.keras"))
    cnn_history = pd.read_csv(out(pipeline_run, "cnn", "history.csv"))
    assert {"val_loss", "val_accuracy"} <= set(cnn_history.columns)
    with np.load(out(pipeline_run, "cnn", "feature_maps.npz"), allow_pickle=False) as maps:
        assert maps["conv_1"].shape == (26, 26, 6) and maps["pool_2"].shape == (5, 5, 16)
    log = out(pipeline_run, "logs", "train_mlp.log").read_text()
    assert "epoch 10/10" in log
