"""Shared fixtures: tiny IDX data built in memory, and a copy of the workflow to run."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from mnist_study import layout
from mnist_study.idx import encode_idx
from mnist_study.layout import FASHION_DIR, ROOT  # noqa: F401 (shared with the tests)
from mnist_study.models import MODELS, PER_SEED_RULES  # noqa: F401 (shared with the tests)

# The outputs with no timing in them, which any two runs of the same config must write
# byte for byte, whatever --cores or the cluster (every job computes with the config's
# `threads`: tests/test_cores.py): the deterministic stages' (data, PCA), then each seed's
# runs that depend on that seed alone (deterministic_outputs adds the seeds), every
# model's predictions among them. The grid search's choice and the final SVMs trained
# with it depend on the whole list of seeds.
DETERMINISTIC = [
    "data/train.parquet",
    "data/test.parquet",
    "data/summary.json",
    "pca/pca2_variance.csv",
    "pca/pca3_variance.csv",
    "pca/explained_variance.csv",
    "pca/components_for_variance.csv",
]
DETERMINISTIC_PER_RUN = [
    "svm/grid/seed-{seed}.csv",
    "svm_kernels/base/seed-{seed}/kernels.csv",
    "svm_kernels/base/seed-{seed}/confusion.csv",
    "nn_numpy/base/seed-{seed}/history.csv",
    "nn_numpy/base/seed-{seed}/auc.csv",
    "nn_numpy/base/seed-{seed}/weights.npz",
    *(
        f"{model}/base/seed-{{seed}}/predictions.parquet"
        for model in MODELS
        if model != "svm_final"
    ),
]
# Fixtures that start Snakemake: a test that asks for one must carry the pipeline marker.
PIPELINE_FIXTURES = {"pipeline_run", "finished"}
# The suite's settings (the default seeds, shorter training), copied beside config.yaml.
TEST_CONFIG = ROOT / "tests" / "test-config.yaml"
# Where the pipeline run's jobs write the modules they imported (runtime.record_imports).
IMPORTS = ".imports"


def config_args(*more: str) -> list[str]:
    """--configfile for a copied workflow: config.yaml, the test config, then `more`."""
    return ["--configfile", "config.yaml", TEST_CONFIG.name, *more]


def suite_settings() -> dict:
    """config.yaml with the test config merged over it, as the suite's runs see it."""
    import yaml

    from mnist_study.config import merge_configs

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    return merge_configs(config, yaml.safe_load(TEST_CONFIG.read_text()))


def rerun_table() -> dict[str, tuple[dict[str, int], int]]:
    """{change: ({rule: jobs}, total)} of the table of what each change reruns in
    config/README.md, on the default config; "the tables" stands for the rules the
    sentence below the table lists, one job each."""
    text = (ROOT / "config" / "README.md").read_text()
    tables = re.search(r'^"The tables" are the \w+ jobs that gather the runs, each run once: '
                       r"(.*?)\. A\n", text, re.M | re.S)  # fmt: skip
    names = re.split(r",\s+(?:and\s+)?|\s+and\s+(?:the target )?", tables.group(1))
    rows = {}
    for change, _, jobs, total in re.findall(
        r"^\| (.+?) \| (.+?) \| (.+?) \| (\d+) \|$", text, re.M
    ):
        counts = {}
        for item in jobs.split(", "):
            if item == "the tables":
                counts |= dict.fromkeys((n.strip() for n in names), 1)
            else:
                match = re.match(r"(\w+) (\d+)", item)
                if match:
                    counts[match.group(1)] = int(match.group(2))
        rows[change] = (counts, int(total))
    return rows


def real_digits(n: int = 300):
    """The first `n` training digits of the bundled sample, scaled and flattened."""
    from mnist_study import data, idx
    from mnist_study.datasets import bundled_dir

    bundled = bundled_dir("mnist-sample")
    images, labels = idx.read_split(
        bundled / "train-images-idx3-ubyte.gz", bundled / "train-labels-idx1-ubyte.gz"
    )
    return data.scale_and_flatten(images[:n]), labels[:n]


