import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

PACKAGE = Path(workflow.basedir) / "scripts" / "mnist_study"
sys.path.insert(0, str(PACKAGE.parent))
from mnist_study.config import ConfigError, check_config  # noqa: E402

# One readable line per problem first; then snakemake's validate fills in defaults.
try:
    check_config(config, workflow.source_path("schemas/config.schema.yaml"))
except ConfigError as err:
    raise WorkflowError(str(err)) from None
validate(config, schema="schemas/config.schema.yaml", set_default=True)

DATASET = config["dataset"]
DATASET_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
BUNDLED = PACKAGE / "bundled"


wildcard_constraints:
    dataset="|".join(["mnist-sample", "mnist", "fashion-mnist"]),
    file="|".join(f.replace(".", r"\.") for f in DATASET_FILES),
    components="2|3",


def code(*modules):
    """The package modules a rule's script imports: editing one reruns the rule."""
    return [str(PACKAGE / f"{m}.py") for m in ("__init__", *modules)]


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
        return [str(BUNDLED / wildcards.dataset / f) for f in DATASET_FILES]
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
    ]


def cnn_training_settings():
    """The CNN's settings minus the feature-map image, which only the drawing uses."""
    return {k: v for k, v in config["cnn"].items() if k != "feature_map_image"}
