"""Rule plot_sample_digits: a grid of random training digits with their labels."""

from mnist_study import data, figures
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import run_rule, seed_everything, setup_logging


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    settings = snakemake.params.samples
    train = data.read_split(snakemake.input.train)
    rng = seed_everything(settings["seed"])
    chosen = rng.choice(len(train), size=min(settings["count"], len(train)), replace=False)
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    fig = figures.sample_digits(
        train.X[chosen],
        train.y[chosen],
        spec.classes,
        title=f"{spec.name}: {len(chosen)} random training images",
    )
    figures.save(fig, snakemake.output.figure)
    log.info("drew %d random training images (seed %d)", len(chosen), settings["seed"])


run_rule(main, globals())