def make_dataset_dir(directory: Path, n_train: int = 40, n_test: int = 20, seed: int = 0):
    """Four gzipped IDX files of random 28x28 images with labels 0-9."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (directory / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(encode_idx(images), mtime=0)
        )
        (directory / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(encode_idx(labels), mtime=0)
        )
        arrays[prefix] = (images, labels)
    return arrays


def _needs_the_shared_run(item) -> bool:
    return bool(PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())))


def expected_seconds(item) -> float:
    """How long a test marked `slow(seconds)` takes here (2 cores, both workers busy);
    0 for the rest."""
    marker = item.get_closest_marker("slow")
    return float(marker.args[0]) if marker and marker.args else 0.0


def pytest_collection_modifyitems(items):
    """Refuse a test that starts Snakemake through a fixture without the pipeline marker:
    `pytest -m "not pipeline"` is the fast loop, and must start none.

    Then order the tests for the workers of pytest-xdist (pyproject.toml starts one per
    core, and each takes the next test when it is free): first the longest test of the
    shared pipeline run, whose worker starts that run at once; then the tests that need
    no shared run, which the other workers take meanwhile; then the rest. Within each
    part the longest lead (`slow(seconds)`), so that no long test starts last.
    """
    unmarked = [
        item.nodeid
        for item in items
        if _needs_the_shared_run(item) and item.get_closest_marker("pipeline") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests start Snakemake but are not marked pipeline: " + ", ".join(unmarked)
        )
    shared = [item for item in items if _needs_the_shared_run(item)]
    first = max(shared, key=expected_seconds, default=None)

    def order(item):
        part = 0 if item is first else 2 if _needs_the_shared_run(item) else 1
        return part, -expected_seconds(item)

    items.sort(key=order)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's load scheduler, but its first tests go out in turn: the first to
    the first worker, the second to the second, and so on. (Its own first round gives
    each worker two consecutive tests, so that the two longest would run one after
    the other on one worker.) Then each worker that finishes a test gets the next.
    """
    from xdist.scheduler import LoadScheduling

    class InTurn(LoadScheduling):
        def schedule(self):
            if self.collection is not None or not self._check_nodes_have_same_collection():
                return super().schedule()
            self.collection = next(iter(self.node2collection.values()))
            self.pending[:] = range(len(self.collection))
            self.maxschedchunk = self.maxschedchunk or 1
            for _ in range(2):  # a worker runs a test once it holds the next one
                for node in self.nodes:
                    if self.pending:
                        self._send_tests(node, 1)
            if not self.pending:
                for node in self.nodes:
                    node.shutdown()

    return InTurn(config, log)


_RUNNING: dict[str, pytest.Item] = {}


@pytest.fixture(autouse=True)
def _running_test(request):
    """The test now running, for snakemake_command's check."""
    _RUNNING["item"] = request.node
    yield
    _RUNNING.pop("item", None)


def snakemake_command() -> list[str]:
    """`python -m snakemake`, refused to a test without the pipeline marker."""
    item = _RUNNING.get("item")
    if item is not None and item.get_closest_marker("pipeline") is None:
        raise AssertionError(f"{item.nodeid} starts Snakemake: mark it pytest.mark.pipeline")
    return [sys.executable, "-m", "snakemake"]


def deterministic_outputs(seeds) -> list[str]:
    """DETERMINISTIC and every seed's deterministic run outputs, under results/<dataset>/."""
    runs = [name.format(seed=seed) for seed in seeds for name in DETERMINISTIC_PER_RUN]
    return [*DETERMINISTIC, *runs]


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow (as a clone would have it) in `dest`, with the test
    config beside its config.yaml."""
    layout.copy_workflow(dest)
    shutil.copy2(TEST_CONFIG, dest / TEST_CONFIG.name)
    return dest


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1800, targets=()):
    """snakemake in `workdir`, with the test config unless `args` name config files.

    `targets` come first, where no option that takes a list (--configfile) can swallow them.
    """
    if "--configfile" not in args and (workdir / TEST_CONFIG.name).exists():
        args = (*config_args(), *args)
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.run(
        [*snakemake_command(), "--cores", "2", *targets, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}"
        )
    return proc


def _session_folder(tmp_path_factory) -> Path:
    """A folder of this session that every pytest-xdist worker sees (each worker's own
    temporary folder is inside it); without workers, the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """The whole pipeline run once on the bundled sample; tests read its outputs.

    Once per session, whatever the number of workers: the first worker to ask runs it
    while holding a file lock; the others wait for the lock and read the same folder,
    whose outcome (a failure too) is kept beside it. A test that runs Snakemake on it
    works on a copy (`finished`): the folder stays as the run left it.
    """
    shared = _session_folder(tmp_path_factory)
    workdir, outcome = shared / "pipeline", shared / "pipeline.json"
    with FileLock(shared / "pipeline.lock"):
        if not outcome.exists():
            copy_workflow(workdir)
            # Each job also records the modules it imported (tests/test_envs.py reads them).
            os.environ["MNIST_STUDY_IMPORTS"] = str(workdir / IMPORTS)
            try:
                proc = run_snakemake(workdir, check=False)
            finally:
                del os.environ["MNIST_STUDY_IMPORTS"]
            fields = ("args", "returncode", "stdout", "stderr")
            outcome.write_text(json.dumps({name: getattr(proc, name) for name in fields}))
    first = subprocess.CompletedProcess(**json.loads(outcome.read_text()))
    if first.returncode != 0:
        pytest.fail(
            f"the shared pipeline run failed:\n{first.stdout[-5000:]}\n{first.stderr[-10000:]}"
        )
    return workdir, first


