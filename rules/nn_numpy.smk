rule train_nn_numpy:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=code("data", "nn_numpy", "metrics", "figures", "datasets", "storage", "runtime"),
    output:
        weights="results/{dataset}/nn_numpy/weights.npz",
        checksum="results/{dataset}/nn_numpy/weights.npz.sha256",
        history="results/{dataset}/nn_numpy/history.csv",
        auc="results/{dataset}/nn_numpy/auc.csv",
        metrics="results/{dataset}/nn_numpy/metrics.json",
        roc=report(
            "results/{dataset}/nn_numpy/roc_curves.png",
            caption="../report/nn_roc.rst",
            category="4. Numpy network",
            labels={"result": "ROC curves", "type": "figure"},
        ),
    log:
        log_path("train_nn_numpy"),
    benchmark:
        bench_path("train_nn_numpy")
    conda:
        "../envs/sklearn.yaml"
    threads: half_the_cores
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        settings=config["nn_numpy"],
    script:
        "../scripts/nn_numpy_train.py"
