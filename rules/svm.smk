rule compare_svm_kernels:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        code=script_imports("svm_kernels.py"),
    output:
        table=report(
            f"{run_dir('svm_kernels')}/kernels.csv",
            caption="../report/svm_kernels.rst",
            category=CATEGORIES["svm"],
            subcategory="kernels on the test set",
            labels={"table": "accuracy and AUC per kernel", "seed": "{seed}"},
        ),
        confusion=f"{run_dir('svm_kernels')}/confusion.csv",
        metrics=f"{run_dir('svm_kernels')}/metrics.json",
        predictions=f"{run_dir('svm_kernels')}/predictions.parquet",
        models=f"{run_dir('svm_kernels')}/models.skops",
        models_checksum=f"{run_dir('svm_kernels')}/models.skops.sha256",
        # What scoring needs of the four SVMs as plain arrays (svm.scoring_arrays).
        arrays=f"{run_dir('svm_kernels')}/models.npz",
        arrays_checksum=f"{run_dir('svm_kernels')}/models.npz.sha256",
    log:
        log_path("compare_svm_kernels", run=True),
    benchmark:
        run_bench("compare_svm_kernels")
    conda:
        "../envs/sklearn.yaml"
    # One thread, whatever the config's `threads` and --cores: libsvm fits and scores
    # in its own single-threaded loops, so more threads would only hold cores idle.
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        **exact(
            settings=settings_for("svm_kernels"),
            seed=seed_of,
        ),
    script:
        "../scripts/svm_kernels.py"


rule plot_svm_boundaries:
    input:
        train="results/{dataset}/data/train.parquet",
        code=script_imports("svm_boundaries.py"),
    output:
        figure=report(
            "results/{dataset}/svm/decision_boundaries.png",
            caption="../report/svm_boundaries.rst",
            category=CATEGORIES["svm"],
            subcategory="grid search and figures",
            labels={"result": "decision regions on 2 components", "type": "figure"},
        ),
    log:
        log_path("plot_svm_boundaries"),
    benchmark:
        bench_path("plot_svm_boundaries")
    conda:
        "../envs/sklearn.yaml"
    threads: THREADS
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **exact(
            dataset=dataset_params,
            kernels=canonical(config["svm"]["kernels"]),
            settings=canonical(config["svm"]["boundaries"]),
            seed=config["svm"]["boundaries"]["seed"],
            threads=THREADS,
        ),
    script:
        "../scripts/svm_boundaries.py"


rule svm_grid_search:
    input:
        train="results/{dataset}/data/train.parquet",
        code=script_imports("svm_grid_search.py"),
    output:
        table="results/{dataset}/svm/grid/seed-{seed}.csv",
    log:
        log_path("svm_grid_search", "base", "seed-{seed}"),
    benchmark:
        "results/{dataset}/benchmarks/svm_grid_search/base/seed-{seed}.tsv"
    priority: 1  # longest jobs first, see the Keras rules in rules/keras.smk
    conda:
        "../envs/sklearn.yaml"
    threads: grid_search_threads
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        **exact(
            settings=canonical(config["svm"]["grid"]),
            seed=seed_of,
        ),
    script:
        "../scripts/svm_grid_search.py"


# Every seed's final SVM trains with the setting chosen from every seed's grid search:
# a new seed, or a changed grid, reruns the choice and with it every final SVM.
rule svm_grid_choice:
    input:
        tables=expand("results/{{dataset}}/svm/grid/seed-{seed}.csv", seed=SEEDS),
        code=script_imports("svm_grid_choice.py"),
    output:
        table="results/{dataset}/svm/grid_search.csv",
        best="results/{dataset}/svm/grid_best.json",
        figure=report(
            "results/{dataset}/svm/grid_heatmap.png",
            caption="../report/svm_grid.rst",
            category=CATEGORIES["svm"],
            subcategory="grid search and figures",
            labels={"result": "grid search heatmap", "type": "figure"},
        ),
    log:
        log_path("svm_grid_choice"),
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            settings=canonical(config["svm"]["grid"]),
        ),
    script:
        "../scripts/svm_grid_choice.py"


# One job trains, saves and scores each seed's final SVM (scripts/svm_train_final.py).
rule train_final_svm:
    input:
        train="results/{dataset}/data/train.parquet",
        test="results/{dataset}/data/test.parquet",
        best="results/{dataset}/svm/grid_best.json",
        code=script_imports("svm_train_final.py"),
    output:
        model=f"{run_dir('svm_final')}/model.skops",
        checksum=f"{run_dir('svm_final')}/model.skops.sha256",
        arrays=f"{run_dir('svm_final')}/model.npz",
        arrays_checksum=f"{run_dir('svm_final')}/model.npz.sha256",
        info=f"{run_dir('svm_final')}/model.json",
        metrics=f"{run_dir('svm_final')}/metrics.json",
        scores=f"{run_dir('svm_final')}/scores.json",
        predictions=f"{run_dir('svm_final')}/predictions.parquet",
        figure=report(
            f"{run_dir('svm_final')}/confusion.png",
            caption="../report/svm_final.rst",
            category=CATEGORIES["svm"],
            subcategory="final model",
            labels={"figure": "confusion matrix", "seed": "{seed}"},
        ),
    log:
        log_path("train_final_svm", run=True),
    benchmark:
        run_bench("train_final_svm")
    conda:
        "../envs/sklearn.yaml"
    threads: THREADS
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        **exact(
            dataset=dataset_params,
            settings=settings_for("svm_final"),
            seed=seed_of,
            threads=THREADS,
        ),
    script:
        "../scripts/svm_train_final.py"


rule svm_kernel_trick:
    input:
        code=script_imports("svm_kernel_trick.py"),
    output:
        margins=report(
            "results/kernel_trick/margins.png",
            caption="../report/kernel_margins.rst",
            category=CATEGORIES["svm"],
            subcategory="grid search and figures",
            labels={"result": "kernel trick: margins", "type": "figure"},
        ),
        lift=report(
            "results/kernel_trick/lift.png",
            caption="../report/kernel_lift.rst",
            category=CATEGORIES["svm"],
            subcategory="grid search and figures",
            labels={"result": "kernel trick: lift into 3-D", "type": "figure"},
        ),
        summary="results/kernel_trick/summary.json",
    log:
        log_path("svm_kernel_trick", across_datasets=True),
    conda:
        "../envs/sklearn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            settings=canonical(config["svm"]["kernel_trick"]),
        ),
    script:
        "../scripts/svm_kernel_trick.py"
