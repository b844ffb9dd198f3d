"""Rules train_<name> of the config's scikit-learn models (`models:`, kind sklearn): one
seed's run, trained on its subset, saved with skops and scored on the test set."""

from mnist_study import data, figures, own_models, phases
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import save_model, write_json


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    name = snakemake.params.model
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    probabilities = snakemake.params.probabilities
    phases.begin("read")
    train, test = data.read_train_test(snakemake.input)
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    phases.begin("compute")
    run = own_models.fit_sklearn(
        settings, seed, train.X, train.y, test.X, spec.n_classes, probabilities
    )
    scores, row = own_models.score_run(
        name,
        settings,
        test.y,
        run["scores"],
        probabilities,
        seed=seed,
        train_size=run["train_size"],
        fit_seconds=run["fit_seconds"],
        predict_seconds=run["predict_seconds"],
    )
    log.info(
        "%s, seed %d: test accuracy %.4f, macro AUC %.4f (%s)",
        name,
        seed,
        scores["accuracy"],
        scores["macro_auc"],
        "probabilities" if probabilities else "decision values",
    )
    phases.begin("write")
    save_model(run["model"], snakemake.output.model)
    write_json(snakemake.output.metrics, [row])
    data.write_predictions(snakemake.output.predictions, name, test.y, run["scores"])
    figures.save(
        figures.confusion(
            scores["confusion"],
            spec.classes,
            f"{name}, seed {seed}: test accuracy {scores['accuracy']:.4f}",
        ),
        snakemake.output.confusion,
    )


run_rule(main, globals())
