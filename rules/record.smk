rule record:
    input:
        present=record_inputs,
        code=script_imports("write_record.py"),
    output:
        record="results/{dataset}/record/record.json",
        page=report(
            "results/{dataset}/record/record.md",
            caption="../report/record.rst",
            category=CATEGORIES["record"],
            labels={"record": "how the results were made"},
        ),
        checklist=report(
            "results/{dataset}/record/checklist.md",
            caption="../report/checklist.rst",
            category=CATEGORIES["record"],
            labels={"record": "checklist"},
        ),
        croissant="results/{dataset}/record/croissant.json",
        cards=report(
            directory("results/{dataset}/record/cards"),
            patterns=["{model}.md"],
            caption="../report/model_card.rst",
            category=CATEGORIES["record"],
            labels={"record": "model card: {model}"},
        ),
        crate="results/{dataset}/ro-crate-metadata.json",
        workflow=directory("results/{dataset}/record/workflow"),
    log:
        log_path("record"),
    localrule: True
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **exact(
            results="results/{dataset}",
            dataset=dataset_params,
            config=canonical(config),
            expected=record_expected,
            defaults=schema_defaults(load_schema(SCHEMA)),
            citation=CITATION,
            own_models=OWN_SPECS,
            own_files=OWN_FILES,
        ),
    script:
        "../scripts/write_record.py"
