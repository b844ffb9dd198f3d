import ast
import dataclasses
import functools
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.io import strip_wildcard_constraints
from snakemake.logging import logger
from snakemake.sourcecache import GenericSourceFile, LocalSourceFile
from snakemake.utils import validate

# The workflow's own files are found from this file's folder, never from the working
# directory or the main Snakefile: run with -d elsewhere, or as another workflow's
# module, the package, the bundled sample and config.yaml are still these. A module read
# from GitHub, GitLab or a URL (snakedeploy's github(...)) is not a folder: Snakemake
# fetches each of its files into its source cache on first use, and the package is
# imported from there, as the rule scripts are run from there.
LOCAL = isinstance(workflow.current_basedir, LocalSourceFile)
WORKFLOW_DIR = Path(workflow.current_basedir.get_path_or_uri(True)).parent if LOCAL else None


def package_file(name):
    """The package's module `name` (scripts/mnist_study/<name>.py), fetched if remote.

    Local: the path relative to the working directory, so a copied or moved run keeps
    its history. Remote: the copy in Snakemake's source cache, whose history records
    the original address.
    """
    if LOCAL:
        return os.path.relpath(WORKFLOW_DIR / "scripts" / "mnist_study" / f"{name}.py")
    return workflow.source_path(f"../scripts/mnist_study/{name}.py")


def workflow_text(path):
    """The text of one of the workflow's files, by its path from the workflow's top."""
    if LOCAL:
        return (WORKFLOW_DIR / path).read_text()
    return Path(workflow.source_path(f"../{path}")).read_text()


def imported_modules(source, where):
    """The modules of mnist_study that `source` (the Python code of the file `where`)
    imports itself, inside functions too.

    Every name imported from the package itself (`from mnist_study import x`,
    `from . import x`) must be a module: a remote workflow's files cannot be listed,
    only fetched by name.
    """
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("mnist_study.")]
        elif isinstance(node, ast.ImportFrom):
            inside = node.level > 0 or (node.module or "").split(".")[0] == "mnist_study"
            if not inside:
                continue
            source_module = (node.module or "").removeprefix("mnist_study").lstrip(".")
            names = [source_module.split(".")[0]] if source_module else [a.name for a in node.names]
        for name in set(names) - found:
            if LOCAL and not Path(package_file(name)).is_file():
                raise WorkflowError(
                    f"{where}: `{ast.unparse(node)}`: mnist_study has no module {name}; "
                    f"import names from its modules (from mnist_study.<module> import {name})"
                )
            found.add(name)
    return found


@functools.cache
def module_imports(name):
    """imported_modules of the package's module `name`, read once per parse."""
    return imported_modules(Path(package_file(name)).read_text(), f"scripts/mnist_study/{name}.py")


def package_modules(source, where):
    """The modules of mnist_study that `source` imports, followed through the package.

    Read from the code itself, so a rule's inputs cannot drift from what its script
    really uses.
    """
    found = {"__init__"}
    todo = list(imported_modules(source, where))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(module_imports(name))
    return found


def script_imports(script):
    """The package modules that `scripts/<script>` imports: editing one reruns the rule."""
    modules = package_modules(workflow_text(f"scripts/{script}"), f"scripts/{script}")
    return [package_file(m) for m in sorted(modules)]


# This file's own imports from the package (the lines below): a remote workflow's are
# fetched into the source cache first, and the package imported from there.
OWN_IMPORTS = [
    line
    for line in workflow_text("rules/common.smk").splitlines()
    if line.startswith("from mnist_study")
]
for module in package_modules("\n".join(OWN_IMPORTS), "rules/common.smk"):
    package_file(module)
sys.path.insert(0, str(Path(package_file("__init__")).resolve().parents[1]))
from mnist_study import own_models  # noqa: E402
from mnist_study import sweeps as sweep_plans  # noqa: E402
from mnist_study.config import ConfigError, check_config, load_schema  # noqa: E402
from mnist_study.config import read_command_line, schema_defaults  # noqa: E402
from mnist_study.datasets import DatasetError, all_specs, bundled_dir  # noqa: E402
from mnist_study.models import KERAS, MODELS, SAVED, register, report_categories  # noqa: E402
from mnist_study.runtime import half_the_cores  # noqa: E402

