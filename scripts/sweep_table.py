"""Rule sweep_table: one sweep's runs and their summary per point, a table and a figure."""

from mnist_study import data, figures, result_figures, sweep_results
from mnist_study.models import short_name
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import atomic_path, write_table


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    sweep = snakemake.params.sweep
    dataset = snakemake.wildcards.dataset
    runs, summary = sweep_results.sweep_tables(
        snakemake.input.metrics, sweep, snakemake.params.seeds, dataset
    )
    data.check_predictions_aligned(snakemake.input.predictions)
    summary = sweep_results.mark_best(
        summary, snakemake.input.predictions, len(snakemake.params.seeds)
    )
    for path in snakemake.output.runs:
        write_table(runs, path)
    for path in snakemake.output.summary:
        write_table(summary, path)
    with atomic_path(snakemake.output.markdown) as tmp:
        tmp.write_text(sweep_results.sweep_markdown(runs, summary, sweep))
    for row in summary.itertuples():
        log.info(
            "%s: accuracy %.4f (95%% interval %.4f-%.4f) over %d seeds, fit %.1f s%s",
            row.point,
            row.accuracy_mean,
            row.accuracy_ci_low,
            row.accuracy_ci_high,
            row.seeds,
            row.fit_seconds_mean,
            "; the best" if row.best else "; not told from the best" if row.tied_with_best else "",
        )
    title = (
        f"{dataset}: sweep {sweep['name']}, {short_name(sweep['model'])} over "
        f"{', '.join(sweep['settings'])} "
        f"({len(snakemake.params.seeds)} seed{'s' if len(snakemake.params.seeds) > 1 else ''} "
        "a point)"
    )
    figures.save(
        result_figures.sweep(runs, summary, sweep["settings"], title), snakemake.output.figure
    )


run_rule(main, globals())
