"""The whole pipeline, run by snakemake on the bundled sample in a temporary copy."""

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from conftest import MODELS, PER_SEED_RULES, run_snakemake, suite_settings
from mnist_study import data
from mnist_study.datasets import FILES
from mnist_study.storage import sha256_file

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

SETTINGS = suite_settings()
SEEDS = SETTINGS["repeats"]["seeds"]
# Lower bounds of each run's test accuracy under tests/test-config.yaml. Measured over
# seeds 0-4 on this project's machine (the lowest run in brackets); each bound leaves
# room of about twice the spread the seeds showed, so a regression of a few points fails.
LOWEST = {
    "svm_linear": 0.82,  # (0.850)
    "svm_poly": 0.82,  # (0.855)
    "svm_sigmoid": 0.81,  # (0.838)
    "svm_rbf": 0.86,  # (0.886)
    "svm_final": 0.905,  # (0.917)
    "mlp": 0.915,  # (0.929)
    "cnn": 0.86,  # (0.889)
}
LOWEST_NN_MACRO_AUC = 0.99  # (0.9930)
HIGHEST_TEST_LOSS = {"mlp": 0.3, "cnn": 0.5}  # (0.239, 0.388)

SAMPLE_TRAIN_COUNTS = [800, 901, 792, 825, 784, 690, 811, 856, 755, 782]
SAMPLE_TEST_COUNTS = [201, 226, 199, 207, 196, 173, 203, 214, 189, 196]


def out(pipeline_run, *parts):
    workdir, _ = pipeline_run
    return workdir.joinpath("results", "mnist-sample", *parts)


def run_out(pipeline_run, model, seed, *parts):
    """A file of one run: results/mnist-sample/<model>/base/seed-<n>/."""
    return out(pipeline_run, model, "base", f"seed-{seed}", *parts)


def test_parquet_outputs_hold_the_sample(pipeline_run):
    train = data.read_split(out(pipeline_run, "data", "train.parquet"))
    test = data.read_split(out(pipeline_run, "data", "test.parquet"))
    assert train.X.shape == (7996, 784) and test.X.shape == (2004, 784)
    assert train.X.dtype == np.float32
    assert train.X.min() == 0.0 and train.X.max() == 1.0
    assert np.bincount(train.y).tolist() == SAMPLE_TRAIN_COUNTS
    assert np.bincount(test.y).tolist() == SAMPLE_TEST_COUNTS
    assert train.metadata["dataset"] == "mnist-sample"
    assert set(train.metadata["source_sha256"]) == {FILES["train_images"], FILES["train_labels"]}
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


# The jobs run once per dataset, each with a log; those with a benchmark file.
ONCE_RULES = [
    "prepare_data",
    "plot_sample_digits",
    "pca_projection_2",
    "pca_projection_3",
    "pca_variance",
    "plot_svm_boundaries",
    "svm_grid_choice",
    "metrics_table",
    "metrics_summary",
    "model_comparison",
    "headline",
    "study_comparison",
    "stage_costs",
    "record",
    "robustness_tables",
    "errors_tables",
]
BENCHMARKED = ["prepare_data", "pca_projection_2", "pca_projection_3", "pca_variance",
               "plot_svm_boundaries"]  # fmt: skip
# The robustness stage's jobs: a test set per corruption of the suite's config, and the
# scoring of every saved run.
PER_CORRUPTION = [f"corrupt_test_set_{name}" for name in SETTINGS["robustness"]["corruptions"]]
SCORING = [f"score_run_{model}/base/seed-{seed}" for model in MODELS for seed in SEEDS]


def test_every_rule_left_a_log(pipeline_run):
    workdir, _ = pipeline_run
    logs = out(pipeline_run, "logs")
    expected = [logs / f"{rule}.log" for rule in [*ONCE_RULES, *PER_CORRUPTION, *SCORING]]
    expected += [logs / rule / "base" / f"seed-{s}.log" for rule in PER_SEED_RULES for s in SEEDS]
    expected += [
        workdir / "results/logs" / f"{r}.log" for r in ("svm_kernel_trick", "collect_datasets")
    ]
    found = {p for p in workdir.joinpath("results").rglob("*.log")}
    assert found == set(expected)  # every job's log, and no other
    for log in expected:
        assert log.stat().st_size > 0, log
    assert "train: 7996 examples" in (logs / "prepare_data.log").read_text()
    for seed in SEEDS:
        assert f"seed {seed}" in (logs / "train_cnn" / "base" / f"seed-{seed}.log").read_text()
    benchmarks = out(pipeline_run, "benchmarks")
    assert sorted(
        p.relative_to(benchmarks).as_posix() for p in benchmarks.rglob("*.tsv")
    ) == sorted(
        [f"{r}.tsv" for r in [*BENCHMARKED, *PER_CORRUPTION, *SCORING]]
        + [f"{r}/base/seed-{s}.tsv" for r in PER_SEED_RULES for s in SEEDS]
    )
    assert (benchmarks / "prepare_data.tsv").read_text().startswith("s\t")