# The values of --config read as a config file's would be, then one readable line per
# problem; then snakemake's validate fills in defaults, and the sweeps are checked
# against the settings they vary (defaults included).
SCHEMA = workflow.source_path("schemas/config.schema.yaml")
try:
    read_command_line(config, workflow.config_settings.config, load_schema(SCHEMA))
    check_config(config, SCHEMA)
    validate(config, schema="schemas/config.schema.yaml", set_default=True)
    # The built-in datasets and the config's own (`datasets:`), by name.
    DATASET_SPECS = all_specs(config["datasets"])
    # The config's own models (`models:`), checked and added to the registry before
    # anything reads it (rules/own_models.smk); a Keras file's model is built once per
    # change of it, in a subprocess, to check it (own_models.checked_keras_file).
    # Where a Keras model's file may lie: the working directory, or the workflow's.
    OWN_FOLDERS = [Path.cwd(), *([WORKFLOW_DIR] if LOCAL else [])]
    OWN_SPECS = own_models.check(
        config["models"],
        OWN_FOLDERS,
        DATASET_SPECS[config["dataset"]].n_classes if config["dataset"] in DATASET_SPECS else 10,
        Path(".snakemake/mnist_study/keras_checks"),
    )
    register(OWN_SPECS)
    # Each Keras model's file, relative to the working directory: an input of its rule.
    OWN_FILES = {
        name: os.path.relpath(own_models.find_file(entry["file"], OWN_FOLDERS))
        for name, entry in config["models"].items()
        if entry["kind"] == "keras"
    }
    SWEEPS = sweep_plans.plan(config, load_schema(SCHEMA))
except (ConfigError, DatasetError) as err:
    raise WorkflowError(str(err)) from None


def fetched_sample(spec):
    """A remote workflow's bundled sample: downloaded from where the workflow was read.

    Snakemake's source cache reads a git-hosted file as text, which a .gz file is not,
    so the sample's four files come like any dataset's: from a mirror (the address of
    the bundled folder in the same repository and tag), checked against their hashes.
    """
    top = Path(package_file("__init__")).resolve().parents[2]
    folder = bundled_dir(spec.name).resolve().relative_to(top).as_posix()
    url = workflow.current_basedir.join(f"../{folder}").get_path_or_uri(secret_free=True)
    return dataclasses.replace(spec, bundled=False, mirrors=(url,))


DATASET = config["dataset"]
if not LOCAL:
    BUNDLED = [name for name, spec in DATASET_SPECS.items() if spec.bundled]
    DATASET_SPECS |= {name: fetched_sample(DATASET_SPECS[name]) for name in BUNDLED}
    if DATASET in BUNDLED and not config["dataset_dir"]:
        logger.info(
            f"dataset {DATASET}: downloaded from {DATASET_SPECS[DATASET].mirrors[0]} "
            "where it is missing (checksums verified)"
        )
if isinstance(workflow.current_basedir, GenericSourceFile):
    logger.warning(
        f"this workflow is read from a URL ({workflow.current_basedir.get_basedir()}): "
        "Snakemake knows no modification time for such files, so every run reruns the "
        "jobs that use them; deploy it with github(...) or gitlab(...) and a tag instead "
        "(README.md)"
    )
if not DATASET_SPECS[DATASET].verify:
    logger.warning(
        f"dataset {DATASET}: verify: false, so its files are used without checking their "
        "checksums; the Parquet files record verified: false"
    )
