rule train_mlp:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=code(
            "data",
            "keras_models",
            "jax_loop",
            "metrics",
            "figures",
            "datasets",
            "storage",
            "runtime",
        ),
    output:
        model="results/{dataset}/mlp/model.keras",
        checksum="results/{dataset}/mlp/model.keras.sha256",
        history="results/{dataset}/mlp/history.csv",
        history_figure=report(
            "results/{dataset}/mlp/history.png",
            caption="../report/mlp_history.rst",
            category="5. Keras MLP",
            labels={"result": "training history", "type": "figure"},
        ),
        confusion=report(
            "results/{dataset}/mlp/confusion.png",
            caption="../report/mlp_confusion.rst",
            category="5. Keras MLP",
            labels={"result": "confusion matrix", "type": "figure"},
        ),
        metrics="results/{dataset}/mlp/metrics.json",
    log:
        log_path("train_mlp"),
    benchmark:
        bench_path("train_mlp")
    # Longest jobs first (MLP, CNN, then the grid search that the final SVM waits
    # for): the shorter jobs then fill the other cores while they run, instead of
    # leaving one of them to run alone at the end.
    priority: 3
    conda:
        "../envs/keras.yaml"
    threads: half_the_cores
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        kind="mlp",
        settings=config["mlp"],
        backend=config["keras_backend"],
    script:
        "../scripts/keras_train.py"


rule train_cnn:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=code(
            "data",
            "keras_models",
            "jax_loop",
            "metrics",
            "figures",
            "datasets",
            "storage",
            "runtime",
        ),
    output:
        model="results/{dataset}/cnn/model.keras",
        checksum="results/{dataset}/cnn/model.keras.sha256",
        history="results/{dataset}/cnn/history.csv",
        history_figure=report(
            "results/{dataset}/cnn/history.png",
            caption="../report/cnn_history.rst",
            category="6. Keras CNN",
            labels={"result": "training history", "type": "figure"},
        ),
        confusion=report(
            "results/{dataset}/cnn/confusion.png",
            caption="../report/cnn_confusion.rst",
            category="6. Keras CNN",
            labels={"result": "confusion matrix", "type": "figure"},
        ),
        metrics="results/{dataset}/cnn/metrics.json",
    log:
        log_path("train_cnn"),
    benchmark:
        bench_path("train_cnn")
    priority: 2  # as train_mlp
    conda:
        "../envs/keras.yaml"
    threads: half_the_cores
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        kind="cnn",
        settings=cnn_training_settings(),
        backend=config["keras_backend"],
    script:
        "../scripts/keras_train.py"


rule cnn_feature_maps:
    input:
        train="results/{dataset}/data/train.parquet",
        model="results/{dataset}/cnn/model.keras",
        checksum="results/{dataset}/cnn/model.keras.sha256",
        code=code("data", "keras_models", "figures", "datasets", "storage", "runtime"),
    output:
        figure=report(
            "results/{dataset}/cnn/feature_maps.png",
            caption="../report/feature_maps.rst",
            category="6. Keras CNN",
            labels={"result": "feature maps", "type": "figure"},
        ),
        arrays="results/{dataset}/cnn/feature_maps.npz",
    log:
        log_path("cnn_feature_maps"),
    benchmark:
        bench_path("cnn_feature_maps")
    conda:
        "../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        image=config["cnn"]["feature_map_image"],
        backend=config["keras_backend"],
    script:
        "../scripts/cnn_feature_maps.py"
