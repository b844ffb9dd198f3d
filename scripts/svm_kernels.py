"""Rule compare_svm_kernels: the kernels fitted on one seed's training subset, scored on test.

Timings go to the metrics file only, so that kernels.csv is the same on every run. The
fitted kernels are saved together (skops, {kernel: SVC}, with their .sha256), for the
robustness stage to score them on corrupted test sets without fitting them again.
"""

import pandas as pd

from mnist_study import data, phases, svm
from mnist_study.metrics import metric_row
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import save_model, write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.threads)
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    phases.begin("read")
    train, test = data.read_train_test(snakemake.input)
    phases.begin("compute")
    chosen = data.stratified_subset(train.y, settings["subset"], seed)
    log.info(
        "seed %d: fitting %s on %d training images, scoring on %d test images",
        seed,
        settings["names"],
        len(chosen),
        len(test),
    )
    rows = svm.compare_kernels(
        settings["names"],
        settings,
        train.X[chosen],
        train.y[chosen],
        test.X,
        test.y,
        n_classes=test.n_classes,
    )
    table = pd.DataFrame(
        [
            {
                "kernel": r["kernel"],
                "C": settings["C"],
                "gamma": str(settings["gamma"]),
                "degree": settings["degree"] if r["kernel"] == "poly" else None,
                "train_size": r["train_size"],
                "test_size": r["test_size"],
                "accuracy": r["accuracy"],
                "macro_auc": r["macro_auc"],
            }
            for r in rows
        ]
    )
    phases.begin("write")
    write_table(table, snakemake.output.table)
    save_model({r["kernel"]: r["model"] for r in rows}, snakemake.output.models)
    svm.save_scoring_arrays(
        {f"svm_{r['kernel']}": r["model"] for r in rows}, snakemake.output.arrays
    )
    confusion = pd.DataFrame(
        [
            {"kernel": r["kernel"], "true": t, "predicted": p, "count": count}
            for r in rows
            for t, line in enumerate(r["confusion"])
            for p, count in enumerate(line)
        ]
    )
    write_table(confusion, snakemake.output.confusion)
    write_json(
        snakemake.output.metrics,
        [
            metric_row(
                "svm",
                f"svm_{r['kernel']}",
                {
                    "kernel": r["kernel"],
                    "C": settings["C"],
                    "gamma": settings["gamma"],
                    **({"degree": settings["degree"]} if r["kernel"] == "poly" else {}),
                },
                seed=seed,
                train_size=r["train_size"],
                test_size=r["test_size"],
                accuracy=r["accuracy"],
                macro_auc=r["macro_auc"],
                auc_classes=r["auc_classes"],
                fit_seconds=r["fit_seconds"],
                predict_seconds=r["predict_seconds"],
            )
            for r in rows
        ],
    )
    data.write_model_predictions(
        snakemake.output.predictions,
        {f"svm_{r['kernel']}": (test.y, r["scores"]) for r in rows},
    )


run_rule(main, globals())
