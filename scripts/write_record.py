"""Rule record: the reproducibility record of the dataset's results, its pages, the model
cards and the Croissant data card (mnist_study.record, .record_page, .cards)."""

import os
from importlib import metadata
from pathlib import Path

from mnist_study import cards, crate, record_page
from mnist_study.record import build, job_records
from mnist_study.runtime import run_rule, setup_logging
from mnist_study.storage import atomic_path, sha256_file, write_json


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    results = Path(snakemake.params.results)
    params = {key: getattr(snakemake.params, key) for key in ("dataset", "config", "expected",
                                                              "defaults", "own_files")}  # fmt: skip
    params["source"] = os.environ.get("MNIST_STUDY_SOURCE", "")
    record = build(params, results, Path("results/logs"), os.environ.get("MNIST_STUDY_RUN", ""))
    write_json(snakemake.output.record, record)
    write_text(snakemake.output.page, record_page.record_page(record))
    write_text(snakemake.output.checklist, record_page.checklist(record))
    parquet = {
        split: {"sha256": sha256_file(path), "rows": record["data"]["split"][split]}
        for split in ("train", "test")
        if (path := results / f"data/{split}.parquet").exists()
    }
    data = record["data"] | {"written": record["written"]}
    write_json(snakemake.output.croissant, cards.croissant(data, parquet))
    folder = Path(snakemake.output.cards)
    folder.mkdir(parents=True, exist_ok=True)
    for model in record["methods"]["models"]:
        cards.model_card(model, record, results, folder / f"{model}.md")
    # The run as a Provenance Run Crate, the dataset's folder its root (mnist_study.crate).
    jobs = job_records(results, Path("results/logs"), snakemake.params.config["repeats"]["seeds"])
    crate.copy_workflow(params["source"], Path(snakemake.output.workflow))
    # The Keras files of the config's own models, where the workflow's copy lacks them.
    crate.copy_own_files(params["own_files"], Path(snakemake.output.workflow))
    metadata_crate = crate.build(
        record, jobs, results, snakemake.params.citation, metadata.version("snakemake")
    )
    write_json(snakemake.output.crate, metadata_crate)
    log.info(
        "record of %s: %d jobs (%d reused), %d models, %d files missing",
        record["dataset"],
        record["compute"]["totals"]["jobs"],
        record["compute"]["totals"]["reused"],
        len(record["methods"]["models"]),
        len(record["missing"]),
    )


run_rule(main, globals())
