rule download_dataset:
    input:
        code=script_imports("download_dataset.py"),
    output:
        "results/{dataset}/raw/{file}",
    log:
        log_path("download_dataset", "{file}"),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        **exact(
            dataset=dataset_params,
            download=canonical(config["data"]["download"]),
        ),
    script:
        "../scripts/download_dataset.py"


rule prepare_data:
    input:
        raw=raw_files,
        code=script_imports("prepare_data.py"),
    output:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        summary="results/{dataset}/data/summary.json",
    log:
        log_path("prepare_data"),
    benchmark:
        bench_path("prepare_data")
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **exact(
            dataset=dataset_params,
        ),
    script:
        "../scripts/prepare_data.py"


rule plot_sample_digits:
    input:
        train="results/{dataset}/data/train.parquet",
        code=script_imports("plot_sample_digits.py"),
    output:
        figure=report(
            "results/{dataset}/data/sample_digits.png",
            caption="../report/sample_digits.rst",
            category=CATEGORIES["data"],
            labels={"result": "sample digits", "type": "figure"},
        ),
    log:
        log_path("plot_sample_digits"),
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            dataset=dataset_params,
            samples=canonical(config["data"]["samples"]),
        ),
    script:
        "../scripts/plot_sample_digits.py"
