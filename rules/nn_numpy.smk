rule train_nn_numpy:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=script_imports("nn_numpy_train.py"),
    output:
        weights=f"{run_dir('nn_numpy')}/weights.npz",
        checksum=f"{run_dir('nn_numpy')}/weights.npz.sha256",
        history=f"{run_dir('nn_numpy')}/history.csv",
        auc=f"{run_dir('nn_numpy')}/auc.csv",
        metrics=f"{run_dir('nn_numpy')}/metrics.json",
        predictions=f"{run_dir('nn_numpy')}/predictions.parquet",
        roc=report(
            f"{run_dir('nn_numpy')}/roc_curves.png",
            caption="../report/nn_roc.rst",
            category=CATEGORIES["nn_numpy"],
            subcategory="runs",
            labels={"figure": "ROC curves", "seed": "{seed}"},
        ),
    log:
        log_path("train_nn_numpy", run=True),
    benchmark:
        run_bench("train_nn_numpy")
    conda:
        "../envs/sklearn.yaml"
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        **exact(
            dataset=dataset_params,
            settings=settings_for("nn_numpy"),
            seed=seed_of,
            threads=THREADS,
        ),
    script:
        "../scripts/nn_numpy_train.py"
