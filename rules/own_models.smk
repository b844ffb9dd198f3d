# The config's own models (`models:`, config/README.md): one training rule each,
# train_<name>, run once per seed of repeats.seeds into results/<dataset>/<name>/<point>/
# seed-<n>/ like the study's models. A scikit-learn model trains in
# scripts/train_own_model.py, a Keras model in scripts/keras_train.py as the MLP and the
# CNN do. A rule's params hold its own model's settings only, and a Keras model's file
# is an input of its rule alone: changing one model retrains that model, and the tables.


# One loop per kind: a rule's `script:` is read when its job runs, so it names its script
# as a plain string, never through the loop's variable.
for own_spec in [spec for spec in OWN_SPECS if spec["kind"] == "sklearn"]:

    rule:
        name:
            f"train_{own_spec['name']}"
        input:
            **own_inputs(own_spec["name"], "sklearn"),
        output:
            **own_outputs(own_spec["name"], "sklearn"),
        log:
            log_path(f"train_{own_spec['name']}", run=True),
        benchmark:
            run_bench(f"train_{own_spec['name']}")
        conda:
            "../envs/sklearn.yaml"
        threads: own_threads(own_spec["name"])
        resources:
            **own_resources(own_spec["name"]),
        params:
            **own_params(own_spec),
        script:
            "../scripts/train_own_model.py"


for own_spec in [spec for spec in OWN_SPECS if spec["kind"] == "keras"]:

    rule:
        name:
            f"train_{own_spec['name']}"
        input:
            **own_inputs(own_spec["name"], "keras"),
        output:
            **own_outputs(own_spec["name"], "keras"),
        log:
            log_path(f"train_{own_spec['name']}", run=True),
        benchmark:
            run_bench(f"train_{own_spec['name']}")
        priority: 2  # long jobs first, as the MLP's and the CNN's (rules/keras.smk)
        conda:
            "../envs/keras.yaml"
        threads: own_threads(own_spec["name"])
        resources:
            **own_resources(own_spec["name"]),
        params:
            **own_params(own_spec),
        script:
            "../scripts/keras_train.py"
