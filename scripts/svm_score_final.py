"""Rule score_final_svm: load the final SVM (checksum first), score it on the test set."""

from mnist_study import data, figures, svm
from mnist_study.datasets import DatasetSpec
from mnist_study.metrics import metric_row
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import load_model, read_json, write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    info = read_json(snakemake.input.info)
    model = load_model(snakemake.input.model)
    test = data.read_split(snakemake.input.test)
    test.warn_absent_classes()
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    result = svm.score_on_test(model, test.X, test.y, spec.n_classes)
    predict_seconds = result.pop("predict_seconds")
    result.pop("test_size")
    data.write_predictions(snakemake.output.predictions, "svm_final", test.y, result.pop("scores"))
    log.info(
        "final SVM, seed %d: test accuracy %.4f, macro AUC %.4f",
        info["seed"],
        result["accuracy"],
        result["macro_auc"],
    )
    settings = {
        "kernel": "rbf",
        "C": info["C"],
        "gamma": info["gamma"],
        "pca_components": info["pca_components"],
    }
    write_json(
        snakemake.output.metrics,
        [
            metric_row(
                "svm",
                "svm_final",
                settings,
                seed=info["seed"],
                train_size=info["train_size"],
                test_size=len(test),
                accuracy=result["accuracy"],
                macro_auc=result["macro_auc"],
                auc_classes=result["auc_classes"],
                fit_seconds=info["fit_seconds"],
                predict_seconds=predict_seconds,
            )
        ],
    )
    write_json(snakemake.output.scores, {**settings, **result})
    fig = figures.confusion(
        result["confusion"],
        spec.classes,
        f"final RBF SVM (C={info['C']:g}, gamma={info['gamma']:g}, "
        f"{info['train_size']:,} training images, seed {info['seed']}): "
        f"accuracy {result['accuracy']:.4f}",
    )
    figures.save(fig, snakemake.output.figure)


run_rule(main, globals())
