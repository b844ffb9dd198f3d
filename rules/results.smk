rule metrics_table:
    input:
        metrics=every_run("metrics.json"),
        code=script_imports("metrics_table.py"),
    output:
        report(
            "results/{dataset}/tables/metrics.csv",
            caption="../report/metrics.rst",
            category=CATEGORIES["results"],
            labels={"table": "metrics of every run"},
        ),
        "results/{dataset}/tables/metrics.parquet",
        "results/{dataset}/tables/metrics.md",
    log:
        log_path("metrics_table"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/metrics_table.py"


rule metrics_summary:
    input:
        metrics="results/{dataset}/tables/metrics.parquet",
        predictions=every_run("predictions.parquet"),
        code=script_imports("metrics_summary.py"),
    output:
        tables=multiext("results/{dataset}/tables/metrics_summary", ".csv", ".parquet", ".md"),
        figure=report(
            "results/{dataset}/tables/accuracy_over_seeds.png",
            caption="../report/accuracy_over_seeds.rst",
            category=CATEGORIES["results"],
            labels={"table": "accuracy over seeds (figure)"},
        ),
    log:
        log_path("metrics_summary"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(own_models=OWN_SPECS),
    script:
        "../scripts/metrics_summary.py"


rule model_comparison:
    input:
        predictions=every_run("predictions.parquet"),
        metrics="results/{dataset}/tables/metrics.parquet",
        code=script_imports("model_comparison.py"),
    output:
        tables=multiext("results/{dataset}/tables/model_comparison", ".csv", ".md"),
        by_seed="results/{dataset}/tables/model_comparison_by_seed.csv",
        figure=report(
            "results/{dataset}/tables/paired_differences.png",
            caption="../report/paired_differences.rst",
            category=CATEGORIES["results"],
            labels={"table": "paired differences (figure)"},
        ),
    log:
        log_path("model_comparison"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **exact(own_models=OWN_SPECS),
    script:
        "../scripts/model_comparison.py"


rule headline:
    input:
        summary="results/{dataset}/tables/metrics_summary.parquet",
        comparison="results/{dataset}/tables/model_comparison.csv",
        metrics="results/{dataset}/tables/metrics.parquet",
        code=script_imports("headline.py"),
    output:
        table="results/{dataset}/tables/headline.csv",
        conclusions="results/{dataset}/tables/conclusions.csv",
    log:
        log_path("headline"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(own_models=OWN_SPECS),
    script:
        "../scripts/headline.py"


rule study_comparison:
    input:
        pca_variance="results/{dataset}/pca/explained_variance.parquet",
        levels="results/{dataset}/pca/components_for_variance.csv",
        grid_best="results/{dataset}/svm/grid_best.json",
        summary="results/{dataset}/tables/metrics_summary.parquet",
        code=script_imports("study_comparison.py"),
    output:
        report(
            "results/{dataset}/tables/study_comparison.csv",
            caption="../report/study_comparison.rst",
            category=CATEGORIES["results"],
            labels={"table": "comparison with the study"},
        ),
        "results/{dataset}/tables/study_comparison.md",
    log:
        log_path("study_comparison"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/study_comparison.py"


rule stage_costs:
    input:
        benchmarks=benchmark_files,
        code=script_imports("stage_costs.py"),
    output:
        report(
            "results/{dataset}/tables/stage_costs.csv",
            caption="../report/stage_costs.rst",
            category=CATEGORIES["results"],
            labels={"table": "cost of every stage"},
        ),
        "results/{dataset}/tables/stage_costs.md",
    log:
        log_path("stage_costs"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/stage_costs.py"


rule collect_datasets:
    input:
        # Only this run's dataset: the script reads the tables of the other datasets
        # as they are, so running one dataset never reruns another.
        table=f"results/{DATASET}/tables/metrics_summary.parquet",
        code=script_imports("collect_runs.py"),
    output:
        "results/tables/metrics_by_dataset.csv",
        "results/tables/metrics_by_dataset.md",
    log:
        log_path("collect_datasets", across_datasets=True),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            run_log="results/tables/run_log.csv",
            tables="results/*/tables/metrics_summary.parquet",
        ),
    script:
        "../scripts/collect_runs.py"
