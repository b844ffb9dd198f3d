rule sweep_table:
    input:
        metrics=sweep_runs("metrics.json"),
        predictions=sweep_runs("predictions.parquet"),
        code=script_imports("sweep_table.py"),
    output:
        runs=multiext("results/{dataset}/sweeps/{sweep}", ".csv", ".parquet"),
        summary=multiext("results/{dataset}/sweeps/{sweep}_summary", ".csv", ".parquet"),
        markdown="results/{dataset}/sweeps/{sweep}.md",
        figure=report(
            "results/{dataset}/sweeps/{sweep}.png",
            caption="../report/sweep.rst",
            category=CATEGORIES["sweeps"],
            labels={"sweep": "{sweep}"},
        ),
    log:
        log_path("sweep_table", "{sweep}"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            sweep=sweep_params,
            seeds=SEEDS,
            own_models=OWN_SPECS,
        ),
    script:
        "../scripts/sweep_table.py"


rule collect_sweeps:
    input:
        # This run's sweeps only; the other datasets' tables are read as they are.
        tables=expand(
            "results/{dataset}/sweeps/{sweep}_summary.parquet", dataset=DATASET, sweep=SWEEPS
        ),
        code=script_imports("collect_sweeps.py"),
    output:
        "results/tables/sweeps_by_dataset.csv",
        "results/tables/sweeps_by_dataset.md",
    log:
        log_path("collect_sweeps", across_datasets=True),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            tables="results/*/sweeps/*_summary.parquet",
        ),
    script:
        "../scripts/collect_sweeps.py"
