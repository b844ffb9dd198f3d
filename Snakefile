# The MNIST study, from raw IDX files to tables, figures and a report.
#
# results/<dataset>/            one folder per dataset, side by side
#     raw/                      downloaded .gz files (mnist, fashion-mnist)
#     data/                     train.parquet, test.parquet, summary.json, sample_digits.png
#     pca/                      variance tables, 2-D and 3-D scatters, cumulative curve
#     svm/                      kernels table, decision regions, grid search, final model
#     nn_numpy/                 the from-scratch network: weights, loss, AUCs, ROC curves
#     mlp/, cnn/                the Keras models, histories, confusion matrices, feature maps
#     tables/                   metrics, study comparison, stage costs (CSV, Parquet, Markdown)
#     logs/<rule>.log           every rule's log
#     benchmarks/<rule>.tsv     wall time, CPU time and peak memory of the costly rules
# results/kernel_trick/         the SVM intuition figures on synthetic 2-D data
# results/tables/               metrics of every dataset run, and run_log.csv (one row per run)
# results/report.html           `snakemake --report results/report.html`
#
# Run `snakemake --cores 8`; README.md says what it makes, config/README.md every setting.


from snakemake.exceptions import WorkflowError
from snakemake.sourcecache import LocalGitFile
from snakemake.utils import min_version

min_version("9.0")

# The rules import the workflow's package (scripts/mnist_study) as they are parsed: from
# a local checkout, or from Snakemake's source cache for a module read from GitHub, GitLab
# or a URL. Snakemake caches a gitfile(...) module's files under names ending in @<ref>,
# which Python cannot import.
if isinstance(workflow.current_basedir, LocalGitFile):
    raise WorkflowError(
        "this workflow imports its package (scripts/mnist_study) as it is parsed, which "
        f"Snakemake cannot offer from a gitfile() module ({workflow.current_basedir.get_path_or_uri(True)}): "
        "point the module's snakefile at github(...), gitlab(...) or a local checkout "
        "(README.md)"
    )


configfile: workflow.source_path("config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/pca.smk"
include: "rules/svm.smk"
include: "rules/nn_numpy.smk"
include: "rules/keras.smk"
include: "rules/own_models.smk"
include: "rules/robustness.smk"
include: "rules/results.smk"
include: "rules/sweeps.smk"
include: "rules/record.smk"


rule all:
    default_target: True
    input:
        all_targets(DATASET),
    localrule: True