SEEDS = config["repeats"]["seeds"]
# The report's categories that this run holds, numbered in turn (no sweeps, no "Sweeps").
CATEGORIES = report_categories(
    absent=[
        *([] if SWEEPS else ["sweeps"]),
        *([] if config["robustness"]["corruptions"] else ["robustness"]),
    ]
)
# The workflow's authors and licence, which the run's crate names (rules/record.smk).
CITATION = yaml.safe_load(workflow_text("CITATION.cff"))
# Every job records the run that made it (runtime.write_job_record): this Snakemake
# process's id and command line, handed to its jobs (on a cluster too) in the environment.
os.environ.setdefault("MNIST_STUDY_RUN", f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
os.environ.setdefault("MNIST_STUDY_COMMAND", shlex.join(sys.argv))
# Where the workflow comes from, for the record: a checkout's folder or a module's address
# (in the environment, not a rule's params: a copied or moved run reruns nothing).
os.environ.setdefault(
    "MNIST_STUDY_SOURCE",
    str(WORKFLOW_DIR) if LOCAL else workflow.current_basedir.get_path_or_uri(secret_free=True),
)
# A run is (dataset, model, point, seed): `base` is the model's own config section, the
# other points are those of the sweeps ({model: {point: settings}}).
MODEL_POINTS = sweep_plans.model_points(SWEEPS, config)
POINTS = sorted({point for points in MODEL_POINTS.values() for point in points})
# The threads of every job whose numbers the thread count can change (config `threads`):
# the rule passes them to its script as a param, so that changing them reruns exactly
# these jobs, and its script computes with that many whatever --cores is. The rule's
# `threads:` asks the scheduler for as many cores; a local run caps that at --cores,
# and the job then shares its cores but computes the same.
THREADS = config["threads"]
# Most threads a grid search asks for; on a cluster, set-threads in the profile sets them.
GRID_SEARCH_MAX_THREADS = 8


DATASET_NAMES = list(DATASET_SPECS)
# The robustness stage's corruptions (rules/robustness.smk), one test set each.
CORRUPTIONS = config["robustness"]["corruptions"]
# Every dataset's four file names (MNIST's, unless a user dataset names its own).
DATASET_FILES = sorted({name for spec in DATASET_SPECS.values() for name in spec.files.values()})


wildcard_constraints:
    dataset="|".join(map(re.escape, DATASET_NAMES)),
    point="|".join(map(re.escape, POINTS)),
    sweep="|".join(SWEEPS) or "(?!)",
    seed=r"\d+",
    file="|".join(map(re.escape, DATASET_FILES)),
    components="2|3",
    corruption="|".join(CORRUPTIONS) or "(?!)",
    model="|".join(MODELS),


def grid_search_threads(wildcards):
    """Threads of a grid search job: half of --cores, from 1 to GRID_SEARCH_MAX_THREADS.

    Unlike the config's `threads`, these change no number, so the grid search (the
    longest job after the Keras ones) may take more cores: they are worker threads, each
    fitting and scoring one (setting, fold) of the grid by itself on one thread (libsvm
    has no threads, and svm_grid_search.py holds BLAS to one), and the scores are
    gathered in the grid's order. More of them only fit more at once
    (tests/test_pca_svm.py scores the same folds with one worker and with two).
    """
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores: a cluster executor or a dry run
        return GRID_SEARCH_MAX_THREADS
    return half_the_cores(cores, GRID_SEARCH_MAX_THREADS)


def log_path(rule_name, *parts, run=False, across_datasets=False):
    """Every rule's log: results/<dataset>/logs/<rule>[/<part>...][/<point>/seed-<n>].log.

    `parts` name one job among the rule's (a file); `run` adds the run's point and seed;
    the rules that work across datasets log to results/logs/<rule>.log.
    """
    base = "results/logs" if across_datasets else "results/{dataset}/logs"
    per_run = ["{point}", "seed-{seed}"] if run else []
    return os.path.join(base, rule_name, *parts, *per_run) + ".log"


def bench_path(rule_name):
    return f"results/{{dataset}}/benchmarks/{rule_name}.tsv"


def run_dir(model):
    """The folder of one run: results/<dataset>/<model>/<point>/seed-<n>/."""
    return f"results/{{dataset}}/{model}/{{point}}/seed-{{seed}}"


def run_bench(rule_name):
    return f"results/{{dataset}}/benchmarks/{rule_name}/{{point}}/seed-{{seed}}.tsv"


def canonical(value):
    """`value` with dict keys sorted at every level: equal settings, equal params.

    Snakemake compares a rule's params as written, so the same settings in another
    key order (a config written by yaml.safe_dump, say) would otherwise rerun it.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def exact(**params):
    """params: `params` as the rule's script reads them, and beside them `job`, all of them
    by name in one canonical value.

    Snakemake compares a job's params as a set of values (snakemake/snakemake#2212): a
    setting changed from a value that another of the job's params also holds to one that
    a third holds (threads from 1, the seed's number, to 2, the CNN's feature-map image)
    leaves that set as it was, and the job would not rerun. `job` holds every param with
    its name, so it changes with any of them, and no other param can equal it.
    """

    def job(wildcards):
        values = {
            name: value(wildcards) if callable(value) else value for name, value in params.items()
        }
        return json.dumps(canonical(values), sort_keys=True)

    return params | {"job": job}


def settings_for(model):
    """params: the settings of `model` at the job's point (`base` or a sweep's), canonical.

    The CNN's feature-map image is not among them: train_cnn takes it as a param of its
    own, so the metrics and tables do not list it and sweeps cannot vary it.
    """

    def settings(wildcards):
        if model == "svm_kernels":
            return canonical(config["svm"]["kernels"])
        points = MODEL_POINTS[model]
        if wildcards.point not in points:
            raise WorkflowError(
                f"{model} has no point {wildcards.point!r} in this config "
                f"(its points: {', '.join(points)})"
            )
        return canonical(points[wildcards.point])

    return settings


def seed_of(wildcards):
    return int(wildcards.seed)


def run_files(model, name, dataset, point="base"):
    """`name` in the folder of every seed's run of `model` at `point`."""
    return [f"results/{dataset}/{model}/{point}/seed-{seed}/{name}" for seed in SEEDS]


