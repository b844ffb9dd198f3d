"""Sweeps: points named by what they change, bad sweeps refused one line each, the tables.

The pipeline-level tests (a real sweep, exact reruns) are in tests/test_sweep_runs.py.
"""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, suite_settings
from mnist_study import figures, models, result_figures, sweep_results, sweeps
from mnist_study.config import ConfigError, check_config, load_schema

SCHEMA_PATH = ROOT / "rules" / "schemas" / "config.schema.yaml"
SCHEMA = load_schema(SCHEMA_PATH)


def with_sweeps(given: dict) -> dict:
    """The suite's settings (defaults filled in) with `given` as its sweeps."""
    config = suite_settings()
    config["sweeps"] = given
    return config


def plan(given: dict):
    config = with_sweeps(given)
    check_config(config, SCHEMA_PATH)
    return sweeps.plan(config, SCHEMA)


def errors_of(given: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        plan(given)
    return str(raised.value).splitlines()[1:]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-05, "1e-05"),
        (0.1 + 0.2, "0.3"),
        (0.001, "0.001"),
        (512, "512"),
        (512.0, "512"),
        (True, "true"),
        ([512, 256], "512-256"),
        ("scan", "scan"),
    ],
)
def test_values_are_named_without_float_noise(value, text):
    assert sweeps.format_value(value) == text


def test_points_are_named_by_what_they_change_and_the_base_point_is_base():
    base = suite_settings()["mlp"]
    assert base["hidden"] == [256, 256]
    (sweep,) = plan({"width": {"model": "mlp", "vary": {"hidden_units": [128, 256, 512]}}}).values()
    # hidden_units stands for hidden: the name is that of the list the MLP trains with.
    assert [point for point, _ in sweep.points] == ["hidden~128-128", "base", "hidden~512-512"]
    assert [values for _, values in sweep.points] == [
        {"hidden_units": 128},
        {"hidden_units": 256},
        {"hidden_units": 512},
    ]


def test_a_grid_names_only_the_settings_that_differ_from_base():
    base_epochs = suite_settings()["cnn"]["epochs"]
    (sweep,) = plan(
        {"grid": {"model": "cnn", "vary": {"epochs": [1, base_epochs], "dropout": [0.5, 0.2]}}}
    ).values()
    names = [point for point, _ in sweep.points]
    assert names == ["epochs~1", "dropout~0.2_epochs~1", "base", "dropout~0.2"]
    assert sweep.settings == ("epochs", "dropout")


def test_the_same_settings_in_two_sweeps_are_one_point():
    planned = plan(
        {
            "units": {"model": "mlp", "vary": {"hidden_units": [64]}},
            "layers": {"model": "mlp", "vary": {"hidden": [[64, 64]]}},
        }
    )
    config = with_sweeps({})
    points = sweeps.model_points(planned, config)
    assert set(points["mlp"]) == {"base", "hidden~64-64"}
    assert points["mlp"]["hidden~64-64"]["hidden"] == [64, 64]
    # every other setting is the model's own section's
    assert {k: v for k, v in points["mlp"]["hidden~64-64"].items() if k != "hidden"} == {
        k: v for k, v in config["mlp"].items() if k != "hidden"
    }


def test_scalar_forms_of_the_mlp_layers():
    base = {"hidden": [1200, 600], "dropout": 0.4}
    assert sweeps.apply("mlp", base, {"hidden_units": 300})["hidden"] == [300, 300]
    assert sweeps.apply("mlp", base, {"hidden_layers": 3})["hidden"] == [1200, 1200, 1200]
    both = sweeps.apply("mlp", base, {"hidden_layers": 1, "hidden_units": 64})
    assert both == {"hidden": [64], "dropout": 0.4}
    assert base == {"hidden": [1200, 600], "dropout": 0.4}  # not changed in place


