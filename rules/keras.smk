def keras_figure(model, name, figure, caption):
    """One of a Keras run's report figures: `name` in the run's folder."""
    return report(
        f"{run_dir(model)}/{name}",
        caption=f"../report/{caption}.rst",
        category=CATEGORIES[model],
        subcategory="runs",
        labels={"figure": figure, "seed": "{seed}"},
    )


def keras_outputs(model):
    """The files of one Keras run; the CNN's also hold its feature maps.

    The CNN's job draws them from the model in memory: a job of its own that only
    loaded the model and drew would start TensorFlow again for a second's work.
    """
    folder = run_dir(model)
    outputs = dict(
        model=f"{folder}/model.keras",
        checksum=f"{folder}/model.keras.sha256",
        history=f"{folder}/history.csv",
        history_figure=keras_figure(model, "history.png", "training history", f"{model}_history"),
        confusion=keras_figure(model, "confusion.png", "confusion matrix", f"{model}_confusion"),
        metrics=f"{folder}/metrics.json",
        predictions=f"{folder}/predictions.parquet",
    )
    if model == "cnn":
        outputs |= dict(
            feature_maps=keras_figure(model, "feature_maps.png", "feature maps", "feature_maps"),
            feature_map_arrays=f"{folder}/feature_maps.npz",
        )
    return outputs


def keras_params(model):
    """What a Keras run trains with; the CNN also names the image whose maps it draws."""
    params = dict(
        dataset=dataset_params,
        kind=model,
        settings=settings_for(model),
        seed=seed_of,
        backend=config["keras_backend"],
        threads=THREADS,
    )
    if model == "cnn":
        params["feature_map_image"] = config["cnn"]["feature_map_image"]
    return exact(**params)


# One rule definition for every Keras model (train_mlp, train_cnn).
for keras_model in KERAS:

    rule:
        name:
            f"train_{keras_model}"
        input:
            train="results/{dataset}/data/train.parquet",
            test="results/{dataset}/data/test.parquet",
            code=script_imports("keras_train.py"),
        output:
            **keras_outputs(keras_model),
        log:
            log_path(f"train_{keras_model}", run=True),
        benchmark:
            run_bench(f"train_{keras_model}")
        # Longest jobs first (MLP, CNN, then the grid search that the final SVM waits
        # for): the shorter jobs then fill the other cores while they run, instead of
        # leaving one of them to run alone at the end.
        priority: 3 if keras_model == "mlp" else 2
        conda:
            "../envs/keras.yaml"
        threads: THREADS
        resources:
            mem_mb=4000,
            runtime=60,
            gpu=1,
        params:
            **keras_params(keras_model),
        script:
            "../scripts/keras_train.py"