def raw_files(wildcards):
    """Where the four IDX files of a dataset come from."""
    spec = DATASET_SPECS[wildcards.dataset]
    names = list(spec.files.values())
    if config["dataset_dir"] and wildcards.dataset == DATASET:
        directory = Path(config["dataset_dir"]).expanduser()
        return [str(directory / f) for f in names]
    if spec.bundled:
        return [os.path.relpath(bundled_dir(spec.name) / f) for f in names]
    return [f"results/{wildcards.dataset}/raw/{f}" for f in names]


def dataset_params(wildcards):
    """params: the dataset's spec as plain data (names, classes, checksums), so that a
    rule drawing class names or checking files reruns when its entry changes."""
    return DATASET_SPECS[wildcards.dataset].as_params()


def all_targets(dataset):
    data = f"results/{dataset}/data"
    pca = f"results/{dataset}/pca"
    svm = f"results/{dataset}/svm"
    tables = f"results/{dataset}/tables"
    return [
        f"{data}/train.parquet",
        f"{data}/test.parquet",
        f"{data}/sample_digits.png",
        *(f"{pca}/pca{k}_scatter.png" for k in (2, 3)),
        f"{pca}/cumulative_variance.png",
        f"{svm}/decision_boundaries.png",
        f"{svm}/grid_heatmap.png",
        "results/kernel_trick/lift.png",
        *(
            f
            for model in MODELS.values()
            for name in model.targets
            for f in run_files(model.name, name, dataset)
        ),
        f"{tables}/metrics_summary.csv",
        f"{tables}/model_comparison.csv",
        f"{tables}/headline.csv",
        f"{tables}/study_comparison.csv",
        f"{tables}/stage_costs.csv",
        "results/tables/metrics_by_dataset.csv",
        *sweep_targets(dataset),
        *robustness_targets(dataset),
        f"results/{dataset}/record/record.json",
    ]


def record_expected(wildcards):
    """params: the files of the dataset's default target that the record covers."""
    return [t for t in all_targets(wildcards.dataset) if "/record/" not in t]


def record_inputs(wildcards):
    """Input function of the record: every file of the default target; or, when the
    record is asked for by name beside other targets (a partial run), those targets and
    the files already present, so that it says what is missing rather than fail."""
    expected = record_expected(wildcards)
    requested = set(getattr(workflow.dag_settings, "targets", None) or ())
    if f"results/{wildcards.dataset}/record/record.json" in requested:
        return [t for t in expected if t in requested or Path(t).exists()]
    return expected


def sweep_targets(dataset):
    """Each sweep's table and figure, and the collection across datasets (if any sweep)."""
    files = [f"results/{dataset}/sweeps/{name}.{ext}" for name in SWEEPS for ext in ("csv", "png")]
    return [*files, "results/tables/sweeps_by_dataset.csv"] if SWEEPS else []


def sweep_runs(name):
    """Input function: `name` in the folder of every point and seed of the job's sweep."""

    def files(wildcards):
        sweep = SWEEPS[wildcards.sweep]
        return [
            f
            for point, _ in sweep.points
            for f in run_files(sweep.model, name, wildcards.dataset, point)
        ]

    return files


def sweep_params(wildcards):
    """The sweep as plain data: its model, settings and points (names and values)."""
    return SWEEPS[wildcards.sweep].as_params()


# Wildcard values a benchmark path may hold besides the dataset.
# (The stage costs are those of the study's own runs; a sweep's table has its points'.)
BENCHMARK_WILDCARDS = {
    "components": [2, 3],
    "point": ["base"],
    "seed": SEEDS,
    "corruption": CORRUPTIONS,
    # Every run is scored only where there are corruptions to score it on.
    "model": list(MODELS) if CORRUPTIONS else [],
}


def every_run(name):
    """Input function: `name` in the folder of every run of every stochastic model."""

    def files(wildcards):
        return [f for m in MODELS for f in run_files(m, name, wildcards.dataset)]

    return files


def benchmark_files(wildcards):
    """Every benchmark file of the dataset, from each rule that declares a benchmark."""
    files = []
    for each in workflow.rules:
        if each.benchmark is None:
            continue
        pattern = strip_wildcard_constraints(str(each.benchmark))
        if "{dataset}" in pattern:
            files += expand(pattern, dataset=wildcards.dataset, **BENCHMARK_WILDCARDS)
    return sorted(set(files))


