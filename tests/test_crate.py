"""The run's Provenance Run Crate (mnist_study.crate, results/<dataset>/ro-crate-metadata.json):
valid by roc-validator against provenance-run-crate-0.5, and true to the run.

roc-validator runs offline here (no network). Its SHACL checks need the crate's JSON-LD
context, which it reads through its HTTP cache (requests-cache's SQLite file at
--cache-path; `rocrate-validator cache warm` fills it online). `warm_cache` puts the RO-Crate
1.1 context in a fresh cache from tests/data/ro-crate-1.1-context.jsonld, the document
https://w3id.org/ro/crate/1.1/context serves (ResearchObject/ro-crate,
docs/_specification/1.1/context.jsonld at commit 4b4f939, CC0), so every check runs but
the two that fetch and compare the context itself (CONTEXT_CHECKS), skipped by name.
"""

import collections
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import MODELS, ROOT, suite_settings
from mnist_study import crate
from mnist_study.record import job_records
from mnist_study.storage import sha256_file

PROFILE = "provenance-run-crate-0.5"
CONTEXT_CHECKS = ("ro-crate-1.1_3.1", "ro-crate-1.1_3.2")
CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
CONTEXT_FILE = ROOT / "tests/data/ro-crate-1.1-context.jsonld"


def warm_cache(cache: Path) -> None:
    """roc-validator's HTTP cache at `cache` holding the RO-Crate 1.1 context, stored as
    `cache warm` would store the response: a GET through requests-cache's session whose
    transport serves the local copy."""
    from requests.adapters import HTTPAdapter
    from requests_cache import CachedSession
    from urllib3 import HTTPResponse

    body = CONTEXT_FILE.read_bytes()

    class LocalCopy(HTTPAdapter):
        def send(self, request, **kwargs):
            raw = HTTPResponse(
                body=io.BytesIO(body),
                headers={"Content-Type": "application/ld+json"},
                status=200,
                preload_content=False,
                request_url=request.url,
            )
            return self.build_response(request, raw)

    # The session's settings are roc-validator's (rocrate_validator.utils.http).
    session = CachedSession(
        cache_name=str(cache),
        backend="sqlite",
        expire_after=-1,
        allowable_methods=("GET",),
        allowable_codes=(200, 302, 404),
    )
    session.mount("https://w3id.org/", LocalCopy())
    response = session.get(CONTEXT_URL, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and session.cache.contains(url=CONTEXT_URL)
    session.close()


def validate(crate_root: Path, work: Path) -> dict:
    """roc-validator's JSON report on the crate at `crate_root`, as its command line
    gives it: offline, REQUIRED checks, the two context checks skipped."""
    work.mkdir(parents=True, exist_ok=True)
    warm_cache(work / "http-cache")
    report = work / "report.json"
    subprocess.run(
        [str(Path(sys.executable).with_name("rocrate-validator")), "--no-interactive",
         "--disable-color", "validate", "--offline", "--cache-path", str(work / "http-cache"),
         "--profile-identifier", PROFILE, "--requirement-severity", "REQUIRED",
         "--skip-checks", ",".join(CONTEXT_CHECKS), "--no-paging", "--output-format", "json",
         "--output-file", str(report), str(crate_root.resolve())],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    return json.loads(report.read_text())


def failures(report: dict) -> list[str]:
    return [f"{issue['check']['identifier']}: {issue['message']}" for issue in report["issues"]]


def assert_valid(report: dict) -> None:
    """No REQUIRED check failed, and none was skipped but the two context checks: a check
    whose SHACL could not run (the context missing) is skipped, not failed, so `passed`
    alone would pass a crate that nothing checked."""
    assert report["passed"], failures(report)
    skipped = sorted(detail["identifier"] for detail in report["skipped_check_details"])
    assert skipped == sorted(CONTEXT_CHECKS), report["skipped_check_details"]
    counts = report["statistics"]
    assert counts["total_failed_checks"] == 0
    assert counts["total_passed_checks"] == counts["total_checks"] - len(CONTEXT_CHECKS) > 50


def graph(metadata: dict) -> dict[str, dict]:
    return {entity["@id"]: entity for entity in metadata["@graph"]}


def ids(value) -> list[str]:
    """The ids a property refers to, one or many."""
    return [item["@id"] for item in (value if isinstance(value, list) else [value])]


def types(entity: dict) -> set[str]:
    found = entity["@type"]
    return set(found if isinstance(found, list) else [found])


def job_actions(entities: dict) -> list[dict]:
    """The crate's actions of jobs (a rule as instrument), in order."""
    return [
        entity
        for entity in entities.values()
        if "CreateAction" in types(entity) and entity["instrument"]["@id"].startswith("#rule-")
    ]


# A record and job records built by hand, for the crate's unit tests.
CONFIG = {"dataset": "tiny", "mlp": {"epochs": 3, "width": [64, 32]}, "threads": 1}
CITATION = {
    "title": "The MNIST study pipeline",
    "license": "MIT",
    "authors": [{"given-names": "Ada", "family-names": "Lovelace"}, {"name": "A Lab"}],
}


def constructed_run(base: Path) -> tuple[dict, list[dict], Path]:
    """Under `base` (the working folder): results/tiny/ with two jobs' files, the record's
    files and a copy of the workflow; a third file outside the crate (results/shared/,
    as results/kernel_trick/ is); the record and its job records."""
    root = base / "results/tiny"
    for name, text in {
        "data/train.parquet": "train",
        "pca/variance.csv": "pc,share\n1,0.1\n",
        "record/record.json": "{}",
        "record/croissant.json": "{}",
        "record/cards/mlp.md": "# mlp",
        "record/workflow/Snakefile": "rule all:\n",
        "../shared/figure.png": "png",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    jobs = [
        {"rule": "prepare_data", "wildcards": {"dataset": "tiny"}, "inputs": [],
         "outputs": ["results/tiny/data/train.parquet", "results/shared/figure.png"],
         "run": "run-1", "host": "node1", "started": 1.0e9, "finished": 1.0e9 + 2.5,
         "log": "prepare_data.log"},
        {"rule": "pca_variance", "wildcards": {"dataset": "tiny", "seed": "0"},
         "inputs": ["results/tiny/data/train.parquet", "scripts/pca.py"],
         "outputs": ["results/tiny/pca/variance.csv"], "run": "run-1", "host": "node1",
         "started": 1.0e9 + 3, "finished": 1.0e9 + 4, "log": "pca_variance/seed-0.log"},
    ]  # fmt: skip
    record = {
        "dataset": "tiny",
        "written": "2001-09-09T01:47:00+00:00",
        "made": {
            "workflow": {"source": str(base), "commit": "0123abcd", "changed": True},
            "commands": [{"run": "run-1", "command": "--cores 2", "jobs": 2}],
            "config": {"yaml": yaml.safe_dump(CONFIG, sort_keys=True)},
        },
        "environment": {"machines": [{"host": "node1", "cpu": "x86_64", "cores": 2}]},
        "compute": {"jobs": [{"wall_seconds": 2.5, "threads": 1}, {"wall_seconds": 1.0}]},
    }
    return record, jobs, Path("results/tiny")


def test_the_crate_of_a_constructed_run(tmp_path, monkeypatch):
    """crate.build on a record made by hand: the workflow as mainEntity with its language,
    version and commit; one action per job with its rule, files inside the crate as
    object and result (the one outside named in its description), times and host; the
    settings as parameters with their values; each file's sha256; the record's files and
    cards as parts."""
    monkeypatch.chdir(tmp_path)
    record, jobs, root = constructed_run(tmp_path)
    entities = graph(crate.build(record, jobs, root, CITATION, "9.9.9"))
    root_entity = entities["./"]
    workflow = entities[root_entity["mainEntity"]["@id"]]
    assert workflow["@id"] == "record/workflow/Snakefile"
    assert {"File", "SoftwareSourceCode", "ComputationalWorkflow"} <= types(workflow)
    assert workflow["version"] == "0123abcd" and "local changes" in workflow["description"]
    language = entities[workflow["programmingLanguage"]["@id"]]
    assert language["name"] == "Snakemake" and language["version"] == "9.9.9"
    assert ids(root_entity["license"]) == ["https://spdx.org/licenses/MIT"]
    authors = [entities[i]["@type"] for i in ids(root_entity["author"])]
    assert authors == ["Person", "Organization"]

    first, second = job_actions(entities)
    assert first["instrument"]["@id"] == "#rule-prepare_data" and first["object"] == []
    assert ids(first["result"]) == ["data/train.parquet"]
    assert "results/shared/figure.png" in first["description"]
    assert ids(second["object"]) == ["data/train.parquet"]  # the script is not data
    assert ids(second["result"]) == ["pca/variance.csv"]
    assert first["startTime"] == "2001-09-09T01:46:40.000+00:00"
    assert first["endTime"] == "2001-09-09T01:46:42.500+00:00"
    assert entities[first["location"]["@id"]]["name"] == "node1"
    assert first["isPartOf"] == second["isPartOf"] == {"@id": "#run-run-1"}
    usage = {entities[i]["name"]: entities[i]["value"] for i in ids(first["resourceUsage"])}
    assert usage == {"wall_seconds": 2.5, "threads": 1}

    values = {
        entities[i]["name"]: entities[entities[i]["workExample"]["@id"]]["value"]
        for i in ids(workflow["input"])
    }
    assert values == {"dataset": "tiny", "mlp.epochs": 3, "mlp.width": "[64, 32]", "threads": 1}
    for identifier in ("data/train.parquet", "pca/variance.csv", "record/cards/mlp.md"):
        assert entities[identifier]["sha256"] == sha256_file(root / identifier)
    parts = set(ids(root_entity["hasPart"]))
    assert {"record/record.json", "record/croissant.json", "record/cards/"} <= parts
    assert ids(entities["record/cards/"]["hasPart"]) == ["record/cards/mlp.md"]
    assert "results/shared/figure.png" not in entities and "../shared/figure.png" not in entities


def test_the_constructed_crate_is_valid_and_a_broken_one_is_not(tmp_path, monkeypatch):
    """roc-validator passes the constructed run's crate with every check but the two
    context checks run; the same crate whose workflow is no longer a
    ComputationalWorkflow fails workflow-ro-crate-1.0_2.1, so the checks do read it."""
    monkeypatch.chdir(tmp_path)
    record, jobs, root = constructed_run(tmp_path)
    metadata = crate.build(record, jobs, root, CITATION, "9.9.9")
    (root / "ro-crate-metadata.json").write_text(json.dumps(metadata))
    assert_valid(validate(root, tmp_path / "valid"))

    graph(metadata)["record/workflow/Snakefile"]["@type"] = ["File", "SoftwareSourceCode"]
    (root / "ro-crate-metadata.json").write_text(json.dumps(metadata))
    report = validate(root, tmp_path / "broken")
    assert not report["passed"]
    assert "workflow-ro-crate-1.0_2.1" in {issue["check"]["identifier"]
                                           for issue in report["issues"]}  # fmt: skip


@pytest.fixture(scope="module")
def run_crate(pipeline_run):
    """The shared run's dataset folder, its crate's entities and its record."""
    workdir, _ = pipeline_run
    root = workdir / "results/mnist-sample"
    metadata = json.loads((root / "ro-crate-metadata.json").read_text())
    return workdir, root, graph(metadata), json.loads((root / "record/record.json").read_text())


@pytest.mark.pipeline
def test_the_run_crate_is_a_valid_provenance_run_crate(run_crate, tmp_path):
    """The default run writes results/<dataset>/ro-crate-metadata.json, and roc-validator
    finds no REQUIRED check of provenance-run-crate-0.5 failing, with only the two
    context checks skipped (assert_valid)."""
    _, root, _, _ = run_crate
    assert_valid(validate(root, tmp_path))


@pytest.mark.pipeline
def test_the_run_crate_has_an_action_per_job(run_crate):
    """One job action per job of the record, in its order: the same rule, the job
    record's input and output files (those under the dataset's folder) as object and
    result, and its start and end times; each job's run is the run's action."""
    workdir, root, entities, record = run_crate
    jobs = job_records(root, workdir / "results/logs", suite_settings()["repeats"]["seeds"])
    actions = job_actions(entities)
    assert len(actions) == len(record["compute"]["jobs"]) == len(jobs) > 40
    assert [a["instrument"]["@id"] for a in actions] == [f"#rule-{j['rule']}" for j in jobs]
    assert [job["rule"] for job in record["compute"]["jobs"]] == [job["rule"] for job in jobs]

    def inside(paths):
        return [
            crate.crate_path(workdir / path, root)
            for path in paths
            if path.startswith("results/") and crate.crate_path(workdir / path, root)
        ]

    for action, job in zip(actions, jobs, strict=True):
        assert ids(action["object"]) == inside(job["inputs"]), action["name"]
        assert ids(action["result"]) == inside(job["outputs"]), action["name"]
        assert action["startTime"] == crate.iso(job["started"])
        assert action["endTime"] == crate.iso(job["finished"])
        assert entities[action["location"]["@id"]]["name"] == job["host"]
    [command] = record["made"]["commands"]
    assert {action["isPartOf"]["@id"] for action in actions} == {f"#run-{command['run']}"}
    rules = collections.Counter(job["rule"] for job in jobs)
    assert rules["train_mlp"] == len(suite_settings()["repeats"]["seeds"])


@pytest.mark.pipeline
def test_the_run_crate_hashes_and_settings_are_the_run(run_crate):
    """Every file in the crate has the sha256 of the file on disk (and there is one for
    every model's predictions of every seed); the workflow's parameters carry the config's
    values; record.json, record.md, checklist.md, croissant.json and every model card are
    parts of the crate."""
    workdir, root, entities, record = run_crate
    files = {i: e for i, e in entities.items() if types(e) == {"File"}}
    for identifier, entity in files.items():
        assert entity["sha256"] == sha256_file(root / identifier), identifier
    for model in MODELS:
        for seed in suite_settings()["repeats"]["seeds"]:
            assert f"{model}/base/seed-{seed}/predictions.parquet" in files

    workflow = entities[entities["./"]["mainEntity"]["@id"]]
    values = {
        entities[i]["name"]: entities[entities[i]["workExample"]["@id"]]["value"]
        for i in ids(workflow["input"])
    }
    expected = crate.flat_settings(suite_settings())
    assert values == {name: crate.property_value(value) for name, value in expected.items()}
    assert values["repeats.seeds"] == json.dumps(suite_settings()["repeats"]["seeds"])

    parts = set(ids(entities["./"]["hasPart"]))
    record_files = {f"record/{name}" for name in crate.RECORD_FILES}
    cards = {f"record/cards/{model}.md" for model in record["methods"]["models"]}
    assert record_files | {"record/cards/"} <= parts
    assert set(ids(entities["record/cards/"]["hasPart"])) == cards
