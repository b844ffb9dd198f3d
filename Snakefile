# The MNIST study, from raw IDX files to tables, figures and a report.
#
# results/<dataset>/            one folder per dataset, side by side
#     raw/                      downloaded .gz files (mnist, fashion-mnist)
#     data/                     train.parquet, test.parquet, summary.json, sample_digits.png
#     logs/<rule>.log           every rule's log
#     benchmarks/<rule>.tsv     wall time, CPU time and peak memory of the costly rules
#
# Run `snakemake --cores 8`; see README.md for datasets, settings and reruns.


from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"


rule all:
    default_target: True
    input:
        all_targets(DATASET),
