"""The table of what each change reruns (config/README.md), dry-run row by row.

Each row's change is made as a config file added after the suite's, on a copy of the
finished run of the suite's config, and the dry run's jobs by rule must be the row's
(conftest.rerun_table reads the table). The suite's config has the default seeds and
models, but four corruptions where the default has fifteen: a count of the table that
is one job per default corruption (a new dataset's test sets) is one per the suite's
here. The sweep row is asserted where a sweep has run (tests/test_sweep_runs.py).
"""

import pytest

from conftest import override, planned_counts, rerun_table, run_snakemake, suite_settings

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

SETTINGS = suite_settings()
SEEDS = SETTINGS["repeats"]["seeds"]
CORRUPTIONS = SETTINGS["robustness"]["corruptions"]
DEFAULT_CORRUPTIONS = 15
# Each row's change, on the suite's config (the table shows it on the default config).
CHANGES = {
    "a model's setting": {"cnn": {"epochs": 4}},
    "`threads`": {"threads": 2},
    "a seed added": {"repeats": {"seeds": [*SEEDS, max(SEEDS) + 1]}},
    "a seed removed": {"repeats": {"seeds": SEEDS[:-1]}},
    "a corruption added": {"robustness": {"corruptions": [*CORRUPTIONS, "zigzag"]}},
    "the SVM grid": {"svm": {"grid": {"C": [0.1, 1, 10]}}},
    "the dataset": {"dataset": "fashion-mnist"},
}
SWEEP_ROW = "a sweep point added"


def on_the_suite(counts: dict[str, int]) -> dict[str, int]:
    """A row's counts with one job per default corruption made one per the suite's."""
    scaled = len(CORRUPTIONS)
    return {
        rule: scaled if rule == "corrupt_test_set" and n == DEFAULT_CORRUPTIONS else n
        for rule, n in counts.items()
    }


def test_the_table_lists_every_change_and_adds_up():
    table = rerun_table()
    assert set(table) == {*CHANGES, SWEEP_ROW}
    for change, (counts, total) in table.items():
        if change != "the dataset":  # its rows beyond the downloads are a cold run's
            assert sum(counts.values()) == total, change


@pytest.mark.slow(60)
def test_each_change_plans_the_jobs_the_table_says(finished):
    table = rerun_table()
    cold = planned_counts(finished, "--forceall")
    wrong = {}
    for change, settings in CHANGES.items():
        counts, total = table[change]
        expected = on_the_suite(counts)
        if change == "the dataset":
            # Its own folder from cold: every job but the dataset-free kernel-trick figures.
            expected |= {rule: n for rule, n in cold.items() if rule != "svm_kernel_trick"}
            extra = DEFAULT_CORRUPTIONS - len(CORRUPTIONS)
            assert sum(expected.values()) == total - extra
        got = planned_counts(finished, *override(finished, settings))
        if got != expected:
            wrong[change] = {"table": expected, "dry run": got}
    assert not wrong, wrong


def test_a_command_line_change_plans_what_the_same_config_file_does(finished):
    # Snakemake hands `{epochs: 4}` over as {"epochs": "4"} (tests/test_config.py reads
    # it as a config file would); a value that spells no integer stops before any job,
    # in one line naming the key and the config-file way.
    by_file = planned_counts(finished, *override(finished, CHANGES["a model's setting"]))
    by_flag = planned_counts(finished, "--config", "cnn={epochs: 4}")
    assert by_flag == by_file and by_flag["train_cnn"] == len(SEEDS)
    proc = run_snakemake(finished, "--dry-run", "--config", "cnn={epochs: four}", check=False)
    text = proc.stdout + proc.stderr
    said = [line for line in text.splitlines() if "config key cnn.epochs:" in line]
    assert proc.returncode != 0 and len(said) == 1, text[-3000:]
    assert "'four'" in said[0] and "cnn: {epochs: <an integer>}" in said[0]
