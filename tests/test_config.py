"""The config is closed and checked: a bad value stops the run before any job."""

import copy

import pytest
import yaml

from conftest import ROOT, copy_workflow, run_snakemake
from mnist_study.config import check_config, config_errors, load_schema, schema_defaults

SCHEMA = load_schema(ROOT / "rules/schemas/config.schema.yaml")
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())


def with_change(path, value):
    config = copy.deepcopy(CONFIG)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


def test_shipped_config_is_valid():
    assert config_errors(CONFIG, SCHEMA) == []


def test_every_schema_key_has_a_default_and_objects_are_closed():
    maps = []

    def walk(node, where):
        if node.get("type") == "object":
            entries = node.get("additionalProperties")
            if isinstance(entries, dict):  # named entries (datasets, checksums, sweeps)
                maps.append(where)
                walk(entries, f"{where}.<name>")
                return
            assert entries is False, where
            required = node.get("required", [])
            for name, sub in node.get("properties", {}).items():
                assert "default" in sub or name in required, f"{where}.{name} has no default"
                walk(sub, f"{where}.{name}")

    walk(SCHEMA, "config")
    assert maps == [
        "config.datasets",
        "config.datasets.<name>.sha256",
        "config.models",
        "config.models.<name>.settings",
        "config.sweeps",
        "config.sweeps.<name>.vary",
    ]


def test_config_yaml_states_exactly_the_schema_defaults():
    # One home for each value: the schema. config.yaml is the same defaults written out
    # for a user to read and copy, every key in it, each at the schema's default.
    assert schema_defaults(SCHEMA) == CONFIG


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["datset"], "mnist", "unknown config key 'datset'; did you mean 'dataset'?"),
        (["svm", "grid", "Cs"], [1], "unknown config key 'Cs' in svm.grid"),
        (["dataset"], "cifar", "config key dataset: 'cifar' is not allowed (allowed: mnist-sample"),
        (["svm", "grid", "C"], [], "config key svm.grid.C: must not be empty"),
        (["svm", "grid", "gamma"], [0.0001, 0.0001, 1], "0.0001] appear(s) more than once"),
        (["svm", "grid", "C"], [1, 10, 1], "svm.grid.C: values must be distinct, [1] appear"),
        (["repeats", "seeds"], [0, 1, 0], "repeats.seeds: values must be distinct, [0] appear"),
        (["repeats", "seeds"], [], "config key repeats.seeds: must not be empty"),
        (["repeats", "seeds"], [0, -1], "repeats.seeds[1]: -1 is less than the minimum"),
        # The per-model seeds gave way to repeats.seeds; the message says so.
        (["mlp", "seed"], 0, "unknown config key 'seed' in mlp; every stochastic model now runs"),
        (["svm", "kernels", "names"], ["linear", "rbff"], "svm.kernels.names[1]: 'rbff'"),
        (["svm", "kernels", "gamma"], "sometimes", "expected 'scale' or 'auto' or a positive"),
        (["svm", "grid", "folds"], 1, "config key svm.grid.folds: 1 is less than the minimum"),
        (["mlp", "dropout"], 1.0, "config key mlp.dropout: 1.0 is greater than or equal"),
        (["nn_numpy", "epochs"], "two", "config key nn_numpy.epochs: 'two' is not of type"),
        (["mlp", "steps_per_execution"], 0, "mlp.steps_per_execution: 0 is less than the minimum"),
        (["cnn", "steps_per_execution"], 2.5, "cnn.steps_per_execution: 2.5 is not of type"),
        (["mlp", "training_loop"], "loop", "mlp.training_loop: 'loop' is not allowed"),
        # Allowed on its own, but not with the default tensorflow backend.
        (["cnn", "training_loop"], "scan", "cnn.training_loop: 'scan' runs on the jax backend"),
        (["keras_backend"], "pytorch", "keras_backend: 'pytorch' is not allowed"),
        (["threads"], 0, "config key threads: 0 is less than the minimum of 1"),
        (["threads"], 1.5, "config key threads: 1.5 is not of type 'integer'"),
        # Not finite: NaN passes every JSON Schema bound, .inf an unbounded one.
        (
            ["mlp", "learning_rate"],
            float("nan"),
            "mlp.learning_rate: must be a finite number, not .nan",
        ),
        (
            ["nn_numpy", "learning_rate"],
            float("inf"),
            "nn_numpy.learning_rate: must be a finite number, not .inf",
        ),
        (
            ["svm", "grid", "C"],
            [1, float("-inf")],
            "svm.grid.C[1]: must be a finite number, not -.inf",
        ),
        (["svm", "kernels", "gamma"], float("nan"), "svm.kernels.gamma: must be a finite number"),
    ],
)
def test_bad_values_are_named(path, value, message):
    errors = config_errors(with_change(path, value), SCHEMA)
    assert len(errors) == 1
    assert message in errors[0]