def test_second_run_does_nothing(finished):
    proc = run_snakemake(finished)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    dry = run_snakemake(finished, "--dry-run", "--quiet", "rules")
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

    kernels = SETTINGS["svm"]["kernels"]
    for seed in SEEDS:
        table = pd.read_csv(run_out(pipeline_run, "svm_kernels", seed, "kernels.csv"))
        assert table["kernel"].tolist() == kernels["names"]
        assert (table["test_size"] == 2004).all()
        assert (table["train_size"] == kernels["subset"]).all()
        for kernel, accuracy in zip(table["kernel"], table["accuracy"], strict=True):
            assert accuracy > LOWEST[f"svm_{kernel}"], (kernel, seed, accuracy)
    # Each seed draws its own subset: the kernels' scores differ between seeds.
    first, second = (
        pd.read_csv(run_out(pipeline_run, "svm_kernels", s, "kernels.csv"))["accuracy"]
        for s in SEEDS[:2]
    )
    assert not first.equals(second)
    # One grid search per seed, on its own subset and folds; the choice over all of them.
    settings = SETTINGS["svm"]["grid"]
    per_seed = [pd.read_csv(out(pipeline_run, "svm", "grid", f"seed-{s}.csv")) for s in SEEDS]
    assert not per_seed[0]["fold_0"].equals(per_seed[1]["fold_0"])
    grid = pd.read_csv(out(pipeline_run, "svm", "grid_search.csv"))
    assert len(grid) == len(settings["C"]) * len(settings["gamma"])
    assert not grid.duplicated(["C", "gamma"]).any()
    means = pd.concat(per_seed).groupby(["C", "gamma"])["mean_accuracy"].mean()
    assert grid.set_index(["C", "gamma"])["mean_accuracy"].to_numpy() == pytest.approx(means)
    best = json.loads(out(pipeline_run, "svm", "grid_best.json").read_text())
    assert best["seeds"] == SEEDS and [best["C"], best["gamma"]] in best["tied"]
    assert best["best_cv_accuracy"] == pytest.approx(grid["mean_accuracy"].max())
    tied = grid[grid["tied"]].sort_values(["C", "gamma"])
    assert [best["C"], best["gamma"]] == [tied["C"].iloc[0], tied["gamma"].iloc[0]]
    for seed in SEEDS:
        final = json.loads(run_out(pipeline_run, "svm_final", seed, "metrics.json").read_text())[0]
        assert final["model"] == "svm_final" and final["seed"] == seed
        assert final["train_size"] == SETTINGS["svm"]["final"]["subset"]
        assert final["settings"]["C"] == best["C"] and final["test_size"] == 2004
        assert final["accuracy"] > LOWEST["svm_final"]
        for name in ("model.skops", "model.npz"):  # the model, and its scoring arrays
            model = run_out(pipeline_run, "svm_final", seed, name)
            recorded = Path(f"{model}.sha256").read_text().split()[0]
            assert recorded == sha256_file(model)


def test_network_outputs(pipeline_run):
    import pandas as pd

    for seed in SEEDS:
        history = pd.read_csv(run_out(pipeline_run, "nn_numpy", seed, "history.csv"))
        assert history["epoch"].tolist() == list(range(1, SETTINGS["nn_numpy"]["epochs"] + 1))
        assert (history["examples"] == 7996).all()  # every training image, every epoch
        assert history["loss"].iloc[-1] < history["loss"].iloc[0]
        auc = pd.read_csv(run_out(pipeline_run, "nn_numpy", seed, "auc.csv"))
        assert auc["class"].astype(str).tolist() == [*map(str, range(10)), "micro", "macro"]
        assert auc["auc"].iloc[:10].gt(0.97).all()  # every class (lowest 0.985)
        assert auc.set_index("class").loc["macro", "auc"] > LOWEST_NN_MACRO_AUC
        weights = run_out(pipeline_run, "nn_numpy", seed, "weights.npz")
        with np.load(weights, allow_pickle=False) as arrays:
            assert arrays["W1"].shape == (100, 784) and arrays["W2"].shape == (10, 100)
    for kind, train_size in (("mlp", 7996), ("cnn", 6397)):
        for seed in SEEDS:
            row = json.loads(run_out(pipeline_run, kind, seed, "metrics.json").read_text())[0]
            assert row["model"] == kind and row["train_size"] == train_size
            assert row["seed"] == seed
            assert row["accuracy"] > LOWEST[kind] and row["test_loss"] < HIGHEST_TEST_LOSS[kind]
            history = pd.read_csv(run_out(pipeline_run, kind, seed, "history.csv"))
            assert len(history) == SETTINGS[kind]["epochs"]
            model = run_out(pipeline_run, kind, seed, "model.keras")
            assert Path(f"{model}.sha256").read_text().split()[0] == sha256_file(model)
            predictions = data.read_predictions(
                run_out(pipeline_run, kind, seed, "predictions.parquet")
            )[kind]
            assert np.mean(predictions["predicted"] == predictions["label"]) == pytest.approx(
                row["accuracy"]
            )
            assert np.allclose(predictions["scores"].sum(axis=1), 1, atol=1e-4)
    cnn_history = pd.read_csv(run_out(pipeline_run, "cnn", SEEDS[0], "history.csv"))
    assert {"val_loss", "val_accuracy"} <= set(cnn_history.columns)
    for seed in SEEDS:
        maps = run_out(pipeline_run, "cnn", seed, "feature_maps.npz")
        with np.load(maps, allow_pickle=False) as arrays:
            assert arrays["conv_1"].shape == (26, 26, 6) and arrays["pool_2"].shape == (5, 5, 16)
    epochs = SETTINGS["mlp"]["epochs"]
    log = out(pipeline_run, "logs", "train_mlp", "base", f"seed-{SEEDS[-1]}.log").read_text()
    assert f"epoch {epochs}/{epochs}" in log and f"seed {SEEDS[-1]}" in log
