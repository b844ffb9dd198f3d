"""The run as a Provenance Run Crate (Workflow Run RO-Crate profiles 0.5): the record's
jobs in the form that workflow registries (WorkflowHub) and RO-Crate tools read.

`build` returns the crate's metadata, which the record rule (scripts/write_record.py)
writes as results/<dataset>/ro-crate-metadata.json: the dataset's folder is the crate's
root, since an RO-Crate's files lie under its root and the run's files lie there; the
record is its folder record/. It holds:
- the root: name, description, licence and authors (CITATION.cff), the profiles it
  conforms to, the workflow as `mainEntity`, every data entity as a part;
- the workflow (`File`, `SoftwareSourceCode`, `ComputationalWorkflow`, `HowTo`): the
  Snakefile of the copy of the workflow's files that ran (record/workflow/, `copy_workflow`)
  or, for a module read from a repository or URL, its address; its language (Snakemake,
  with its version), the commit it ran at, one tool (`SoftwareApplication`) and one step
  (`HowToStep`) per rule, and the settings as its inputs (`FormalParameter`, each with
  its value as a `PropertyValue`);
- one `CreateAction` per Snakemake run that made jobs of the record (its command, the
  workflow as instrument, the settings as object, the record as result) with its
  `OrganizeAction` (the engine as instrument);
- one `CreateAction` per job of the record: its rule's tool as instrument, its input
  files as `object`, its outputs as `result`, start and end times, the host it ran on
  (`location`), its costs (`resourceUsage`), the run that made it; and the
  `ControlAction` that ties it to its rule's step. Files outside the dataset's folder
  (the kernel-trick figures that every dataset shares, results/kernel_trick/) are named
  in the action's description instead;
- every file the jobs read or wrote in the dataset's folder (`File`, with its sha256 and
  size; a folder as a `Dataset`), and the record's own files: record.json, record.md,
  checklist.md, croissant.json and the model cards.
"""

from __future__ import annotations

import os
from pathlib import Path

from rocrate.model.contextentity import ContextEntity
from rocrate.rocrate import ROCrate

from .storage import sha256_file

PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/ro/wfrun/provenance/0.5": "Provenance Run Crate",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": "Workflow RO-Crate",
}
# The RO-Crate version the Workflow Run profiles 0.5 build on (their crates' descriptor
# conforms to RO-Crate 1.1, and roc-validator's provenance-run-crate-0.5 checks it).
ROCRATE_VERSION = "1.1"
SNAKEMAKE_LANGUAGE = "https://w3id.org/workflowhub/workflow-ro-crate#snakemake"
# Licences the crate can name by their SPDX identifier (CITATION.cff's `license`).
SPDX = "https://spdx.org/licenses/"
# The record's own files, parts of the crate beside the metadata (the cards are added
# one by one), with what each is.
RECORD_FILES = {
    "record.json": ("application/json", "the reproducibility record (mnist_study.record)"),
    "record.md": ("text/markdown", "the reproducibility record as a page"),
    "checklist.md": ("text/markdown", "the NeurIPS checklist answered from the record"),
    "croissant.json": (
        "application/ld+json",
        "the data card, Croissant 1.0 (mnist_study.cards.croissant)",
    ),
}


