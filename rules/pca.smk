rule pca_projection:
    input:
        train="results/{dataset}/data/train.parquet",
        code=script_imports("pca_projection.py"),
    output:
        table="results/{dataset}/pca/pca{components}_variance.csv",
        figure=report(
            "results/{dataset}/pca/pca{components}_scatter.png",
            caption="../report/pca_scatter.rst",
            category=CATEGORIES["pca"],
            labels={"result": "{components}-component scatter", "type": "figure"},
        ),
    log:
        log_path("pca_projection_{components}"),
    benchmark:
        "results/{dataset}/benchmarks/pca_projection_{components}.tsv"
    conda:
        "../envs/sklearn.yaml"
    # The PCA solve takes well under a second even on 70,000 images; the figures take
    # the rest. The default one thread lets a local run place another job beside it.
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        **exact(
            dataset=dataset_params,
            settings=canonical(config["pca"]),
            threads=THREADS,
        ),
    script:
        "../scripts/pca_projection.py"


rule pca_variance:
    input:
        train="results/{dataset}/data/train.parquet",
        code=script_imports("pca_variance.py"),
    output:
        variance_csv="results/{dataset}/pca/explained_variance.csv",
        variance_parquet="results/{dataset}/pca/explained_variance.parquet",
        levels=report(
            "results/{dataset}/pca/components_for_variance.csv",
            caption="../report/pca_levels.rst",
            category=CATEGORIES["pca"],
            labels={"result": "components per variance level", "type": "table"},
        ),
        timing="results/{dataset}/pca/timing.json",
        figure=report(
            "results/{dataset}/pca/cumulative_variance.png",
            caption="../report/pca_cumulative.rst",
            category=CATEGORIES["pca"],
            labels={"result": "cumulative explained variance", "type": "figure"},
        ),
        figure_svg="results/{dataset}/pca/cumulative_variance.svg",
    log:
        log_path("pca_variance"),
    benchmark:
        bench_path("pca_variance")
    conda:
        "../envs/sklearn.yaml"
    threads: THREADS  # as pca_projection
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        **exact(
            settings=canonical(config["pca"]),
            threads=THREADS,
        ),
    script:
        "../scripts/pca_variance.py"
