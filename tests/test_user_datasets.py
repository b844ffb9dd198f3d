"""A dataset defined in the config: six classes, labels from 1, served over HTTP.

Built from the bundled sample's digits 0-4 with the labels shifted to start at 1 and
files named differently from MNIST's, and a rare sixth class: three training images of
digit 5 and none in the test set. Downloaded from a server on 127.0.0.1 with the
checksums given in the config, and run through the whole pipeline beside the finished
sample run, as a second dataset joins the first.
"""

import functools
import gzip
import hashlib
import http.server
import json
import threading

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from conftest import config_args, copy_workflow, run_snakemake, suite_settings
from mnist_study import idx
from mnist_study.datasets import bundled_dir, get_spec
from mnist_study.idx import encode_idx
from mnist_study.models import MODELS, table_models

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

NAME = "digits04"
CLASSES = ["zero", "one", "two", "three", "four", "five"]
RARE = 3  # training images of the sixth class, digit 5; it has no test images
FILES = {
    "train_images": "digits-train-images.gz",
    "train_labels": "digits-train-labels.gz",
    "test_images": "digits-test-images.gz",
    "test_labels": "digits-test-labels.gz",
}
BUNDLED = bundled_dir("mnist-sample")


def build_files(directory, train=1500, test=500):
    """The four gzipped IDX files of digits 0-4 (labels 1-5) and, at the end of the
    training set, RARE images of digit 5 (label 6); their sha256 by role."""
    directory.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for split, n in (("train", train), ("test", test)):
        images, labels = idx.read_split(*get_spec("mnist-sample").split_paths(BUNDLED, split))
        keep = np.flatnonzero(labels < 5)[:n]
        if split == "train":
            keep = np.concatenate([keep, np.flatnonzero(labels == 5)[:RARE]])
        for role, array in (("images", images[keep]), ("labels", labels[keep] + 1)):
            content = encode_idx(array.astype(np.uint8))
            path = directory / FILES[f"{split}_{role}"]
            path.write_bytes(gzip.compress(content, mtime=0))
            # the images' hash of the .gz, the labels' of the decompressed content
            hashed = path.read_bytes() if role == "images" else content
            hashes[f"{split}_{role}"] = hashlib.sha256(hashed).hexdigest()
    return hashes


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The files on an HTTP server on 127.0.0.1: (base URL, their hashes, requests)."""
    directory = tmp_path_factory.mktemp("mirror")
    hashes = build_files(directory)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    handler = functools.partial(Handler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", hashes, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def entry(url, hashes, **changes):
    return {
        "description": "MNIST digits 0-5, labels 1-6, three training images of 5",
        "files": dict(FILES),
        "sha256": dict(hashes),
        "mirrors": [url],
        "classes": list(CLASSES),
        "label_offset": 1,
        **changes,
    }


def with_dataset(workdir, dataset_entry, seeds=(0,)) -> list[str]:
    """The config args that run `workdir` on this dataset, written beside its config:
    the grid search with config.yaml's 5 folds, more than the rare class's images."""
    settings = {
        "dataset": NAME,
        "datasets": {NAME: dataset_entry},
        "repeats": {"seeds": list(seeds)},
        "svm": {"grid": {"folds": 5}},
    }
    (workdir / "dataset.yaml").write_text(yaml.safe_dump(settings))
    return config_args("dataset.yaml")


def workflow_with(tmp_path, dataset_entry, seeds=(0,)):
    workdir = copy_workflow(tmp_path / "run")
    return workdir, with_dataset(workdir, dataset_entry, seeds)


@pytest.mark.slow(110)
def test_five_classes_and_a_rare_one_run_end_to_end_beside_the_sample(server, finished):
    url, hashes, requests = server
    workdir = finished
    run_log = workdir / "results/tables/run_log.csv"
    before = len(pd.read_csv(run_log))
    sample_table = workdir / "results/mnist-sample/svm_kernels/base/seed-0/kernels.csv"
    stamp = sample_table.stat().st_mtime_ns
    args = with_dataset(workdir, entry(url, hashes))
    asked = len(requests)  # the module's other tests use the same server
    run_snakemake(workdir, *args)
    out = workdir / "results" / NAME
    assert sorted(requests[asked:]) == sorted(f"/{name}" for name in FILES.values())

    train = pq.read_table(out / "data/train.parquet")
    metadata = json.loads(train.schema.metadata[b"mnist_study"])
    assert metadata["classes"] == CLASSES and metadata["verified"] is True
    assert metadata["label_offset"] == 1
    labels = train.column("label").to_numpy()
    assert sorted(set(labels)) == [0, 1, 2, 3, 4, 5]  # labels 1-6 less the offset
    summary = json.loads((out / "data/summary.json").read_text())
    assert summary["train"]["class_counts"][5] == RARE
    assert summary["test"]["class_counts"][5] == 0 and len(summary["test"]["class_counts"]) == 6

    # The rare class, with no test images, stops nothing: every model is scored on the
    # five classes present, its macro AUC over them, with no NaN anywhere.
    metrics = pd.read_parquet(out / "tables/metrics.parquet")
    models = table_models(suite_settings()["svm"]["kernels"]["names"])
    assert metrics["model"].unique().tolist() == models
    assert (metrics["test_size"] == 500).all() and set(metrics["seed"]) == {0}
    assert (metrics["auc_classes"] == 5).all()
    # Five well-separated digits: every model far above chance (0.2).
    assert metrics["accuracy"].min() > 0.7 and metrics["macro_auc"].min() > 0.9
    for model in [m for m in MODELS if m != "svm_kernels"]:
        predictions = pd.read_parquet(out / f"{model}/base/seed-0/predictions.parquet")
        assert np.stack(predictions["scores"]).shape == (500, 6), model
        assert predictions["predicted"].isin(range(6)).all(), model
    auc = pd.read_csv(out / "nn_numpy/base/seed-0/auc.csv")
    assert auc["class"].tolist() == ["0", "1", "2", "3", "4", "micro", "macro"]
    assert auc["auc"].notna().all()
    confusion = pd.read_csv(out / "svm_kernels/base/seed-0/confusion.csv")
    assert len(confusion) == 4 * 6 * 6  # four kernels, 6 x 6 cells each
    assert confusion["count"].sum() == 4 * 500
    # Each job that met the rare class says so once, in its log: what it did about it.
    logs = out / "logs"
    said = {
        "prepare_data.log": "class 5 (five) has no test images: ",
        "svm_grid_search/base/seed-0.log": "class 5 has 3 training images, fewer than the 5 "
        "folds: all are in the grid search's 300 images",
        "compare_svm_kernels/base/seed-0.log": "class 5 has 3 training images, 0.998 expected "
        "in a stratified subset of 500: 1 kept",
        "train_nn_numpy/base/seed-0.log": "class 5 (five) has no test images: ",
    }
    for name, line in said.items():
        text = (logs / name).read_text()
        assert text.count(line) == 1, (name, text[-3000:])
    for path in logs.rglob("*.log"):
        text = path.read_text()
        assert "UndefinedMetricWarning" not in text and "least populated" not in text, path
    figures = ["data/sample_digits.png", "svm/decision_boundaries.png"]
    figures += ["cnn/base/seed-0/confusion.png", "cnn/base/seed-0/feature_maps.png"]
    for figure in figures:
        assert (out / figure).stat().st_size > 1000, figure
    summary = pd.read_csv(out / "tables/metrics_summary.csv")
    assert (summary["seeds"] == 1).all() and (summary["runs"] == 1).all()
    assert (summary["failed"] == 0).all() and summary["mean"].notna().all()
    # Nothing for the study comparison to compare: its figures are of MNIST.
    study = pd.read_csv(out / "tables/study_comparison.csv")
    assert study["difference"].isna().all()

    # The collected table holds both datasets; the run log grows by this run's row.
    collected = pd.read_csv(workdir / "results/tables/metrics_by_dataset.csv")
    assert set(collected["dataset"]) == {"mnist-sample", NAME}
    accuracy = collected[(collected["dataset"] == NAME) & (collected["metric"] == "accuracy")]
    assert set(accuracy["model"]) == set(models) and (accuracy["seeds"] == 1).all()
    # One seed: the accuracy's interval covers the test images only, and says so.
    assert (accuracy["interval"] == "test images (one seed)").all()
    log = pd.read_csv(run_log)
    assert len(log) == before + 1 and log["dataset"].iloc[-1] == NAME
    cnn = accuracy.loc[accuracy["model"] == "cnn"].iloc[0]
    assert np.isclose(log["cnn_accuracy_mean"].iloc[-1], cnn["mean"])
    assert np.isclose(log["cnn_accuracy_ci_low"].iloc[-1], cnn["ci_low"])
    # The sample's results are untouched by the second dataset and its other settings,
    # and a second run has nothing to do and logs no new row.
    assert sample_table.stat().st_mtime_ns == stamp
    proc = run_snakemake(workdir, *args)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert len(pd.read_csv(run_log)) == before + 1


def one_line_failure(proc, *parts):
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    lines = [line for line in text.splitlines() if all(part in line for part in parts)]
    assert len(lines) == 1, text[-4000:]
    assert "Traceback" not in text, text[-4000:]
    return lines[0]


def test_a_wrong_checksum_stops_the_download_naming_dataset_and_file(server, tmp_path):
    url, hashes, _ = server
    wrong = dict(hashes, test_labels="0" * 64)
    workdir, args = workflow_with(tmp_path, entry(url, wrong))
    proc = run_snakemake(
        workdir, *args, check=False, targets=[f"results/{NAME}/data/train.parquet"]
    )
    line = one_line_failure(proc, "ERROR", "checksum mismatch for digits04", "0" * 64)
    assert "could not download digits-test-labels.gz for digits04: " in line
    assert not (workdir / f"results/{NAME}/raw/digits-test-labels.gz").exists()


def test_a_label_outside_the_classes_stops_naming_dataset_and_file(server, tmp_path):
    url, hashes, _ = server
    workdir, args = workflow_with(tmp_path, entry(url, hashes, classes=CLASSES[:4]))
    proc = run_snakemake(
        workdir, *args, check=False, targets=[f"results/{NAME}/data/train.parquet"]
    )
    line = one_line_failure(proc, "dataset digits04: digits-train-labels.gz: label 5")
    assert "outside the 4 classes, labels 1-4 (label_offset 1)" in line


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"classes": None}, "config key datasets.digits04: 'classes' is a required property"),
        ({"sha256": {}}, "dataset 'digits04' (datasets.digits04): no sha256 for"),
        ({"classes": ["a", "b"]}, "datasets.digits04.classes: ['a', 'b'] is too short"),
    ],
)
def test_a_bad_dataset_entry_is_one_line_before_any_job(server, tmp_path, change, message):
    url, hashes, _ = server
    given = {k: v for k, v in entry(url, hashes, **change).items() if v is not None}
    workdir, args = workflow_with(tmp_path, given)
    proc = run_snakemake(workdir, *args, check=False)
    one_line_failure(proc, message)
    assert "Finished jobid" not in proc.stdout + proc.stderr


def test_a_built_in_name_is_refused(tmp_path):
    workdir = copy_workflow(tmp_path / "run")
    given = {"datasets": {"mnist": {"files": dict(FILES), "classes": CLASSES, "verify": False}}}
    (workdir / "mine.yaml").write_text(yaml.safe_dump(given))
    proc = run_snakemake(workdir, *config_args("mine.yaml"), "--dry-run", check=False)
    one_line_failure(proc, "'mnist' is a built-in dataset; give yours another name")


def test_an_unverified_dataset_warns_and_records_it(server, tmp_path):
    url, _, _ = server
    given = entry(url, {}, verify=False)
    del given["sha256"]
    workdir, args = workflow_with(tmp_path, given)
    proc = run_snakemake(workdir, *args, targets=[f"results/{NAME}/data/train.parquet"])
    text = proc.stdout + proc.stderr
    assert "dataset digits04: verify: false" in text  # every run says so
    assert "used unchecked" in (workdir / f"results/{NAME}/logs/prepare_data.log").read_text()
    table = pq.read_table(workdir / f"results/{NAME}/data/train.parquet")
    assert json.loads(table.schema.metadata[b"mnist_study"])["verified"] is False
    again = run_snakemake(
        workdir, *args, "--dry-run", targets=[f"results/{NAME}/data/train.parquet"]
    )
    assert "dataset digits04: verify: false" in again.stdout + again.stderr
