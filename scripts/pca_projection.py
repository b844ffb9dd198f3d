"""Rule pca_projection: PCA with 2 or 3 components, variance table and scatter."""

import numpy as np

from mnist_study import data, figures, pca
from mnist_study.datasets import DatasetSpec
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    settings = snakemake.params.settings
    k = int(snakemake.wildcards.components)
    train = data.read_split(snakemake.input.train)
    model = pca.fit_pca(train.X, k, settings["solver"], settings["seed"])
    table = pca.variance_table(model)
    log.info(
        "%d components explain %s (sum %.4f)",
        k,
        np.round(model.explained_variance_ratio_.astype(float), 4).tolist(),
        model.explained_variance_ratio_.sum(),
    )
    write_table(table, snakemake.output.table)

    rng = np.random.default_rng(settings["seed"])
    shown = np.sort(
        rng.choice(len(train), size=min(settings["scatter_points"], len(train)), replace=False)
    )
    Z = model.transform(train.X[shown])
    spec = DatasetSpec.from_params(snakemake.params.dataset)
    title = (
        f"{spec.name}: {len(shown):,} training images on {k} principal components "
        f"({table['cumulative'].iloc[-1]:.1%} of variance)"
    )
    draw = figures.pca_scatter_2d if k == 2 else figures.pca_scatter_3d
    fig = draw(Z, train.y[shown], model.explained_variance_ratio_, spec.classes, title)
    figures.save(fig, snakemake.output.figure)


run_rule(main, globals())
