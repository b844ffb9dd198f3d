"""Rule pca_variance: all components, the cumulative curve and the levels it reaches."""

import time

from mnist_study import data, figures, pca
from mnist_study.runtime import limit_threads, run_rule, setup_logging
from mnist_study.storage import write_json, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    limit_threads(snakemake.params.threads)
    settings = snakemake.params.settings
    train = data.read_split(snakemake.input.train)
    start = time.perf_counter()
    model = pca.fit_pca(train.X, None, settings["solver"], settings["seed"])
    seconds = time.perf_counter() - start
    log.info(
        "PCA with all %d components (%s): %.2f s", model.n_components_, settings["solver"], seconds
    )
    table = pca.variance_table(model)
    levels = pca.components_for_levels(table["cumulative"], settings["variance_levels"])
    for row in levels.itertuples():
        log.info("%.0f%% of variance: %s components", 100 * row.variance_level, row.components)
    write_table(table, snakemake.output.variance_csv)
    write_table(table, snakemake.output.variance_parquet)
    write_table(levels, snakemake.output.levels)
    write_json(
        snakemake.output.timing,
        {"solver": settings["solver"], "fit_seconds": seconds, "train_size": len(train)},
    )
    fig = figures.cumulative_variance(
        table["cumulative"].to_numpy(),
        [(r.variance_level, r.components) for r in levels.itertuples()],
        f"{snakemake.wildcards.dataset}: cumulative explained variance of {len(table)} components",
    )
    figures.save(fig, snakemake.output.figure, snakemake.output.figure_svg)


run_rule(main, globals())
