import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

PACKAGE = Path(workflow.basedir) / "scripts" / "mnist_study"
sys.path.insert(0, str(PACKAGE.parent))
from mnist_study.config import ConfigError, check_config  # noqa: E402
from mnist_study.datasets import DATASETS as DATASET_SPECS  # noqa: E402
from mnist_study.runtime import half_the_cores as threads_for  # noqa: E402

# One readable line per problem first; then snakemake's validate fills in defaults.
try:
    check_config(config, workflow.source_path("schemas/config.schema.yaml"))
except ConfigError as err:
    raise WorkflowError(str(err)) from None
validate(config, schema="schemas/config.schema.yaml", set_default=True)

DATASET = config["dataset"]
# Most threads a rule asks for (grid search, numpy network, Keras); on a cluster,
# set-threads in the profile sets them.
MAX_THREADS = 8


DATASET_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
BUNDLED = PACKAGE / "bundled"


DATASETS = list(DATASET_SPECS)


wildcard_constraints:
    dataset="|".join(DATASETS),
    file="|".join(f.replace(".", r"\.") for f in DATASET_FILES),
    components="2|3",


def code(*modules):
    """The package modules a rule's script imports: editing one reruns the rule.

    Relative to the working directory, so a copied or moved run keeps its history.
    """
    return [os.path.relpath(PACKAGE / f"{m}.py") for m in ("__init__", *modules)]


def half_the_cores(wildcards):
    """Threads of each multi-core job: half of --cores, from 1 to MAX_THREADS."""
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores: a cluster executor or a dry run
        return MAX_THREADS
    return threads_for(cores, MAX_THREADS)


def log_path(rule_name):
    return f"results/{{dataset}}/logs/{rule_name}.log"


def bench_path(rule_name):
    return f"results/{{dataset}}/benchmarks/{rule_name}.tsv"


def raw_files(wildcards):
    """Where the four IDX files of a dataset come from."""
    if config["dataset_dir"] and wildcards.dataset == DATASET:
        directory = Path(config["dataset_dir"]).expanduser()
        return [str(directory / f) for f in DATASET_FILES]
    if wildcards.dataset == "mnist-sample":
        return [os.path.relpath(BUNDLED / wildcards.dataset / f) for f in DATASET_FILES]
    return [f"results/{wildcards.dataset}/raw/{f}" for f in DATASET_FILES]


def all_targets(dataset):
    data = f"results/{dataset}/data"
    pca = f"results/{dataset}/pca"
    svm = f"results/{dataset}/svm"
    return [
        f"{data}/train.parquet",
        f"{data}/test.parquet",
        f"{data}/sample_digits.png",
        *(f"{pca}/pca{k}_scatter.png" for k in (2, 3)),
        f"{pca}/cumulative_variance.png",
        f"{svm}/kernels.csv",
        f"{svm}/decision_boundaries.png",
        f"{svm}/grid_heatmap.png",
        f"{svm}/final_metrics.json",
        "results/kernel_trick/lift.png",
        f"results/{dataset}/nn_numpy/roc_curves.png",
        f"results/{dataset}/mlp/metrics.json",
        f"results/{dataset}/cnn/metrics.json",
        f"results/{dataset}/cnn/feature_maps.png",
        f"results/{dataset}/tables/study_comparison.csv",
        f"results/{dataset}/tables/stage_costs.csv",
        "results/tables/metrics_by_dataset.csv",
    ]


# Jobs whose benchmark files feed the stage-costs table.
BENCHMARKED = [
    "prepare_data",
    "pca_projection_2",
    "pca_projection_3",
    "pca_variance",
    "compare_svm_kernels",
    "plot_svm_boundaries",
    "svm_grid_search",
    "train_final_svm",
    "score_final_svm",
    "train_nn_numpy",
    "train_mlp",
    "train_cnn",
]


def model_metric_files(wildcards):
    d = f"results/{wildcards.dataset}"
    return [
        f"{d}/svm/kernels_metrics.json",
        f"{d}/svm/final_metrics.json",
        f"{d}/nn_numpy/metrics.json",
        f"{d}/mlp/metrics.json",
        f"{d}/cnn/metrics.json",
    ]


def benchmark_files(wildcards):
    return [f"results/{wildcards.dataset}/benchmarks/{job}.tsv" for job in BENCHMARKED]


def cnn_training_settings():
    """The CNN's settings minus the feature-map image, which only the drawing uses."""
    return {k: v for k, v in config["cnn"].items() if k != "feature_map_image"}