def test_the_cnn_feature_map_image_is_not_a_setting():
    points = sweeps.model_points({}, suite_settings())
    assert "feature_map_image" not in points["cnn"]["base"]
    (line,) = errors_of({"x": {"model": "cnn", "vary": {"feature_map_image": [1, 2]}}})
    assert "cnn.feature_map_image is not a training setting" in line


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {"x": {"model": "svm", "vary": {"C": [1]}}},
            "config key sweeps.x.model: 'svm' is not allowed (allowed: svm_final, nn_numpy,",
        ),
        (
            {"x": {"model": "mlp", "vary": {"hiden_units": [64]}}},
            "sweep 'x' (mlp): mlp has no setting 'hiden_units'; did you mean 'hidden_units'?",
        ),
        (
            {"x": {"model": "mlp", "vary": {"dropout": [0.2, 1.0]}}},
            "sweep 'x' (mlp): dropout = 1.0 is not allowed for mlp.dropout: 1.0 is greater "
            "than or equal to the maximum of 1",
        ),
        (
            {"x": {"model": "svm_final", "vary": {"pca_components": [785]}}},
            "pca_components = 785 is not allowed for svm.final.pca_components",
        ),
        (
            {"x": {"model": "cnn", "vary": {"epochs": []}}},
            "sweeps.x.vary.epochs: must not be empty",
        ),
        (
            {"x": {"model": "nn_numpy", "vary": {"learning_rate": [0.5, 0.50, 1]}}},
            "sweep 'x' (nn_numpy): learning_rate lists 0.5 twice; give each value once",
        ),
        (
            {"x": {"model": "mlp", "vary": {"hidden_units": [64, 64.5]}}},
            "hidden_units = 64.5 is not allowed for mlp.hidden_units: 64.5 is not of type",
        ),
        (
            {"x": {"model": "svm_final", "vary": {"pca_components": [20, 50]}}},
            "varies pca_components, which only applies with full_training_set: true",
        ),
        (
            {
                "x": {
                    "model": "mlp",
                    "vary": {"epochs": [1, 2], "dropout": [0, 0.1], "batch_size": [8, 16]},
                }
            },  # fmt: skip
            "varies 3 settings with more than one value",
        ),
        ({"x y": {"model": "mlp", "vary": {"epochs": [1]}}}, "a sweep's name becomes a file name"),
        ({"x": {"model": "mlp"}}, "config key sweeps.x: 'vary' is a required property"),
        ({"x": {"model": "mlp", "vary": {}}}, "config key sweeps.x.vary:"),
        ({"x": {"model": "mlp", "vary": {"epochs": 3}}}, "3 is not of type 'array'"),
        (
            {"x": {"model": "cnn", "vary": {"training_loop": ["fit", "scan"]}}},
            "sweep 'x' (cnn): cnn.training_loop: 'scan' runs on the jax backend only",
        ),
    ],
)
def test_a_bad_sweep_is_one_line_naming_it(given, expected):
    config = with_sweeps(given)
    try:
        check_config(config, SCHEMA_PATH)
        sweeps.plan(config, SCHEMA)
    except ConfigError as err:
        lines = str(err).splitlines()[1:]
    else:
        pytest.fail(f"{given} was accepted")
    assert len(lines) == 1, lines
    assert expected in lines[0], lines[0]


def test_every_problem_of_every_sweep_is_listed():
    lines = errors_of(
        {
            "a": {"model": "mlp", "vary": {"epochs": [0], "hiden": [1]}},
            "b": {"model": "cnn", "vary": {"dropout": [0.1, 0.1]}},
        }
    )
    assert len(lines) == 3
    assert any("'a'" in line and "epochs = 0" in line for line in lines)
    assert any("'a'" in line and "no setting 'hiden'" in line for line in lines)
    assert any("'b'" in line and "twice" in line for line in lines)


