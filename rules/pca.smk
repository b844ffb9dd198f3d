rule pca_projection:
    input:
        train="results/{dataset}/data/train.parquet",
        code=code("data", "pca", "figures", "datasets", "storage", "runtime"),
    output:
        table="results/{dataset}/pca/pca{components}_variance.csv",
        figure="results/{dataset}/pca/pca{components}_scatter.png",
    log:
        "results/{dataset}/logs/pca_projection_{components}.log",
    benchmark:
        "results/{dataset}/benchmarks/pca_projection_{components}.tsv"
    conda:
        "../envs/sklearn.yaml"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        settings=config["pca"],
    script:
        "../scripts/pca_projection.py"


rule pca_variance:
    input:
        train="results/{dataset}/data/train.parquet",
        code=code("data", "pca", "figures", "storage", "runtime"),
    output:
        variance_csv="results/{dataset}/pca/explained_variance.csv",
        variance_parquet="results/{dataset}/pca/explained_variance.parquet",
        levels="results/{dataset}/pca/components_for_variance.csv",
        timing="results/{dataset}/pca/timing.json",
        figure="results/{dataset}/pca/cumulative_variance.png",
        figure_svg="results/{dataset}/pca/cumulative_variance.svg",
    log:
        log_path("pca_variance"),
    benchmark:
        bench_path("pca_variance")
    conda:
        "../envs/sklearn.yaml"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        settings=config["pca"],
    script:
        "../scripts/pca_variance.py"