# The robustness stage (rules/robustness.smk).
def saved_model(wildcards):
    """The saved model file of the job's run (its model and seed, the study's point)."""
    model = wildcards.model
    return f"results/{wildcards.dataset}/{model}/base/seed-{wildcards.seed}/{SAVED[model]}"


def own_spec_of(wildcards):
    """params: the spec of the job's model where it is one of the config's own (its name,
    kind, and whether it gives probabilities; not its label, which scores nothing), else
    nothing: a scoring job knows its own model alone."""
    return [spec | {"label": ""} for spec in OWN_SPECS if spec["name"] == wildcards.model]


def own_scoring_settings(wildcards):
    """params: what scoring a scikit-learn model of the config's own needs of its
    settings (its estimator's import path, own_models.trusted_types); None for the rest."""
    if MODELS[wildcards.model].kind != "sklearn":
        return None
    return {"estimator": MODEL_POINTS[wildcards.model]["base"]["estimator"]}


def scored_runs(wildcards):
    """Every run's scores on the corrupted test sets, one file per saved run."""
    return [
        f"results/{wildcards.dataset}/robustness/scores/{model}/seed-{seed}.parquet"
        for model in MODELS
        for seed in SEEDS
    ]


def corruption_files(name):
    """Input function: `name` of every corruption of the config, in the config's order."""

    def files(wildcards):
        return [f"results/{wildcards.dataset}/robustness/{name}/{c}.parquet" for c in CORRUPTIONS]

    return files


def robustness_targets(dataset):
    """The stage's tables and figures (none without corruptions, but the errors')."""
    tables = f"results/{dataset}/tables"
    errors = [f"{tables}/per_class_accuracy.csv", f"{tables}/hard_images.png"]
    if not CORRUPTIONS:
        return errors
    return [f"{tables}/robustness.csv", f"{tables}/robustness_heatmap.png", *errors]


# The config's own models (rules/own_models.smk).
def own_outputs(name, kind):
    """The files of one run of the config's model `name`."""
    folder = run_dir(name)
    saved = SAVED[name]
    outputs = dict(
        model=f"{folder}/{saved}",
        checksum=f"{folder}/{saved}.sha256",
        metrics=f"{folder}/metrics.json",
        predictions=f"{folder}/predictions.parquet",
        confusion=report(
            f"{folder}/confusion.png",
            caption="../report/own_model_confusion.rst",
            category=CATEGORIES[MODELS[name].category],
            subcategory=f"your models: {name}",
            labels={"figure": "confusion matrix", "seed": "{seed}"},
        ),
    )
    if kind == "keras":
        outputs |= dict(
            history=f"{folder}/history.csv",
            history_figure=report(
                f"{folder}/history.png",
                caption="../report/own_model_history.rst",
                category=CATEGORIES[MODELS[name].category],
                subcategory=f"your models: {name}",
                labels={"figure": "training history", "seed": "{seed}"},
            ),
        )
    return outputs


def own_inputs(name, kind):
    """The data, the script's code, and a Keras model's file (editing it retrains it)."""
    script = "train_own_model.py" if kind == "sklearn" else "keras_train.py"
    inputs = dict(
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=script_imports(script),
    )
    if kind == "keras":
        inputs["own_file"] = OWN_FILES[name]
    return inputs


def own_params(spec):
    """What a run of the config's model `spec` trains with: its settings and seed, never
    another model's."""
    name = spec["name"]
    params = dict(
        dataset=dataset_params,
        model=name,
        settings=settings_for(name),
        seed=seed_of,
        threads=THREADS,
    )
    if spec["kind"] == "sklearn":
        params["probabilities"] = spec["probabilities"]
    else:
        params |= dict(kind="own", backend=config["keras_backend"])
    return exact(**params)


def own_threads(name):
    """The cores the scheduler gives a run of the config's model `name`: its entry's
    `resources: threads`, else `threads` (what it computes with stays `threads`)."""
    return own_models.resources(config["models"][name])["threads"] or THREADS


def own_resources(name):
    """The entry's `resources:` (own_models.resources); a GPU only where it asks for one."""
    wanted = own_models.resources(config["models"][name])
    return {
        "mem_mb": wanted["mem_mb"],
        "runtime": wanted["runtime"],
        **({"gpu": wanted["gpu"]} if wanted["gpu"] else {}),
    }
