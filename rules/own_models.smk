# The config's own models (`models:`, config/README.md): one training rule each,
# train_<name>, run once per seed of repeats.seeds into results/<dataset>/<name>/<point>/
# seed-<n>/ like the study's models. A scikit-learn model trains in
# scripts/train_own_model.py, a Keras model in scripts/keras_train.py as the MLP and the
# CNN do. A rule's params hold its own model's settings only, and a Keras model's file
# is an input of its rule alone: changing one model retrains that model, and the tables.


for own_spec in OWN_SPECS:

    rule:
        name:
            f"train_{own_spec['name']}"
        input:
            **own_inputs(own_spec["name"], own_spec["kind"]),
        output:
            **own_outputs(own_spec["name"], own_spec["kind"]),
        log:
            log_path(f"train_{own_spec['name']}", run=True),
        benchmark:
            run_bench(f"train_{own_spec['name']}")
        priority: 2 if own_spec["kind"] == "keras" else 0
        conda:
            "../envs/keras.yaml" if own_spec["kind"] == "keras" else "../envs/sklearn.yaml"
        threads: own_models.resources(config["models"][own_spec["name"]])["threads"] or THREADS
        resources:
            **own_resources(own_spec["name"]),
        params:
            **own_params(own_spec),
        script:
            "../scripts/train_own_model.py"
            if own_spec["kind"] == "sklearn"
            else "../scripts/keras_train.py"
