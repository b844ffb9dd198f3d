rule train_mlp:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=script_imports("keras_train.py"),
    output:
        model=f"{run_dir('mlp')}/model.keras",
        checksum=f"{run_dir('mlp')}/model.keras.sha256",
        history=f"{run_dir('mlp')}/history.csv",
        history_figure=report(
            f"{run_dir('mlp')}/history.png",
            caption="../report/mlp_history.rst",
            category="5. Keras MLP",
            subcategory="runs",
            labels={"figure": "training history", "seed": "{seed}"},
        ),
        confusion=report(
            f"{run_dir('mlp')}/confusion.png",
            caption="../report/mlp_confusion.rst",
            category="5. Keras MLP",
            subcategory="runs",
            labels={"figure": "confusion matrix", "seed": "{seed}"},
        ),
        metrics=f"{run_dir('mlp')}/metrics.json",
        predictions=f"{run_dir('mlp')}/predictions.parquet",
    log:
        log_path("train_mlp", run=True),
    benchmark:
        run_bench("train_mlp")
    # Longest jobs first (MLP, CNN, then the grid search that the final SVM waits
    # for): the shorter jobs then fill the other cores while they run, instead of
    # leaving one of them to run alone at the end.
    priority: 3
    conda:
        "../envs/keras.yaml"
    threads: multicore_threads
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        dataset=dataset_params,
        kind="mlp",
        settings=settings_for("mlp"),
        seed=seed_of,
        backend=config["keras_backend"],
    script:
        "../scripts/keras_train.py"


rule train_cnn:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=script_imports("keras_train.py"),
    output:
        model=f"{run_dir('cnn')}/model.keras",
        checksum=f"{run_dir('cnn')}/model.keras.sha256",
        history=f"{run_dir('cnn')}/history.csv",
        history_figure=report(
            f"{run_dir('cnn')}/history.png",
            caption="../report/cnn_history.rst",
            category="6. Keras CNN",
            subcategory="runs",
            labels={"figure": "training history", "seed": "{seed}"},
        ),
        confusion=report(
            f"{run_dir('cnn')}/confusion.png",
            caption="../report/cnn_confusion.rst",
            category="6. Keras CNN",
            subcategory="runs",
            labels={"figure": "confusion matrix", "seed": "{seed}"},
        ),
        metrics=f"{run_dir('cnn')}/metrics.json",
        predictions=f"{run_dir('cnn')}/predictions.parquet",
        # Drawn here, from the model in memory: a job of its own that only loaded the
        # model and drew would start TensorFlow again for a second's work (10 s a seed).
        feature_maps=report(
            f"{run_dir('cnn')}/feature_maps.png",
            caption="../report/feature_maps.rst",
            category="6. Keras CNN",
            subcategory="runs",
            labels={"figure": "feature maps", "seed": "{seed}"},
        ),
        feature_map_arrays=f"{run_dir('cnn')}/feature_maps.npz",
    log:
        log_path("train_cnn", run=True),
    benchmark:
        run_bench("train_cnn")
    priority: 2  # as train_mlp
    conda:
        "../envs/keras.yaml"
    threads: multicore_threads
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        dataset=dataset_params,
        kind="cnn",
        settings=settings_for("cnn"),
        seed=seed_of,
        backend=config["keras_backend"],
        feature_map_image=config["cnn"]["feature_map_image"],
    script:
        "../scripts/keras_train.py"