# What a copy of a run leaves out: what a Snakemake process writes while it runs there.
_TRANSIENT = {".snakemake": {"locks", "log"}}


@pytest.fixture
def finished(pipeline_run, tmp_path):
    """A private copy of the finished run (results and Snakemake's records)."""
    source, _ = pipeline_run
    copy = tmp_path / "run"

    def transient(folder, names):
        return _TRANSIENT.get(Path(folder).name, set()) & set(names)

    shutil.copytree(source, copy, symlinks=True, ignore=transient)
    return copy


def planned_counts(workdir, *args, targets=()) -> dict[str, int]:
    """How many jobs of each rule a dry run would run."""
    proc = run_snakemake(workdir, "--dry-run", "--quiet", "rules", *args, targets=targets)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text[text.index("Job stats:") :]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.M))
    counts.pop("total", None)
    return {rule: int(n) for rule, n in counts.items()}


def planned(workdir, *args, targets=()) -> set[str]:
    """The rules a dry run would run."""
    return set(planned_counts(workdir, *args, targets=targets))


def ran(proc) -> list[str]:
    return re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stdout + proc.stderr)


def override(workdir, settings: dict) -> list[str]:
    """--configfile args with `settings` merged over the suite's config."""
    import yaml

    path = workdir / "override.yaml"
    path.write_text(yaml.safe_dump(settings))
    return config_args(str(path))


def rule_blocks(workdir: Path = ROOT) -> dict[str, str]:
    """{rule name: its text} of every rule in the workflow's rule files, those defined in
    a loop over a registry list too (`for keras_model in KERAS:` with `name: f"..."`)."""
    from mnist_study import models

    found = {}
    for path in [workdir / "Snakefile", *sorted((workdir / "rules").glob("*.smk"))]:
        text = path.read_text()
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t].*\n|\n)*)", text, re.M):
            found[name] = body
        loops = (
            r'^for (\w+) in (\w+):\n\n    rule:\n        name:\n\s+f"(.*?)"\n((?:[ \t].*\n|\n)*)'
        )
        for variable, registry, template, body in re.findall(loops, text, re.M):
            for value in getattr(models, registry):
                found[template.replace("{" + variable + "}", value)] = body
    return found


def local_rules(workdir: Path) -> set[str]:
    """The rules that the workflow's files flag `localrule: True` (run by Snakemake itself,
    never submitted to a cluster)."""
    return {
        name
        for name, body in rule_blocks(workdir).items()
        if re.search(r"^\s+localrule: True$", body, re.M)
    }


# The robustness stage's job per saved run (rules/robustness.smk): a retrained run is
# scored again on every corruption, and nothing else is.
RESCORING = "score_run"


@pytest.fixture(scope="session")
def bookkeeping(pipeline_run) -> set[str]:
    """The rules that gather the runs into tables: the local rules among the jobs of a
    forced dry run of the suite's config. A change to a run reruns exactly these besides
    the run itself and its scoring (RESCORING)."""
    workdir, _ = pipeline_run
    return local_rules(workdir) & planned(workdir, "--forceall")


def bookkeeping_counts(bookkeeping, rescored: int = 0) -> dict[str, int]:
    """The jobs of each bookkeeping rule a change to runs plans (one each), and the
    scoring jobs of the `rescored` runs it retrains."""
    return dict.fromkeys(bookkeeping, 1) | ({RESCORING: rescored} if rescored else {})
