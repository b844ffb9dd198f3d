"""errors_tables: the errors themselves on the clean test set: per-class accuracy, the most
confused pairs, and the images most models get wrong in most seeds, with their gallery."""

import pandas as pd

from mnist_study import data, failures, figures, results, robustness_figures
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    dataset = snakemake.wildcards.dataset
    classes = list(DatasetSpec.from_params(snakemake.params.dataset).classes)
    runs = data.read_runs(snakemake.input.predictions)
    labels = results.model_labels(pd.read_parquet(snakemake.input.metrics))
    per_class = failures.per_class_accuracy(runs, classes)
    write_table(per_class, snakemake.output.per_class)
    write_table(per_class, snakemake.output.per_class_md)
    confused = failures.confused_pairs(runs, classes)
    write_table(confused, snakemake.output.confused)
    hard = failures.hard_images(runs, classes, snakemake.params.hard_images)
    write_table(hard, snakemake.output.hard)
    test = data.read_split(snakemake.input.test)
    captions = [
        f"#{r.image}: {r.label} -> {r.majority_answer}\n{r.models_wrong} models"
        for r in hard.itertuples()
    ]
    fig = robustness_figures.gallery(
        test.X[hard["image"].to_numpy(dtype=int)],
        captions,
        f"{dataset}: test images most of the {len(labels)} models get wrong in most seeds "
        "(label -> majority answer)",
    )
    figures.save(fig, snakemake.output.gallery)
    log.info("most confused pairs\n%s", confused.to_string())
    log.info("%d images most models get wrong\n%s", len(hard), hard.to_string())


run_rule(main, globals())
