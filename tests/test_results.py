"""Results tables: unit tests on small frames, then the tables of the shared sample run."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, suite_settings
from mnist_study import comparison, costs, data, metrics, results, runlog, stats, study
from mnist_study import models as registry
from mnist_study.costs import PHASE_COLUMNS
from mnist_study.metrics import metric_row
from mnist_study.models import short_name, table_models

SETTINGS = suite_settings()
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
SEEDS = SETTINGS["repeats"]["seeds"]
MODELS = table_models(SETTINGS["svm"]["kernels"]["names"])


def test_metrics_table_is_tidy():
    runs = [
        ("svm", "svm_rbf", {"C": 1.0}, {"accuracy": 0.9, "macro_auc": 0.95, "fit_seconds": 0.1,
                                        "predict_seconds": 0.01}),
        ("mlp", "mlp", {"epochs": 2}, {"accuracy": 0.8, "macro_auc": 0.9, "test_loss": 0.4,
                                       "fit_seconds": 1.0, "predict_seconds": 0.1}),
    ]  # fmt: skip
    rows = [
        metric_row(stage, model, settings, train_size=10, test_size=5, **values)
        for stage, model, settings, values in runs
    ]
    table = results.metrics_table(rows, "toy")
    assert list(table.columns) == results.METRIC_COLUMNS
    assert table["dataset"].tolist() == ["toy", "toy"]
    assert json.loads(table["settings"][1]) == {"epochs": 2}
    assert pd.isna(table["test_loss"][0]) and table["test_loss"][1] == 0.4
    # Each run's exact interval from its own test set: 4 of 5 right for the MLP.
    low, high = stats.accuracy_interval(4, 5)
    assert table.loc[1, "accuracy_ci_low"] == low and table.loc[1, "accuracy_ci_high"] == high
    with pytest.raises(ValueError, match="unknown metric fields"):
        metric_row("x", "y", {}, accuracy=1, bogus=2)


def study_inputs():
    variance = pd.DataFrame({"explained_variance_ratio": [0.1, 0.07, 0.05]})
    levels = pd.DataFrame({"variance_level": [0.8, 0.9], "components": [44, 87]})
    best = {"C": 10.0, "gamma": 0.01, "cv_accuracy": 0.9}
    runs = pd.DataFrame(
        {
            "dataset": "mnist",
            "stage": ["svm", "nn_numpy", "mlp", "cnn"] * 2,
            "model": ["svm_rbf", "nn_numpy", "mlp", "cnn"] * 2,
            "accuracy": [0.9, 0.91, 0.97, 0.985, 0.9, 0.91, 0.97, 0.995],
            "macro_auc": [0.98, 0.995, 0.999, 0.999] * 2,
            "test_loss": [None, 0.2, 0.1, 0.1] * 2,
            "fit_seconds": [1.0] * 8,
        }
    )
    return variance, levels, best, results.metrics_summary(runs)


def test_study_comparison_on_full_mnist_compares_only_like_with_like():
    summary = study_inputs()[3]
    table = study.study_comparison(*study_inputs(), "mnist").set_index("quantity")
    assert table.loc["PCA explained variance, components 1+2", "this_run"] == pytest.approx(0.17)
    assert table.loc["PCA explained variance, components 1+2", "difference"] == pytest.approx(
        0.17 - 0.168
    )
    at_80 = table.loc["PCA components for 80% of variance"]
    assert at_80["this_run"] == 44 and at_80["note"].endswith("the full MNIST needs 44")
    cnn = table.loc["Keras CNN test accuracy"]
    assert cnn["this_run"] == pytest.approx(0.99) and cnn["seeds"] == 2
    assert cnn["difference"] == pytest.approx(0.99 - 0.9859)
    # Two seeds 0.985 and 0.995: t(0.975, 1) = 12.706, half width 12.706 * 0.00707 / sqrt(2).
    assert cnn["ci_low"] == pytest.approx(0.99 - 12.706 * 0.005, abs=1e-4)
    assert bool(cnn["study_inside_interval"]) is True
    # Every model row's value is the summary's mean, the model the row names.
    for quantity, model, metric in (
        ("numpy network macro AUC", "nn_numpy", "macro_auc"),
        ("Keras MLP test accuracy", "mlp", "accuracy"),
        ("Keras CNN test accuracy", "cnn", "accuracy"),
        ("SVM RBF (C=1) accuracy", "svm_rbf", "accuracy"),
    ):
        mean = summary.set_index(["model", "metric"]).loc[(model, metric), "mean"]
        assert table.loc[quantity, "this_run"] == pytest.approx(mean), quantity
    # The study's MLP figure was a training accuracy: kept for reference, never subtracted.
    mlp = table.loc["Keras MLP test accuracy"]
    assert mlp["study"] == 0.98 and "training accuracy" in mlp["study_measured"]
    assert pd.isna(mlp["difference"]) and pd.isna(mlp["study_inside_interval"])
    assert "training accuracy" in mlp["note"]
    unlike = table.loc["SVM RBF (C=1) accuracy"]
    assert pd.isna(unlike["study"]) and "own training subset" in unlike["note"]


def test_study_comparison_on_another_dataset_reports_no_difference():
    table = study.study_comparison(*study_inputs(), "fashion-mnist").set_index("quantity")
    assert table["difference"].isna().all()
    assert table["study_inside_interval"].isna().all()
    assert table["study"].notna().sum() == 10  # every study figure kept for reference
    assert table["note"].str.contains("not compared").all()
    assert not table["note"].str.contains("44").any()  # no MNIST-only claim


@pytest.mark.parametrize("seed", range(4))
def test_numpy_scores_equal_scikit_learns(seed):
    """The scores the network jobs compute in numpy (metrics.py, to import no
    scikit-learn) equal scikit-learn's: per-class AUC to 1e-12, ROC points, accuracy
    and confusion counts exactly; on random labels and scores, tied ones (rounded to
    one digit) and float32 ones, 3 to 11 classes, a class absent from the labels."""
    from sklearn import metrics as sk

    rng = np.random.default_rng(seed)
    for trial in range(40):
        n, k = int(rng.integers(20, 300)), int(rng.integers(3, 12))
        y = rng.integers(0, k - 1, n)  # class k - 1 never present
        scores = rng.random((n, k))
        if trial % 3 == 0:
            scores = np.round(scores, 1)
        if trial % 4 == 0:
            scores = scores.astype(np.float32)
        predicted = scores.argmax(axis=1)
        got = metrics.classification_scores(y, predicted, scores)
        assert got["accuracy"] == sk.accuracy_score(y, predicted)
        expected = sk.confusion_matrix(y, predicted, labels=np.arange(k))
        assert got["confusion"] == expected.tolist()
        assert set(got["per_class_auc"]) == set(np.unique(y).tolist())
        for c, auc in got["per_class_auc"].items():
            assert auc == pytest.approx(sk.roc_auc_score(y == c, scores[:, c]), abs=1e-12)
            fpr, tpr, _ = sk.roc_curve(y == c, scores[:, c])
            ours = metrics.roc_curve(y == c, scores[:, c])
            assert np.array_equal(ours[0], fpr) and np.array_equal(ours[1], tpr)


def test_stage_costs_reads_benchmark_files(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "train_mlp.tsv").write_text(
        header + "12.5\t0:00:12\t900.1\t1\t1\t1\t0\t0\t80\t20.0\n"
    )
    (tmp_path / "prepare_data.tsv").write_text(
        header + "3.0\t0:00:03\t200\t1\t1\t1\t0\t0\t50\t2.5\n"
    )
    per_run = tmp_path / "train_cnn" / "base" / "seed-3.tsv"
    per_run.parent.mkdir(parents=True)
    per_run.write_text(header + "7.0\t0:00:07\t500\t1\t1\t1\t0\t0\t50\t6.5\n")
    paths = sorted(tmp_path.glob("*.tsv")) + [per_run]
    table = costs.stage_costs(paths, "toy")
    assert table["job"].tolist() == ["prepare_data", "train_mlp", "train_cnn"]
    assert table["point"].tolist()[2] == "base" and table["seed"].tolist()[2] == 3
    assert table["seed"].isna().tolist() == [True, True, False]
    assert table["wall_seconds"].tolist() == [3.0, 12.5, 7.0]
    assert table["cpu_seconds"].tolist() == [2.5, 20.0, 6.5]
    assert table["max_rss_mb"].tolist() == [200.0, 900.1, 500.0]


def test_stage_costs_add_each_jobs_phases_from_its_record(tmp_path):
    """A job's phases come from its record beside its log (logs/ where the benchmark
    is under benchmarks/); a job without a record has NaN phases."""
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    paths = []
    for name in ("train_mlp/base/seed-0", "prepare_data"):
        path = tmp_path / "benchmarks" / f"{name}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "9.0\t0:00:09\t900\t1\t1\t1\t0\t0\t80\t8.0\n")
        paths.append(path)
    phases = {"start": 2.5, "read": 0.5, "compute": 5.0, "write": 0.75, "record": 0.25}
    record = tmp_path / "logs/train_mlp/base/seed-0.log.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"rule": "train_mlp", "phases": phases}))
    table = costs.stage_costs(paths, "toy").set_index("job")
    assert table.loc["train_mlp", costs.PHASE_COLUMNS].tolist() == list(phases.values())
    assert table.loc["prepare_data", costs.PHASE_COLUMNS].isna().all()


def test_run_log_only_grows(tmp_path):
    path = tmp_path / "run_log.csv"
    runs = pd.DataFrame(
        {
            "dataset": "toy",
            "stage": ["mlp", "nn_numpy"] * 2,
            "model": ["mlp", "nn_numpy"] * 2,
            "accuracy": [0.9, 0.8, 0.92, 0.82],
            "macro_auc": [0.99, 0.98, 0.99, 0.96],
            "test_loss": [0.3] * 4,
            "fit_seconds": [1.0] * 4,
        }
    )
    metrics = results.metrics_summary(runs)
    first = runlog.run_log_row("toy", {"a": 1}, ROOT, metrics)
    assert first["mlp_accuracy_mean"] == pytest.approx(0.91)
    assert first["nn_numpy_auc_mean"] == pytest.approx(0.97) and first["seeds"] == 2
    assert first["mlp_accuracy_ci_low"] < 0.91 < first["mlp_accuracy_ci_high"]
    assert runlog.run_log_row("toy", {"a": 2}, ROOT, metrics)["config_hash"] != first["config_hash"]
    assert runlog.append_run_log(path, first)
    assert runlog.append_run_log(path, {**first, "dataset": "other"})
    # The same results again (a later time only) add nothing; different ones do.
    assert not runlog.append_run_log(path, {**first, "time": "later"})
    assert runlog.append_run_log(path, {**first, "mlp_accuracy_mean": 0.95})
    log = pd.read_csv(path)
    assert log["dataset"].tolist() == ["toy", "other", "toy"]


@pytest.mark.parametrize("digest", ["012345678901", "1234e5678901"])
def test_run_log_reads_hashes_that_look_like_numbers_as_text(tmp_path, digest):
    path = tmp_path / "run_log.csv"
    row = {"time": "t", "dataset": "toy", "config_hash": digest, "code_hash": digest, "x": 0.5}
    assert runlog.append_run_log(path, row)
    assert not runlog.append_run_log(path, {**row, "time": "later"})
    assert len(pd.read_csv(path)) == 1


@pytest.mark.pipeline
def test_metrics_table_of_the_sample_run(pipeline_run):
    workdir, _ = pipeline_run
    tables = workdir / "results/mnist-sample/tables"
    table = pd.read_parquet(tables / "metrics.parquet")
    assert table["model"].tolist() == [m for m in MODELS for _ in SEEDS]
    assert table["seed"].tolist() == SEEDS * len(MODELS)
    assert (table["dataset"] == "mnist-sample").all() and (table["test_size"] == 2004).all()
    assert table["accuracy"].between(0.5, 1).all() and table["macro_auc"].between(0.9, 1).all()
    assert (table["accuracy_ci_low"] < table["accuracy"]).all()
    assert (table["accuracy"] < table["accuracy_ci_high"]).all()
    assert table["fit_seconds"].gt(0).all() and table["predict_seconds"].gt(0).all()
    networks = table["model"].isin([m for m in MODELS if not m.startswith("svm_")])
    assert (
        table.loc[networks, "test_loss"].gt(0).all()
        and table.loc[~networks, "test_loss"].isna().all()
    )
    markdown = (tables / "metrics.md").read_text()
    assert markdown.count("\n") == len(table) + 2
    costs = pd.read_csv(tables / "stage_costs.csv")
    assert {"train_mlp", "svm_grid_search", "prepare_data", "train_cnn"} <= set(costs["job"])
    assert sorted(costs.loc[costs["job"] == "train_cnn", "seed"]) == SEEDS
    assert costs["wall_seconds"].gt(0).all()
    # Snakemake samples a job's memory as it runs: a job under a second (a corrupted test
    # set) may be caught as its process starts, so only the longer ones are held to it.
    sampled = costs["wall_seconds"] >= 1
    assert sampled.sum() >= 20 and costs.loc[sampled, "max_rss_mb"].gt(10).all()
    # Every job's phases from its record: each positive, together within its wall time.
    phases = costs[PHASE_COLUMNS]
    assert phases["start_seconds"].gt(0).all() and phases["compute_seconds"].gt(0).all()
    assert (phases.sum(axis=1) <= costs["wall_seconds"] + 0.5).all()
    comparison = pd.read_csv(tables / "study_comparison.csv")
    assert len(comparison) == 11 and comparison["this_run"].notna().all()
    assert comparison["difference"].isna().all()  # the sample is not the study's full MNIST


@pytest.mark.pipeline
def test_summary_over_the_default_seeds_matches_the_runs(pipeline_run):
    workdir, _ = pipeline_run
    tables = workdir / "results/mnist-sample/tables"
    runs = pd.read_parquet(tables / "metrics.parquet")
    summary = pd.read_parquet(tables / "metrics_summary.parquet")
    assert len(SEEDS) >= 5  # the suite aggregates the default seed list
    for model in MODELS:
        accuracy = runs.loc[runs["model"] == model, "accuracy"]
        row = summary[(summary["model"] == model) & (summary["metric"] == "accuracy")].iloc[0]
        assert row["seeds"] == len(SEEDS)
        assert row["mean"] == pytest.approx(accuracy.mean())
        assert row["std"] == pytest.approx(accuracy.std(ddof=1))
        assert (row["min"], row["max"]) == (accuracy.min(), accuracy.max())
        assert row["ci_low"] < row["mean"] < row["ci_high"]
        assert row["interval"] == "seeds and test images" and row["dominant"] in (
            "seeds", "test images"
        )  # fmt: skip
        assert row["test_se"] > 0 and row["seed_se"] >= 0
    assert set(summary.loc[summary["model"] == "svm_rbf", "metric"]) == {
        "accuracy", "macro_auc", "fit_seconds"
    }  # fmt: skip
    study = pd.read_csv(tables / "study_comparison.csv").set_index("quantity")
    by_metric = summary.set_index(["model", "metric"])
    for quantity, model, metric in (
        ("numpy network macro AUC", "nn_numpy", "macro_auc"),
        ("Keras MLP test accuracy", "mlp", "accuracy"),
        ("Keras CNN test accuracy", "cnn", "accuracy"),
        ("SVM RBF (C=1) accuracy", "svm_rbf", "accuracy"),
    ):
        row = by_metric.loc[(model, metric)]
        assert study.loc[quantity, "this_run"] == pytest.approx(row["mean"]), quantity
        assert study.loc[quantity, "ci_low"] == pytest.approx(row["ci_low"]), quantity
        assert study.loc[quantity, "ci_high"] == pytest.approx(row["ci_high"]), quantity
    mlp = by_metric.loc[("mlp", "accuracy")]
    headline = pd.read_csv(tables / "headline.csv")
    accuracy = summary[summary["metric"] == "accuracy"].sort_values(
        "mean", ascending=False, kind="stable"
    )
    assert headline["test accuracy"].tolist() == pytest.approx(accuracy["mean"].round(4).tolist())
    # One label per model, none shared: the summary's label column and the front page's
    # table give the same one; the sentences name the models by their short names only.
    labels = results.model_labels(runs)
    assert len(set(labels.values())) == len(MODELS)
    assert (summary["label"] == summary["model"].map(labels)).all()
    assert headline["model"].tolist() == [labels[m] for m in accuracy["model"]]
    said = pd.read_csv(tables / "conclusions.csv")["what the data say"].tolist()
    assert said[0].startswith(f"The {short_name(accuracy['model'].iloc[0])} is the most accurate")
    assert not [line for line in said for m in MODELS if m in line]
    pairs = pd.read_csv(tables / "model_comparison.csv")
    top = set(accuracy["model"][:3])
    leading = pairs[pairs["model_a"].isin(top) & pairs["model_b"].isin(top)]
    assert len(said) == 2 + (not leading["supported"].all())
    assert (pairs["detectable"] > 0).all() and (pairs["detectable"] < 0.2).all()
    collected = pd.read_csv(workdir / "results/tables/metrics_by_dataset.csv")
    mine = collected[(collected["dataset"] == "mnist-sample") & (collected["model"] == "mlp")]
    assert mine.loc[mine["metric"] == "accuracy", "mean"].iloc[0] == pytest.approx(mlp["mean"])


@pytest.mark.pipeline
def test_model_comparison_agrees_with_the_saved_predictions(pipeline_run):
    results_dir = pipeline_run[0] / "results/mnist-sample"
    pairs = pd.read_csv(results_dir / "tables/model_comparison.csv")
    by_seed = pd.read_csv(results_dir / "tables/model_comparison_by_seed.csv")
    assert len(pairs) == len(MODELS) * (len(MODELS) - 1) // 2
    assert (pairs["accuracy_a"] >= pairs["accuracy_b"]).all()
    assert (pairs["ci_low"] <= pairs["difference"]).all()
    assert (pairs["difference"] <= pairs["ci_high"]).all()
    assert len(by_seed) == len(pairs) * len(SEEDS)
    runs = pd.read_parquet(results_dir / "tables/metrics.parquet").set_index(["model", "seed"])
    row = pairs[(pairs["model_a"] == "mlp") | (pairs["model_b"] == "mlp")].iloc[0]
    seed = SEEDS[1]
    correct = {}
    for model in (row["model_a"], row["model_b"]):
        folder = "svm_kernels" if model in MODELS[:4] else model
        run = data.read_predictions(
            results_dir / folder / "base" / f"seed-{seed}" / "predictions.parquet"
        )[model]
        correct[model] = run["predicted"] == run["label"]
        assert correct[model].mean() == pytest.approx(runs.loc[(model, seed), "accuracy"])
    line = by_seed[(by_seed["model_a"] == row["model_a"]) & (by_seed["model_b"] == row["model_b"])]
    line = line[line["seed"] == seed].iloc[0]
    a, b = correct[row["model_a"]], correct[row["model_b"]]
    assert line["a_only_correct"] == int(np.sum(a & ~b))
    assert line["b_only_correct"] == int(np.sum(~a & b))
    assert line["mcnemar_p"] == pytest.approx(stats.mcnemar_exact(a, b)["p_value"])
    means = [runs.xs(m, level="model")["accuracy"].mean() for m in (row["model_a"], row["model_b"])]
    assert row["difference"] == pytest.approx(means[0] - means[1])
    # One verdict per pair from the Holm-corrected test over seeds and test images.
    holm = stats.holm(pairs["p_value"]).tolist()
    assert pairs["p_holm"].tolist() == pytest.approx(holm, rel=1e-5)  # CSV keeps 6 digits
    assert (pairs["supported"] == (pairs["p_holm"] < 0.05)).all()
    assert pairs["verdict"].str.endswith(": supported").tolist() == pairs["supported"].tolist()
    # Holm across the pairs of each seed: never below the raw p-value.
    assert (by_seed["mcnemar_p_holm"] >= by_seed["mcnemar_p"] - 1e-12).all()
    # Each pair's models by label beside their code names, two different labels.
    labels = results.model_labels(runs.reset_index())
    for table in (pairs, by_seed):
        assert (table["label_a"] == table["model_a"].map(labels)).all()
        assert (table["label_b"] == table["model_b"].map(labels)).all()
        assert (table["label_a"] != table["label_b"]).all()


def test_score_probabilities_row():
    from mnist_study.metrics import score_probabilities

    y = np.arange(20) % 10
    probabilities = np.full((20, 10), 0.05)
    probabilities[np.arange(20), y] = 0.55  # every row right, with probability 0.55
    scores, row = score_probabilities("mlp", "mlp", {"epochs": 1}, y, probabilities, 100, 2.0, 0.1)
    assert scores["accuracy"] == 1.0 and row["accuracy"] == 1.0
    assert row["test_loss"] == pytest.approx(-np.log(0.55))
    assert row["train_size"] == 100 and row["test_size"] == 20 and row["macro_auc"] == 1.0
    assert row["auc_classes"] == 10  # every class has test images


def test_table_rules_do_not_import_scikit_learn():
    # The bookkeeping rules import the table modules (and metrics, for the row format);
    # importing scikit-learn with them would cost each of them seconds.
    modules = ["results", "comparison", "study", "costs", "runlog", "sweep_results"]
    code = f"import sys, {', '.join(f'mnist_study.{m}' for m in modules)}; "
    code += "print('sklearn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "scripts",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_model_comparison_orders_each_pair_and_says_what_the_data_support():
    rng = np.random.default_rng(3)
    n, seeds = 2000, [0, 1, 2]
    good = {s: rng.random(n) < 0.95 for s in seeds}
    twin = {s: good[s].copy() for s in seeds}
    for s in seeds:  # as accurate on average: five images lost, four to six others won
        right, wrong = np.flatnonzero(good[s]), np.flatnonzero(~good[s])
        twin[s][rng.choice(right, 5, replace=False)] = False
        twin[s][rng.choice(wrong, 4 + s, replace=False)] = True
    weak = {s: rng.random(n) < 0.80 for s in seeds}
    table, by_seed = comparison.model_comparison({"weak": weak, "good": good, "twin": twin}, "toy")
    pairs = table.set_index(["model_a", "model_b"])
    # A is always the more accurate of the two, whatever order the models came in.
    assert ("good", "weak") in pairs.index and ("twin", "weak") in pairs.index
    strong = pairs.loc[("good", "weak")]
    assert strong["difference"] == pytest.approx(
        np.mean([good[s].mean() - weak[s].mean() for s in seeds])
    )
    assert strong["ci_low"] > 0.1 and strong["a_better_seeds"] == 3
    assert strong["mcnemar_significant_seeds"] == 3 and strong["verdict"].endswith(": supported")
    # One test over seeds and images (stats.two_source), Holm across the three pairs;
    # the verdict follows the corrected p-value alone.
    test = stats.two_source(
        np.array([good[s] for s in seeds], float) - np.array([weak[s] for s in seeds])
    )
    assert strong["p_value"] == pytest.approx(test["p_value"])
    assert strong["ci_low"] == pytest.approx(test["ci_low"])
    assert table["p_holm"].tolist() == pytest.approx(stats.holm(table["p_value"]).tolist())
    assert (table["supported"] == (table["p_holm"] < 0.05)).all()
    both = table["model_a"].isin(["good", "twin"]) & table["model_b"].isin(["good", "twin"])
    close = table[both].iloc[0]
    assert close["ci_low"] < 0 < close["ci_high"] and not close["supported"]
    assert "no difference the data support" in close["verdict"]
    assert close["verdict"].startswith(f"{close['model_a']} vs {close['model_b']}")
    # Holm across the three pairs of each seed.
    for _seed, group in by_seed.groupby("seed"):
        assert group["mcnemar_p_holm"].tolist() == pytest.approx(
            stats.holm(group["mcnemar_p"].to_numpy()).tolist()
        )


def test_summary_interval_of_the_accuracy_covers_seeds_and_test_images():
    rng = np.random.default_rng(11)
    correct = {"mlp": {s: rng.random(500) < 0.9 + 0.01 * s for s in range(4)}}
    runs = pd.DataFrame(
        {
            "dataset": "toy",
            "stage": "mlp",
            "model": "mlp",
            "seed": range(4),
            "accuracy": [correct["mlp"][s].mean() for s in range(4)],
            "macro_auc": [0.99, 0.98, 0.99, 0.995],
            "test_loss": 0.3,
            "fit_seconds": 2.0,
        }
    )
    summary = results.metrics_summary(runs, correct).set_index("metric")
    accuracy, auc = summary.loc["accuracy"], summary.loc["macro_auc"]
    both = stats.two_source(np.array([correct["mlp"][s] for s in range(4)], float))
    assert accuracy["ci_low"] == pytest.approx(both["ci_low"])
    assert accuracy["ci_high"] == pytest.approx(both["ci_high"])
    assert accuracy["interval"] == "seeds and test images"
    assert (accuracy["seed_se"], accuracy["test_se"]) == (both["seed_se"], both["test_se"])
    assert accuracy["dominant"] == both["dominant"]
    # Its standard error's two parts add up (in squares) to the whole.
    assert both["se"] ** 2 == pytest.approx(accuracy["seed_se"] ** 2 + accuracy["test_se"] ** 2)
    assert auc["interval"] == "seeds" and np.isnan(auc["test_se"])
    assert auc["ci_low"] == pytest.approx(stats.summarise(runs["macro_auc"])["ci_low"])


def test_headline_names_the_models_and_the_conclusions_follow_the_verdicts():
    summary = pd.DataFrame(
        {
            "model": ["svm_final", "mlp", "cnn", "nn_numpy"],
            "metric": "accuracy",
            "seeds": 5,
            "mean": [0.949, 0.955, 0.948, 0.907],
            "min": [0.946, 0.951, 0.942, 0.899],
            "max": [0.954, 0.958, 0.953, 0.917],
            "ci_low": [0.94, 0.946, 0.938, 0.895],
            "ci_high": [0.958, 0.964, 0.958, 0.919],
            "interval": "seeds and test images",
        }
    )
    metrics = pd.DataFrame(
        {
            "model": ["svm_final", "mlp", "cnn", "nn_numpy"],
            "settings": [
                json.dumps({"C": 10.0, "gamma": 0.01, "kernel": "rbf"}),
                json.dumps({"hidden": [1200, 1200]}),
                json.dumps({"epochs": 5}),
                json.dumps({"hidden": 100}),
            ],
            "train_size": [3000, 7996, 6397, 7996],
        }
    )
    labels = results.model_labels(metrics)
    assert labels["svm_final"] == "final RBF SVM, C = 10, gamma = 0.01, 3,000 images"
    assert labels["mlp"] == "Keras MLP, hidden layers 1200-1200"
    table = results.headline(summary, labels)
    assert table["model"].tolist() == [labels[m] for m in ("mlp", "svm_final", "cnn", "nn_numpy")]
    assert table.loc[0, "95% interval"] == "0.9460-0.9640"
    pairs = pd.DataFrame(
        {
            "model_a": ["mlp", "mlp", "svm_final", "mlp"],
            "model_b": ["cnn", "svm_final", "cnn", "nn_numpy"],
            "difference": [0.0071, 0.006, 0.0012, 0.048],
            "supported": [True, False, False, True],
            "detectable": [0.0065, 0.0081, 0.0077, 0.0062],
            "detectable_seeds_x2": [0.006, 0.0079, 0.0073, 0.0061],
            "detectable_images_x2": [0.0046, 0.0057, 0.0055, 0.0044],
            "detectable_seeds_df": [0.0063, 0.0079, 0.0077, 0.0061],
            "seed_sd": [0.0, 0.0012, 0.0, 0.0],
            "seed_sd_high": [0.004, 0.0051, 0.0047, 0.004],
            "helps": ["cannot tell", "cannot tell", "more test images", "cannot tell"],
        }
    )
    said = results.conclusions(summary, pairs)
    assert said[0] == "The Keras MLP is the most accurate, 0.9550 (95% interval 0.9460-0.9640)."
    # Only pairs among the three most accurate, each where its verdict puts it.
    assert "numpy" not in said[1]
    assert "support the Keras MLP over the Keras CNN (+0.71 points)" in said[1]
    assert "cannot tell the Keras MLP from the final RBF SVM (+0.60 points)" in said[1]
    # What the run can resolve, over the two pairs it cannot tell apart: twice the seeds
    # gain 0.79 - 0.76 points, 0.01 of them from the degrees of freedom alone
    # (detectable_seeds_df); the seeds' spread with the top of its interval; the advice
    # per pair where the pairs differ.
    assert said[2] == (
        "Differences below 0.77-0.81 points are beyond this run (80% power at Holm's level "
        "per pair); twice the test images would bring that to 0.56, twice the seeds to 0.76 "
        "(0.01 of that by their degrees of freedom). Seeds move a difference by 0.00-0.12 "
        "points (95% bound 0.51); advice: cannot tell for 1 pair, more test images for 1 "
        "pair."
    )
    agreed = results.resolution(pairs.iloc[[1]].assign(helps="more test images"))
    assert agreed.endswith(f"; {results.ADVICE['more test images']}.")
    assert len(results.conclusions(summary, pairs.assign(supported=True))) == 2


def config_metrics(config: dict, chosen: dict, train_images: int = 7996) -> pd.DataFrame:
    """metrics.parquet's model, settings and train_size of every table model, as the
    training scripts record them for `config` (svm_kernels.py, svm_train_final.py, the
    networks' config sections), the final SVM at the grid's choice `chosen` (C, gamma)."""
    svm = config["svm"]
    kernels, final = svm["kernels"], svm["final"]
    rows = []
    for model in table_models(kernels["names"]):
        kernel = model.removeprefix("svm_")
        if kernel in kernels["names"]:
            settings = {"kernel": kernel, "C": kernels["C"], "gamma": kernels["gamma"]}
            settings |= {"degree": kernels["degree"]} if kernel == "poly" else {}
            size = kernels["subset"]
        elif model == "svm_final":
            components = final["pca_components"] if final["full_training_set"] else 0
            settings = {"kernel": "rbf", **chosen, "pca_components": components}
            size = train_images if final["full_training_set"] else final["subset"]
        else:
            settings, size = config[model], train_images
        rows.append({"model": model, "settings": json.dumps(settings), "train_size": size})
    return pd.DataFrame(rows)


def colliding(config: dict, full_training_set: bool) -> dict:
    """`config` with every kernel and the final SVM as alike as the settings allow: the
    kernels' C and gamma the final SVM's chosen ones, on as many images."""
    config = json.loads(json.dumps(config))
    kernels, final = config["svm"]["kernels"], config["svm"]["final"]
    kernels |= {"names": list(registry.KERNELS), "C": 10.0, "gamma": 0.01, "degree": 3}
    final |= {"subset": 7996 if full_training_set else 3000, "full_training_set": full_training_set}
    kernels["subset"] = final["subset"]
    return config


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(CONFIG, id="default"),
        pytest.param(SETTINGS, id="suite"),
        pytest.param(colliding(CONFIG, False), id="colliding"),
        pytest.param(colliding(CONFIG, True), id="colliding-full-training-set"),
    ],
)
def test_every_table_model_has_its_own_label_and_short_name(config):
    # model_labels gives every table model of the config a label that no other model
    # shares, and so does short_name (the sentences' form), for the default config and
    # for configs whose kernels' SVMs are as like the final SVM as they can be (same C,
    # gamma and images; every kernel); each label is its short name and then its
    # settings, so a sentence's name leads to its row.
    metrics = config_metrics(config, {"C": 10.0, "gamma": 0.01})
    labels = results.model_labels(metrics)
    models = metrics["model"].tolist()
    assert list(labels) == models
    assert len(set(labels.values())) == len(models)
    assert len({short_name(m) for m in models}) == len(models)
    for model, label in labels.items():
        assert label.startswith(f"{short_name(model)}, "), label
        assert "_" not in label, label  # no code name
    kernels = config["svm"]["kernels"]
    if "rbf" in kernels["names"]:
        assert labels["svm_rbf"] == f"RBF SVM, C = {kernels['C']:g}, {kernels['subset']:,} images"
    assert labels["svm_final"].startswith("final RBF SVM, C = 10, gamma = 0.01, ")


def test_two_models_sharing_a_label_or_short_name_are_refused(monkeypatch):
    # The check that guards the tables can fail: the same label twice, or a kernel's
    # short name made the final SVM's, is refused with both models named.
    with pytest.raises(ValueError, match="svm_rbf and svm_final share the label 'RBF SVM'"):
        registry.unique_labels({"svm_rbf": "RBF SVM", "svm_final": "RBF SVM"})
    metrics = config_metrics(CONFIG, {"C": 10.0, "gamma": 0.01})
    monkeypatch.setitem(registry.KERNELS, "rbf", "final RBF SVM")
    with pytest.raises(ValueError, match="svm_final share the short name 'final RBF SVM'"):
        results.model_labels(metrics)


def test_tables_gain_a_label_beside_each_column_that_names_a_model():
    # with_labels: label after model, label_a and label_b after model_a and model_b,
    # most_by_label after most_by; a model without a label of its own by its short
    # name; the code names stay; a table without such a column is left as it was.
    labels = results.model_labels(config_metrics(CONFIG, {"C": 10.0, "gamma": 0.01}))
    pairs = pd.DataFrame({"model_a": ["svm_final"], "model_b": ["svm_rbf"], "difference": [0.01]})
    table = results.with_labels(pairs, labels)
    assert list(table.columns) == ["model_a", "label_a", "model_b", "label_b", "difference"]
    assert table[["label_a", "label_b"]].values.tolist() == [
        [labels["svm_final"], labels["svm_rbf"]]
    ]
    assert table.loc[0, "label_a"] != table.loc[0, "label_b"]
    runs = pd.DataFrame({"model": ["mlp", "cnn"], "most_by": ["cnn", None]})
    table = results.with_labels(runs, {"mlp": labels["mlp"]})
    assert list(table.columns) == ["model", "label", "most_by", "most_by_label"]
    assert table["label"].tolist() == [labels["mlp"], "Keras CNN"]
    assert table.loc[0, "most_by_label"] == "Keras CNN" and pd.isna(table.loc[1, "most_by_label"])
    other = pd.DataFrame({"image": [1]})
    assert results.with_labels(other, labels).equals(other)


def test_verdicts_and_notes_name_the_models_by_their_short_names():
    # The comparison tables' words (verdict, note) name each model as the conclusions
    # do, never by its code name.
    method, note = comparison.pair_method("svm_final", [0, 1], "svm_rbf", [0])
    assert method == "refused" and note.startswith("refused: RBF SVM ran one seed (0)")
    rng = np.random.default_rng(0)
    correct = {
        model: {seed: rng.random(200) < share for seed in range(3)}
        for model, share in (("svm_final", 0.9), ("svm_rbf", 0.6))
    }
    table, _ = comparison.model_comparison(correct, "toy")
    assert table["verdict"].iloc[0].startswith("final RBF SVM beats RBF SVM (")
    assert "svm_" not in table["verdict"].iloc[0]


def test_a_failed_run_is_counted_named_and_left_out_of_the_intervals():
    """The MLP's seed 2 diverged: its accuracy, macro AUC and test loss are NaN. The
    summary counts it in `runs` and `failed` and rests each mean and interval on the
    other three (`seeds`), the accuracy's interval over seeds and test images too; one
    line names the run; the SVM's missing test loss is no failure. (Before, the run
    vanished from the summary without a word, and its metrics row stopped the table.)"""
    rng = np.random.default_rng(12)
    correct = {
        "mlp": {s: rng.random(400) < 0.9 for s in range(4)},
        "svm_rbf": {s: rng.random(400) < 0.8 for s in range(4)},
    }
    correct["mlp"][2][:] = False  # predicted nothing: every image wrong
    rows = [
        metric_row("mlp", "mlp", {}, seed=s, train_size=100, test_size=400, fit_seconds=2.0,
                   accuracy=np.nan if s == 2 else correct["mlp"][s].mean(),
                   macro_auc=np.nan if s == 2 else 0.99, test_loss=np.nan if s == 2 else 0.3)
        for s in range(4)
    ] + [
        metric_row("svm", "svm_rbf", {}, seed=s, train_size=100, test_size=400, fit_seconds=1.0,
                   accuracy=correct["svm_rbf"][s].mean(), macro_auc=0.95)
        for s in range(4)
    ]  # fmt: skip
    table = results.metrics_table(rows, "toy")
    failed_row = table[(table["model"] == "mlp") & (table["seed"] == 2)].iloc[0]
    assert np.isnan(failed_row["accuracy_ci_low"]) and np.isnan(failed_row["accuracy_ci_high"])
    summary = results.metrics_summary(table, correct).set_index(["model", "metric"])
    for metric in ("accuracy", "macro_auc", "test_loss"):
        row = summary.loc[("mlp", metric)]
        assert (row["runs"], row["failed"], row["seeds"]) == (4, 1, 3), metric
        assert np.isfinite(row["mean"]) and np.isfinite(row["ci_low"]), metric
    assert (summary.loc[("mlp", "fit_seconds"), ["runs", "failed", "seeds"]] == [4, 0, 4]).all()
    counted = np.array([correct["mlp"][s] for s in (0, 1, 3)], float)
    both = stats.two_source(counted)
    accuracy = summary.loc[("mlp", "accuracy")]
    assert accuracy["mean"] == pytest.approx(counted.mean())
    assert accuracy["ci_low"] == pytest.approx(both["ci_low"])
    assert ("svm_rbf", "test_loss") not in summary.index
    assert (summary.loc["svm_rbf", "failed"] == 0).all()
    assert results.failed_runs(table) == [
        {"model": "mlp", "seed": 2, "metrics": ["accuracy", "macro_auc", "test_loss"]}
    ]
    [line] = results.failed_run_lines(table)
    assert line.startswith("mlp seed 2: accuracy, macro_auc, test_loss NaN (a failed run")
    kept, dropped = results.counted_runs(correct, table)
    assert sorted(kept["mlp"]) == [0, 1, 3] and sorted(kept["svm_rbf"]) == [0, 1, 2, 3]
    assert dropped == [("mlp", 2)]
    # Every run of a model failed: its rows stay, with nothing to average.
    table.loc[table["model"] == "mlp", ["accuracy", "macro_auc", "test_loss"]] = np.nan
    summary = results.metrics_summary(table, correct).set_index(["model", "metric"])
    loss = summary.loc[("mlp", "test_loss")]
    assert (loss["runs"], loss["failed"], loss["seeds"]) == (4, 4, 0) and np.isnan(loss["mean"])


def test_a_diverged_network_scores_nan_and_predicts_nothing(tmp_path, caplog):
    """A network whose weights went NaN gives NaN probabilities: its accuracy, macro
    AUC and test loss are NaN (not the accuracy of an argmax over NaN), said in one
    warning line, and its predictions file holds no label (-1) for those images."""
    from mnist_study.metrics import score_probabilities
    from mnist_study.nn_numpy import NeuralNetwork

    X = np.random.default_rng(0).random((20, 784), dtype=np.float32)
    y = np.arange(20) % 10
    net = NeuralNetwork(784, 8, 10, 0.1, np.random.default_rng(0))
    net.W2[:] = np.nan
    probabilities = net.predict_proba(X)
    with caplog.at_level("WARNING"):
        scores, row = score_probabilities("nn_numpy", "nn_numpy", {}, y, probabilities, 100, 1, 1)
    assert np.isnan([row["accuracy"], row["macro_auc"], row["test_loss"]]).all()
    assert row["auc_classes"] == 0 and np.sum(scores["confusion"]) == 0
    [line] = [r.getMessage() for r in caplog.records]
    assert "not finite for 20 of the 20 test images" in line and "failed" in line
    path = tmp_path / "predictions.parquet"
    data.write_predictions(path, "nn_numpy", y, probabilities)
    predicted = data.read_predictions(path)["nn_numpy"]["predicted"]
    assert (predicted == data.NO_PREDICTION).all()
    assert np.array_equal(data.predicted_labels(np.eye(3)[[2, 0]]), [2, 0])