def test_the_shipped_sweep_files_are_valid_and_documented():
    readme = (ROOT / "config" / "README.md").read_text()
    files = sorted((ROOT / "rules" / "sweeps").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        given = yaml.safe_load(path.read_text())["sweeps"]
        planned = plan(given)
        assert set(planned) == set(given) and all(len(s.points) > 1 for s in planned.values())
        assert f"rules/sweeps/{path.name}" in readme, path.name


def test_the_default_config_has_no_sweep():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert config["sweeps"] == {}


def test_report_categories_are_numbered_in_turn_with_or_without_sweeps(monkeypatch):
    """models.report_categories: with sweeps every category is numbered 01, 02, ... in
    CATEGORY_TITLES' order; without, those after the sweeps move up one and the sweeps'
    keeps its bare title (its rules run no job, so the report never shows it); two
    categories added at the end take the next numbers either way. Sorted as text, as
    the report's menu sorts them, the titles keep the registry's order, though the
    registry holds more than nine."""
    titles = models.CATEGORY_TITLES
    assert len(titles) > 9  # the case unpadded numbers would sort wrongly ("10" < "2")
    every = models.report_categories()
    numbered = [f"{n:02d}. {title}" for n, title in enumerate(titles.values(), 1)]
    assert list(every.values()) == numbered
    assert sorted(every.values()) == list(every.values())
    without = models.report_categories(absent=["sweeps"])
    assert without["sweeps"] == "Sweeps"
    shown = [title for key, title in without.items() if key != "sweeps"]
    assert shown == [f"{n:02d}. {title}" for n, title in enumerate(
        [title for key, title in titles.items() if key != "sweeps"], 1)]  # fmt: skip
    assert sorted(shown) == shown
    assert every["record"] == f"{list(titles).index('record') + 1:02d}. Record"
    assert without["record"] == f"{list(titles).index('record'):02d}. Record"

    monkeypatch.setitem(titles, "robustness", "Robustness")
    monkeypatch.setitem(titles, "errors", "Errors")
    assert models.report_categories()["errors"] == f"{len(titles):02d}. Errors"
    without = models.report_categories(absent=["sweeps"])
    assert (without["robustness"], without["errors"]) == (
        f"{len(titles) - 2:02d}. Robustness",
        f"{len(titles) - 1:02d}. Errors",
    )


def write_runs(tmp_path, sweep: dict, seeds, accuracy_of):
    """metrics.json files as the training rules write them, in points x seeds order."""
    files = []
    for point, values in sweep["points"]:
        for seed in seeds:
            path = tmp_path / point / f"seed-{seed}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            row = {"stage": "mlp", "model": "mlp", "seed": seed, "settings": {}, "train_size": 100,
                   "test_size": 1000, "accuracy": accuracy_of(values, seed), "macro_auc": 0.99,
                   "test_loss": 0.1, "fit_seconds": 2.0 + seed, "predict_seconds": 0.1}  # fmt: skip
            path.write_text(json.dumps([row]))
            files.append(path)
    return files


def mlp_sweep(name: str, setting: str, points: dict) -> dict:
    """A sweep of one MLP setting as Sweep.as_params gives it: {point: value}."""
    return {
        "name": name,
        "model": "mlp",
        "settings": [setting],
        "points": [[point, {setting: value}] for point, value in points.items()],
    }


def test_sweep_tables_summarise_each_point_over_its_seeds(tmp_path):
    sweep = mlp_sweep("width", "hidden_units", {"hidden~64-64": 64, "base": 256})
    seeds = [0, 1, 2]
    files = write_runs(tmp_path, sweep, seeds, lambda v, s: 0.9 + v["hidden_units"] / 1e4 + s / 1e3)
    runs, summary = sweep_results.sweep_tables(files, sweep, seeds, "mnist-sample")
    assert list(runs["point"]) == ["hidden~64-64"] * 3 + ["base"] * 3
    assert list(runs["hidden_units"]) == [64] * 3 + [256] * 3
    assert list(runs["seed"]) == seeds * 2
    assert (runs["accuracy_ci_low"] < runs["accuracy"]).all()
    first = summary.iloc[0]
    assert first["seeds"] == 3
    assert first["accuracy_mean"] == pytest.approx(0.9064 + 0.001)
    assert first["accuracy_std"] == pytest.approx(0.001)
    # the t interval of three values: mean +- t(0.975, 2) * std / sqrt(3)
    half = 4.302652729911275 * 0.001 / np.sqrt(3)
    assert first["accuracy_ci_low"] == pytest.approx(first["accuracy_mean"] - half)
    assert first["fit_seconds_mean"] == pytest.approx(3.0)
    markdown = sweep_results.sweep_markdown(runs, summary, sweep)
    assert "# Sweep width: mlp over hidden_units" in markdown
    assert markdown.count("hidden~64-64") == 4  # one summary row, three runs
    with pytest.raises(ValueError, match="2 runs for 6 points x seeds"):
        sweep_results.sweep_tables(files[:2], sweep, seeds, "mnist-sample")


