"""errors_tables: the errors themselves on the clean test set: per-class accuracy, the most
confused pairs, the images most models get wrong in most seeds, and the labels confident
learning finds suspect, each of the last two with its gallery."""

import pandas as pd

from mnist_study import data, failures, figures, label_issues, results, robustness_figures
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import write_table, write_tables


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    dataset = snakemake.wildcards.dataset
    classes = list(DatasetSpec.from_params(snakemake.params.dataset).classes)
    runs = data.read_runs(snakemake.input.predictions)
    # Each model the tables name, by code and by label (results.with_labels).
    labels = results.model_labels(pd.read_parquet(snakemake.input.metrics))
    per_class = results.with_labels(failures.per_class_accuracy(runs, classes), labels)
    write_table(per_class, snakemake.output.per_class)
    write_table(per_class, snakemake.output.per_class_md)
    confused = results.with_labels(failures.confused_pairs(runs, classes), labels)
    write_table(confused, snakemake.output.confused)
    hard = failures.hard_images(runs, classes, snakemake.params.hard_images)
    write_table(hard, snakemake.output.hard)
    test = data.read_split(snakemake.input.test)
    voters = len(failures.voters(failures.usable(runs)))
    captions = [
        f"#{r.image}: {r.label} -> {r.majority_answer}\n{r.models_wrong} models"
        for r in hard.itertuples()
    ]
    fig = robustness_figures.gallery(
        test.X[hard["image"].to_numpy(dtype=int)],
        captions,
        f"{dataset}: test images most of the {voters} models (kernel SVMs as one) get "
        "wrong in most seeds (label -> majority answer)",
    )
    figures.save(fig, snakemake.output.gallery)
    log.info("most confused pairs\n%s", confused.to_string())
    log.info("%d images most models get wrong\n%s", len(hard), hard.to_string())

    issues = label_issues.label_issues(runs, classes, snakemake.params.label_issues)
    write_tables(issues, [snakemake.output.label_issues, snakemake.output.label_issues_md])
    averaged = issues["averaged_over"].iloc[0] if len(issues) else "no network's run"
    found = issues["rank"].iloc[0].split("/")[1] if len(issues) else "0"
    fig = robustness_figures.gallery(
        test.X[issues["image"].to_numpy(dtype=int)],
        label_issues.gallery_captions(issues),
        f"{dataset}: label-issue candidates, {len(issues)} of {found} (label -> suggested); "
        f"probabilities of {averaged}",
        empty="no label-issue candidate",
    )
    figures.save(fig, snakemake.output.label_issues_gallery)
    log.info(
        "%s label-issue candidates (probabilities of %s)\n%s", found, averaged, issues.to_string()
    )


run_rule(main, globals())
