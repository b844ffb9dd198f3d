"""The whole pipeline, run by snakemake on the bundled sample in a temporary copy."""

import json

import numpy as np
import pyarrow.parquet as pq

from conftest import run_snakemake
from mnist_study import data

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