def test_sweep_tables_keep_mixed_numbers_as_one_column_type(tmp_path):
    sweep = mlp_sweep("drop", "dropout", {"dropout~0": 0, "dropout~0.2": 0.2})
    files = write_runs(tmp_path, sweep, [0], lambda v, s: 0.9)
    runs, summary = sweep_results.sweep_tables(files, sweep, [0], "d")
    assert runs["dropout"].dtype == float and summary["dropout"].dtype == float
    runs.to_parquet(tmp_path / "runs.parquet")  # one Arrow type per column
    summary.to_parquet(tmp_path / "summary.parquet")
    assert np.isnan(summary["accuracy_std"]).all()  # one seed: no spread, not zero
    collected = sweep_results.collect_sweeps([tmp_path / "summary.parquet"])
    assert [json.loads(s) for s in collected["settings"]] == [{"dropout": 0.0}, {"dropout": 0.2}]


@pytest.mark.parametrize(
    ("settings", "points"),
    [
        (["learning_rate"], [{"learning_rate": v} for v in (1e-4, 1e-3, 1e-2)]),
        (
            ["full_training_set", "pca_components"],
            [{"full_training_set": True, "pca_components": v} for v in (20, 50)],
        ),  # fmt: skip
        (["epochs", "dropout"], [{"epochs": e, "dropout": d} for e in (1, 2) for d in (0.1, 0.2)]),
        (["training_loop"], [{"training_loop": "fit"}, {"training_loop": "scan"}]),
    ],
)
def test_sweep_figure(tmp_path, settings, points):
    sweep = {"name": "s", "model": "mlp", "settings": settings,
             "points": [[f"p{i}", values] for i, values in enumerate(points)]}  # fmt: skip
    files = write_runs(tmp_path, sweep, [0, 1], lambda v, s: 0.9 + s / 100)
    runs, summary = sweep_results.sweep_tables(files, sweep, [0, 1], "d")
    fig = result_figures.sweep(runs, summary, settings, "t")
    ax = fig.axes[0]
    if settings == ["epochs", "dropout"]:
        assert ax.get_xlabel() == "dropout" and ax.get_ylabel() == "epochs"  # a heatmap
        assert len(ax.texts) == 4
    else:
        assert ax.get_xlabel() == settings[-1]
        assert ax.get_xscale() == ("log" if settings == ["learning_rate"] else "linear")
        if len(settings) == 2:
            assert "full_training_set = True" in ax.get_title()
    figures.save(fig, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 1000


def test_collect_sweeps_lists_every_dataset(tmp_path):
    frames = []
    for dataset in ("a", "b"):
        frame = pd.DataFrame(
            {
                "dataset": dataset,
                "sweep": "w",
                "model": "mlp",
                "point": ["base"],
                "hidden_units": [64],
                "seeds": [2],
                "accuracy_mean": [0.9],
            }  # fmt: skip
        )
        frame.to_parquet(tmp_path / f"{dataset}.parquet")
        frames.append(tmp_path / f"{dataset}.parquet")
    collected = sweep_results.collect_sweeps(frames)
    assert list(collected["dataset"]) == ["a", "b"]
    assert list(collected["settings"]) == ['{"hidden_units": 64}'] * 2


def test_the_best_point_and_the_points_the_data_cannot_tell_from_it(tmp_path):
    # Three points, two seeds, one test set of 1,000 images: "a" right on 90% of them,
    # "b" on the same images but two fewer, the same two under both seeds: a difference
    # 1,000 test images cannot resolve (z about 1.4); "c" on 70%.
    from mnist_study.data import write_predictions

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 10, 1000)
    easy = rng.random(1000)
    files = []
    for point, cut in (("a", 0.9), ("b", 0.9), ("c", 0.7)):
        for seed in (0, 1):
            right = easy < cut
            if point == "b":
                right[np.flatnonzero(right)[:2]] = False
            scores = np.eye(10)[np.where(right, labels, (labels + 1) % 10)]
            path = tmp_path / point / f"seed-{seed}" / "predictions.parquet"
            path.parent.mkdir(parents=True)
            write_predictions(path, "mlp", labels, scores)
            files.append(path)
    summary = pd.DataFrame({"point": ["a", "b", "c"], "accuracy_mean": [0.9, 0.898, 0.7]})
    marked = sweep_results.mark_best(summary, files, seeds=2)
    assert marked["best"].tolist() == [True, False, False]
    assert marked["tied_with_best"].tolist() == [True, True, False]
    assert marked["difference_to_best"].iloc[2] == pytest.approx(-0.2, abs=0.01)
    assert marked["difference_ci_high"].iloc[2] < 0 <= marked["difference_ci_high"].iloc[1]
