"""robustness_tables: accuracy under each corruption, mean corruption error, paired
verdicts on robustness, calibration clean and corrupted, and their figures."""

import numpy as np
import pandas as pd

from mnist_study import data, figures, results, robustness, robustness_figures, scoring
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import atomic_path, write_table, write_tables


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    dataset = snakemake.wildcards.dataset
    names = snakemake.params.corruptions
    clean = data.read_runs(snakemake.input.predictions)
    # Every scored run's file holds every corruption of the config (its job's inputs).
    scored = scoring.read_scores(snakemake.input.scores)
    corrupted = {name: scored[name] for name in names}
    for name, runs in corrupted.items():
        for model, by_seed in runs.items():
            for seed, run in by_seed.items():
                reference = clean.get(model, {}).get(seed)
                if reference is not None and not np.array_equal(run["label"], reference["label"]):
                    raise data.PredictionsMismatch(
                        f"{name}: {model} seed {seed} was scored on other labels than its clean run"
                    )
    labels = results.model_labels(pd.read_parquet(snakemake.input.metrics))

    # Each table names its models by code and by label (results.with_labels).
    accuracy = results.with_labels(robustness.accuracy_table(clean, corrupted), labels)
    write_tables(accuracy, [snakemake.output.accuracy, snakemake.output.accuracy_md])
    summary = robustness.corruption_errors(clean, corrupted)
    write_table(results.with_labels(summary, labels), snakemake.output.summary)
    pairs = robustness.robustness_comparison(clean, corrupted)
    write_table(results.with_labels(pairs, labels), snakemake.output.comparison)
    said = robustness.conclusions(summary, pairs)
    log.info("\n".join(said))
    # The front page's paragraph (report/workflow.rst includes it as reStructuredText).
    with atomic_path(snakemake.output.conclusions) as tmp:
        tmp.write_text(" ".join(said) + "\n")

    bins = snakemake.params.bins
    calibration = robustness.calibration_table(
        clean, corrupted, bins, snakemake.params.bootstrap, snakemake.params.seed
    )
    write_table(results.with_labels(calibration, labels), snakemake.output.calibration)

    figures.save(
        robustness_figures.heatmap(
            accuracy, f"{dataset}: test accuracy (%) under each corruption, ± 95% half-width"
        ),
        snakemake.output.heatmap,
    )
    test = data.read_split(snakemake.input.test)
    examples = {"clean": test.X[0]}
    for name, path in zip(names, snakemake.input.corrupted, strict=True):
        examples[name] = data.read_split(path).X[0]
    figures.save(
        robustness_figures.corruption_examples(
            examples, f"{dataset}: test image 0 under each corruption"
        ),
        snakemake.output.examples,
    )
    figures.save(
        robustness_figures.reliability(
            {
                labels.get(model, model): curve
                for model, curve in robustness.reliability_curves(clean, corrupted, bins).items()
            },
            f"{dataset}: reliability, {bins} equal-width bins, every seed",
        ),
        snakemake.output.reliability,
    )
    log.info("mean corruption error\n%s", summary.to_string())
    log.info("calibration\n%s", calibration.to_string(max_colwidth=40))


run_rule(main, globals())