def iso(seconds: float) -> str:
    """A time as the profiles' ISO 8601 form: UTC to the millisecond, offset +00:00."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def flat_settings(config: dict, prefix: str = "") -> dict:
    """The config's settings as {"mlp.epochs": 10, ...}; a list or empty mapping is one
    setting."""
    found = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            found |= flat_settings(value, f"{name}.")
        else:
            found[name] = value
    return found


def value_type(value) -> str:
    """A FormalParameter's additionalType for a setting's value (the profile's terms)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "Text"
    return "Collection"


def property_value(value):
    """A setting's value as a PropertyValue's `value`: scalars as they are, the rest as
    JSON text."""
    import json

    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


def crate_path(path: str | Path, root: Path) -> str | None:
    """A file's id in the crate: its path from the crate's root; None outside it."""
    found = Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()
    return None if found == ".." or found.startswith("../") else found


# The workflow's files that record/workflow/ copies (mnist_study.layout's, less the
# bundled dataset, which the data's hashes cover).
WORKFLOW_COPY = ("Snakefile", "CITATION.cff", "LICENSE", "config.yaml", "rules", "scripts",
                 "envs", "config", "report", "profiles")  # fmt: skip


def copy_own_files(files: dict, dest: Path) -> list[str]:
    """Copy each Keras file of the config's own models (`files`: {model: its path from
    the working directory}) that the workflow's copy lacks into `dest` (record/workflow/),
    under the same path; the paths copied. A file outside the working directory keeps its
    name only, under own_models/."""
    import shutil

    copied = []
    for path in (files or {}).values():
        relative = Path(path)
        if relative.is_absolute() or ".." in relative.parts:
            relative = Path("own_models") / relative.name
        target = dest / relative
        if Path(path).is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(relative.as_posix())
    return copied


def copy_workflow(source: str, dest: Path) -> bool:
    """Copy the workflow's own files from a local `source` folder into `dest` (the crate's
    record/workflow/); False, leaving it empty, for a module read from an address."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    if not source or not Path(source).is_dir():
        return False
    ignore = shutil.ignore_patterns("__pycache__", "bundled", ".snakemake")
    for name in WORKFLOW_COPY:
        src = Path(source) / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, dirs_exist_ok=True)
        elif src.is_file():
            shutil.copy2(src, dest / name)
    return True


def build(
    record: dict,
    jobs: list[dict],
    root: Path,
    citation: dict,
    snakemake_version: str,
) -> dict:
    """The crate's metadata (the JSON-LD of ro-crate-metadata.json) for `record` (its
    record.json) and its `jobs` (record.job_records, in the same order as the record's
    compute.jobs), with the crate's root at `root` (results/<dataset>/, whose record/
    already holds the record's files and the workflow's copy). `citation` is
    CITATION.cff as read."""
    crate = ROCrate(version=ROCRATE_VERSION)

    def entity(identifier: str, properties: dict) -> ContextEntity:
        return crate.add(ContextEntity(crate, identifier, properties))

    made = record["made"]
    workflow_info = made["workflow"]
    dataset = record["dataset"]
    licence = citation.get("license", "")
    licence_entity = entity(f"{SPDX}{licence}", {"@type": "CreativeWork", "name": licence})
    authors = [
        entity(
            f"#author-{i}",
            {
                "@type": "Person" if "family-names" in author else "Organization",
                "name": author.get("name")
                or " ".join(author.get(k, "") for k in ("given-names", "family-names")).strip(),
            },
        )
        for i, author in enumerate(citation.get("authors", []), 1)
    ]
    title = citation.get("title", "The MNIST study pipeline")
    root_dataset = crate.root_dataset
    root_dataset["name"] = f"{title}: a run on {dataset}"
    root_dataset["description"] = (
        f"How the results of {title} on the dataset {dataset} were made: every job of the "
        "run's record (record.json) with its rule, inputs, outputs, times and host, the "
        "settings, and the files' sha256."
    )
    root_dataset["license"] = licence_entity
    root_dataset["author"] = authors
    root_dataset["datePublished"] = record["written"]
    root_dataset["conformsTo"] = [
        entity(uri, {"@type": "CreativeWork", "name": name, "version": uri.rsplit("/", 1)[1]})
        for uri, name in PROFILES.items()
    ]

    # The workflow, its language and engine, its rules as tools and steps.
    language = entity(
        SNAKEMAKE_LANGUAGE,
        {
            "@type": "ComputerLanguage",
            "name": "Snakemake",
            "identifier": {"@id": "https://snakemake.readthedocs.io"},
            "url": {"@id": "https://snakemake.github.io"},
            "version": snakemake_version,
        },
    )
    engine = entity(
        f"#snakemake-{snakemake_version}",
        {"@type": "SoftwareApplication", "name": "Snakemake", "version": snakemake_version},
    )
    rules = sorted({job["rule"] for job in jobs})
    tools = {
        rule: entity(f"#rule-{rule}", {"@type": "SoftwareApplication", "name": f"rule {rule}"})
        for rule in rules
    }
    steps = {
        rule: entity(
            f"#step-{rule}",
            {"@type": "HowToStep", "name": f"rule {rule}", "workExample": tools[rule]},
        )
        for rule in rules
    }
    settings = flat_settings(record_config(record))
    parameters, values = [], []
    for name, value in settings.items():
        parameter = entity(
            f"#param-{name}",
            {
                "@type": "FormalParameter",
                "name": name,
                "additionalType": value_type(value),
                "valueRequired": False,
            },
        )
        pv = entity(
            f"#value-{name}",
            {
                "@type": "PropertyValue",
                "name": name,
                "value": property_value(value),
                "exampleOfWork": parameter,
            },
        )
        parameter["workExample"] = pv
        parameters.append(parameter)
        values.append(pv)
    workflow_properties = {
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
        "name": title,
        "programmingLanguage": language,
        "license": licence_entity,
        "author": authors,
        "hasPart": list(tools.values()),
        "step": list(steps.values()),
        "input": parameters,
    }
    if workflow_info.get("commit"):
        workflow_properties["version"] = workflow_info["commit"]
    commit = (
        f"at commit {workflow_info['commit']}"
        + (" with local changes" if workflow_info.get("changed") else "")
        if workflow_info.get("commit")
        else "at no known commit"
    )
    if citation.get("repository-code"):
        workflow_properties["codeRepository"] = {"@id": citation["repository-code"]}
    copied = root / "record/workflow/Snakefile"
    if copied.is_file():
        workflow = crate.add_file(
            dest_path="record/workflow/Snakefile",
            properties=workflow_properties
            | {"sha256": sha256_file(copied), "description": "the Snakefile of the copy of "
               f"the workflow's files that ran (record/workflow/), {commit}"},
        )  # fmt: skip
    else:
        address = f"{workflow_info['source'].rstrip('/')}/Snakefile"
        workflow = crate.add_file(
            source=address,
            properties=workflow_properties | {"description": f"the workflow {commit}"},
        )
    root_dataset["mainEntity"] = workflow

    # The record's own files.
    files: dict[str, object] = {}

    def data_entity(path: Path, properties: dict | None = None):
        identifier = crate_path(path, root)
        if identifier in files:
            return files[identifier]
        if path.is_dir():
            found = crate.add_dataset(
                dest_path=identifier.rstrip("/") + "/",
                properties={"name": path.name} | (properties or {}),
            )
        else:
            found = crate.add_file(
                dest_path=identifier,
                properties={
                    "name": path.name,
                    "sha256": sha256_file(path),
                    "contentSize": path.stat().st_size,
                }
                | (properties or {}),
            )
        files[identifier] = found
        return found

    folder = root / "record"
    record_parts = [
        data_entity(folder / name, {"encodingFormat": fmt, "description": text})
        for name, (fmt, text) in RECORD_FILES.items()
        if (folder / name).exists()
    ]
    cards = folder / "cards"
    if cards.is_dir():
        card_entities = [
            data_entity(path, {"encodingFormat": "text/markdown", "about": f"model {path.stem}"})
            for path in sorted(cards.glob("*.md"))
        ]
        card_folder = data_entity(cards, {"description": "one model card per model"})
        card_folder["hasPart"] = card_entities
        record_parts.append(card_folder)

    # The runs, then one action per job.
    hosts = {}
    for machine in record["environment"]["machines"]:
        described = ", ".join(
            f"{key} {machine[key]}"
            for key in ("cpu", "cores", "memory_gb", "gpu", "python", "platform")
            if machine.get(key) is not None
        )
        hosts[machine["host"]] = entity(
            f"#host-{machine['host']}",
            {"@type": "Place", "name": machine["host"], "description": described},
        )
    runs, mentioned = {}, []
    for command in made["commands"]:
        run_jobs = [job for job in jobs if job["run"] == command["run"]]
        started = min((job["started"] for job in run_jobs), default=None)
        ended = max((job["finished"] for job in run_jobs), default=None)
        action = entity(
            f"#run-{command['run']}",
            {
                "@type": "CreateAction",
                "name": f"Snakemake run {command['run']}: {command['jobs']} job(s) of the record",
                "description": f"snakemake {command['command']}",
                "instrument": workflow,
                "object": values,
                "result": record_parts,
            }
            | ({"startTime": iso(started), "endTime": iso(ended)} if run_jobs else {}),
        )
        organize = entity(
            f"#organize-{command['run']}",
            {
                "@type": "OrganizeAction",
                "name": f"Snakemake's orchestration of run {command['run']}",
                "instrument": engine,
                "result": action,
                "object": [],
            },
        )
        runs[command["run"]] = (action, organize)
        mentioned.append(action)

    for i, (job, cost) in enumerate(zip(jobs, record["compute"]["jobs"], strict=True), 1):
        wildcards = ", ".join(f"{k}={v}" for k, v in sorted(job["wildcards"].items()))
        usage = [
            entity(
                f"#job-{i}-{key}",
                {"@type": "PropertyValue", "propertyID": key, "name": key, "value": cost[key]},
            )
            for key in ("wall_seconds", "cpu_seconds", "max_rss_mb", "threads")
            if cost.get(key) is not None
        ]
        files_in = [p for p in job.get("inputs", []) if under_results(p)]
        files_out = [p for p in job.get("outputs", []) if under_results(p)]
        inputs = [data_entity(Path(p)) for p in files_in if crate_path(p, root)]
        outputs = [data_entity(Path(p)) for p in files_out if crate_path(p, root)]
        outside = [p for p in files_in + files_out if not crate_path(p, root)]
        properties = {
            "@type": "CreateAction",
            "name": f"rule {job['rule']}" + (f" ({wildcards})" if wildcards else ""),
            "instrument": tools[job["rule"]],
            "object": inputs,
            "result": outputs,
            "startTime": iso(job["started"]),
            "endTime": iso(job["finished"]),
            "resourceUsage": usage,
            "description": "; ".join(
                ([f"log: {job['log']}"] if "log" in job else [])
                + ([f"files outside the crate: {', '.join(outside)}"] if outside else [])
            ),
        }
        if job["host"] in hosts:
            properties["location"] = hosts[job["host"]]
        if job["run"] in runs:
            properties["isPartOf"] = runs[job["run"]][0]
        action = entity(f"#job-{i}", properties)
        mentioned.append(action)
        control = entity(
            f"#control-{i}",
            {
                "@type": "ControlAction",
                "name": f"orchestrate rule {job['rule']}",
                "instrument": steps[job["rule"]],
                "object": action,
            },
        )
        if job["run"] in runs:
            runs[job["run"]][1].append_to("object", control)
    # The root mentions every action (the profiles' recommendation).
    root_dataset["mentions"] = mentioned
    return crate.metadata.generate()


def under_results(path: str) -> bool:
    """Whether a job's file is one of the run's (results/...), not the workflow's code."""
    parts = Path(path).parts
    return bool(parts) and parts[0] == "results" and Path(path).exists()


def record_config(record: dict) -> dict:
    import yaml

    return yaml.safe_load(record["made"]["config"]["yaml"])