def test_scan_loop_is_allowed_with_the_jax_backend():
    config = with_change(["mlp", "training_loop"], "scan")
    config["cnn"]["training_loop"] = "scan"
    config["keras_backend"] = "jax"
    assert config_errors(config, SCHEMA) == []


def test_torch_backend_is_allowed_but_not_with_the_scan_loop():
    # The default steps_per_execution (16) stays valid: build() uses 1 under torch.
    config = with_change(["keras_backend"], "torch")
    assert config_errors(config, SCHEMA) == []
    config["mlp"]["training_loop"] = "scan"
    assert config_errors(config, SCHEMA) == [
        "config key mlp.training_loop: 'scan' runs on the jax backend only "
        "(keras_backend is 'torch'; set keras_backend=jax or training_loop=fit)"
    ]


def test_check_config_raises_with_all_problems():
    config = with_change(["pca", "solver"], "magic")
    config["extra"] = 1
    with pytest.raises(ValueError) as err:
        check_config(config, ROOT / "rules/schemas/config.schema.yaml")
    assert "pca.solver" in str(err.value) and "'extra'" in str(err.value)


@pytest.mark.pipeline
def test_snakemake_stops_before_any_job_on_a_misspelt_key(tmp_path):
    workdir = copy_workflow(tmp_path)
    config = with_change(["svm", "grid", "folds"], 5)
    config["svm"]["grid"]["fold"] = 3
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(workdir, check=False)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "unknown config key 'fold' in svm.grid; did you mean 'folds'?" in output
    assert not (workdir / "results").exists()


# --- settings from the command line (--config) ---


def command_line(*entries: str) -> tuple[dict, dict]:
    """The config Snakemake makes of config.yaml and `--config entries` (its own parser,
    which hands a value inside {...} or [...] over as a string), read by
    read_command_line; and the --config values as Snakemake parsed them."""
    from snakemake.cli import parse_config

    from mnist_study.config import merge_configs, read_command_line

    given = parse_config(list(entries))
    config = merge_configs(copy.deepcopy(CONFIG), copy.deepcopy(given))
    read_command_line(config, given, SCHEMA)
    return config, given


def test_snakemake_hands_nested_command_line_values_over_as_strings():
    # Why read_command_line exists: without it these are the config's values.
    _, given = command_line("threads=2")
    assert given == {"threads": 2}
    from snakemake.cli import parse_config

    assert parse_config(["mlp={epochs: 3}"]) == {"mlp": {"epochs": "3"}}
    assert config_errors(with_change(["mlp", "epochs"], "3"), SCHEMA) != []


@pytest.mark.parametrize(
    ("entries", "as_a_file"),
    [
        (["mlp={epochs: 3}"], {"mlp": {"epochs": 3}}),
        (["threads=2"], {"threads": 2}),
        (["repeats={seeds: [0, 1, 7]}"], {"repeats": {"seeds": [0, 1, 7]}}),
        (["mlp={hidden: [64, 32], dropout: 0.25}"], {"mlp": {"hidden": [64, 32], "dropout": 0.25}}),
        (["svm={kernels: {gamma: 0.01}}"], {"svm": {"kernels": {"gamma": 0.01}}}),
        (["svm={kernels: {gamma: auto}}"], {"svm": {"kernels": {"gamma": "auto"}}}),
        (["svm={final: {full_training_set: true}}"],
         {"svm": {"final": {"full_training_set": True}}}),
        (["cnn={training_loop: scan}", "keras_backend=jax"],
         {"cnn": {"training_loop": "scan"}, "keras_backend": "jax"}),
        (
            ["sweeps={w: {model: mlp, vary: {epochs: [1, 2]}}}"],
            {"sweeps": {"w": {"model": "mlp", "vary": {"epochs": [1, 2]}}}},
        ),
    ],
)  # fmt: skip
def test_command_line_values_read_as_a_config_file_would(entries, as_a_file):
    from mnist_study.config import merge_configs

    config, given = command_line(*entries)
    assert config == merge_configs(copy.deepcopy(CONFIG), as_a_file)
    assert config_errors(config, SCHEMA) == []


@pytest.mark.parametrize(
    ("entry", "key", "file_way"),
    [
        ("mlp={epochs: three}", "mlp.epochs", "mlp: {epochs: <an integer>}"),
        ("repeats={seeds: [0, x]}", "repeats.seeds[1]", "repeats: {seeds: <an integer>}"),
        ("svm={final: {full_training_set: maybe}}", "svm.final.full_training_set",
         "svm: {final: {full_training_set: <true or false>}}"),
    ],
)  # fmt: skip
def test_command_line_values_that_spell_nothing_allowed_are_refused_in_one_line(
    entry, key, file_way
):
    from mnist_study.config import ConfigError

    with pytest.raises(ConfigError) as err:
        command_line(entry)
    lines = str(err.value).splitlines()[1:]
    assert len(lines) == 1, lines
    assert f"config key {key}: --config gave" in lines[0] and file_way in lines[0]
    assert "--configfile config.yaml" in lines[0]
