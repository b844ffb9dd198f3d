# The robustness stage: every saved run scored on corrupted copies of the test set
# (config `robustness`), its calibration, and the errors themselves. One corrupted test
# set per corruption, and one scoring job per saved run that scores it on every corrupted
# test set: a model's setting or a seed rescores only the runs it retrains, and a
# corruption's test set is made once for every run (config/README.md says what each
# change reruns, and why the stage is split this way).


rule corrupt_test_set:
    input:
        test="results/{dataset}/data/test.parquet",
        code=script_imports("corrupt_test_set.py"),
    output:
        test="results/{dataset}/robustness/test/{corruption}.parquet",
    log:
        log_path("corrupt_test_set_{corruption}"),
    benchmark:
        "results/{dataset}/benchmarks/corrupt_test_set_{corruption}.tsv"
    conda:
        "../envs/robustness.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **exact(
            severity=lambda wildcards: config["robustness"]["severity"][wildcards.corruption],
            seed=config["robustness"]["seed"],
        ),
    script:
        "../scripts/corrupt_test_set.py"


rule score_run:
    input:
        tests=corruption_files("test"),
        model=saved_model,
        checksum=lambda wildcards: f"{saved_model(wildcards)}.sha256",
        code=script_imports("score_run.py"),
    output:
        scores="results/{dataset}/robustness/scores/{model}/seed-{seed}.parquet",
    log:
        log_path("score_run_{model}", "base", "seed-{seed}"),
    benchmark:
        "results/{dataset}/benchmarks/score_run_{model}/base/seed-{seed}.tsv"
    conda:
        "../envs/robustness.yaml"
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        **exact(
            dataset=dataset_params,
            threads=THREADS,
            own_models=own_spec_of,
            settings=own_scoring_settings,
        ),
    script:
        "../scripts/score_run.py"


rule robustness_tables:
    input:
        scores=scored_runs,
        corrupted=corruption_files("test"),
        test="results/{dataset}/data/test.parquet",
        predictions=every_run("predictions.parquet"),
        metrics="results/{dataset}/tables/metrics.parquet",
        code=script_imports("robustness_tables.py"),
    output:
        accuracy=report(
            "results/{dataset}/tables/robustness.csv",
            caption="../report/robustness.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "accuracy per corruption"},
        ),
        accuracy_md="results/{dataset}/tables/robustness.md",
        summary=report(
            "results/{dataset}/tables/robustness_summary.csv",
            caption="../report/robustness_summary.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "mean corruption error"},
        ),
        comparison=report(
            "results/{dataset}/tables/robustness_comparison.csv",
            caption="../report/robustness_comparison.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "paired robustness verdicts"},
        ),
        calibration=report(
            "results/{dataset}/tables/calibration.csv",
            caption="../report/calibration.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "calibration error"},
        ),
        conclusions="results/{dataset}/tables/robustness_conclusions.txt",
        heatmap=report(
            "results/{dataset}/tables/robustness_heatmap.png",
            caption="../report/robustness_heatmap.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "accuracy per corruption (figure)"},
        ),
        examples=report(
            "results/{dataset}/tables/corruption_examples.png",
            caption="../report/corruption_examples.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "one digit under each corruption"},
        ),
        reliability=report(
            "results/{dataset}/tables/reliability.png",
            caption="../report/reliability.rst",
            category=CATEGORIES["robustness"],
            labels={"table": "reliability diagrams"},
        ),
    log:
        log_path("robustness_tables"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        **exact(
            dataset=dataset_params,
            corruptions=CORRUPTIONS,
            bins=config["robustness"]["calibration_bins"],
            bootstrap=config["robustness"]["bootstrap"],
            seed=config["robustness"]["seed"],
            own_models=OWN_SPECS,
        ),
    script:
        "../scripts/robustness_tables.py"


rule errors_tables:
    input:
        test="results/{dataset}/data/test.parquet",
        predictions=every_run("predictions.parquet"),
        metrics="results/{dataset}/tables/metrics.parquet",
        code=script_imports("errors_tables.py"),
    output:
        per_class=report(
            "results/{dataset}/tables/per_class_accuracy.csv",
            caption="../report/per_class_accuracy.rst",
            category=CATEGORIES["errors"],
            labels={"table": "accuracy per class"},
        ),
        per_class_md="results/{dataset}/tables/per_class_accuracy.md",
        confused=report(
            "results/{dataset}/tables/confused_pairs.csv",
            caption="../report/confused_pairs.rst",
            category=CATEGORIES["errors"],
            labels={"table": "most confused pairs"},
        ),
        hard=report(
            "results/{dataset}/tables/hard_images.csv",
            caption="../report/hard_images.rst",
            category=CATEGORIES["errors"],
            labels={"table": "images most models get wrong"},
        ),
        gallery=report(
            "results/{dataset}/tables/hard_images.png",
            caption="../report/hard_images_gallery.rst",
            category=CATEGORIES["errors"],
            labels={"table": "images most models get wrong (gallery)"},
        ),
        label_issues=report(
            "results/{dataset}/tables/label_issues.csv",
            caption="../report/label_issues.rst",
            category=CATEGORIES["errors"],
            labels={"table": "label-issue candidates"},
        ),
        label_issues_md="results/{dataset}/tables/label_issues.md",
        label_issues_gallery=report(
            "results/{dataset}/tables/label_issues.png",
            caption="../report/label_issues_gallery.rst",
            category=CATEGORIES["errors"],
            labels={"table": "label-issue candidates (gallery)"},
        ),
    log:
        log_path("errors_tables"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **exact(
            dataset=dataset_params,
            hard_images=config["robustness"]["hard_images"],
            label_issues=config["robustness"]["label_issues"],
            own_models=OWN_SPECS,
        ),
    script:
        "../scripts/errors_tables.py"
