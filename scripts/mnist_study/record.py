"""The reproducibility record of a dataset's results: how they were made, in what
environment, from what data, by which methods, at what compute cost.

record.json (this module's `build`, schema version SCHEMA) holds:
- `schema`, `dataset`, `written` (UTC time);
- `made`: `commands` (each Snakemake command line whose jobs made outputs present now,
  with its run id and job count), `workflow` (`source`: checkout path or module address;
  `commit` and `changed` where the source is a git checkout), `config` (`yaml`: the
  resolved config as canonical YAML, `sha256` of that text), `seeds` (`list` and, per
  model, what a seed draws);
- `environment`: `machines` (each distinct host, CPU model, cores, memory, GPU, Python
  and OS the jobs ran on) and `packages` ({rule: {distribution: version}}, what each
  rule's jobs imported, read by importlib.metadata in the job's own environment);
- `data`: `name`, `description`, `source`, `licence`, `citation`, `url`, `files`
  ({file: {sha256, verified}}), `split` (images per split) and `class_counts`;
- `methods`: `models` ({model: label, settings, how they were `chosen`, what the `seed`
  draws}), `sweeps` (the config's), and `statistics` ({name: what the interval or test
  means}, the docstrings of the functions that compute them, so the text cannot drift);
- `failed_runs`: the runs with a NaN metric (a diverged network), left out of that
  metric's mean and interval and counted in metrics_summary's `failed`: [{model, seed,
  metrics}] (`results.failed_runs`), empty when every run counts;
- `compute`: `jobs` (each job's rule, wildcards, wall and CPU seconds, peak memory,
  threads, host, run, and `reused`: made by an earlier run than the newest) and
  `totals` (jobs, wall and CPU seconds and CPU-hours over the benchmark files, and the
  newest run's span);
- `missing`: the default target's files not present (a partial run), by stage.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import yaml

from . import comparison, results, stats, svm
from .costs import stage_costs
from .models import MODELS, readable, run_model
from .storage import sha256_file

SCHEMA = 1


def job_records(results_dir: Path, shared: Path, seeds) -> list[dict]:
    """Every job record (runtime.write_job_record) under the dataset's logs and the
    logs shared by the datasets, each with its log's path: the jobs behind the results,
    not the record's own, nor those of seeds the config no longer lists."""
    found = []
    for logs in (results_dir / "logs", shared):
        for path in sorted(logs.rglob("*.log.json")) if logs.is_dir() else []:
            entry = json.loads(path.read_text())
            seed = entry["wildcards"].get("seed")
            if entry["rule"] == "record" or (seed is not None and int(seed) not in seeds):
                continue
            entry["log"] = path.relative_to(logs).as_posix().removesuffix(".json")
            found.append(entry)
    return found


def made(config: dict, jobs: list[dict], source: str, seeds_text: dict) -> dict:
    """How the results were made: the commands, the workflow's version, the config."""
    commands = {}
    for job in jobs:
        entry = commands.setdefault(
            job["run"], {"run": job["run"], "command": job["command"], "jobs": 0}
        )
        entry["jobs"] += 1
    text = yaml.safe_dump(config, sort_keys=True)
    return {
        "commands": sorted(commands.values(), key=lambda c: c["run"]),
        "workflow": workflow_version(source),
        "config": {"yaml": text, "sha256": hashlib.sha256(text.encode()).hexdigest()},
        "seeds": {"list": config["repeats"]["seeds"], "controls": seeds_text},
    }


def workflow_version(source: str) -> dict:
    """The workflow's source and, for a git checkout, its commit and whether files differ."""
    found = {"source": source, "commit": None, "changed": None}
    if not Path(source).is_dir():
        return found

    def git(*args):
        proc = subprocess.run(["git", "-C", source, *args], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit:
        changes = git("status", "--porcelain", "--untracked-files=no")
        found |= {"commit": commit, "changed": bool(changes)}
    return found


def environment(jobs: list[dict]) -> dict:
    """The machines the jobs ran on, and the packages each rule imported."""
    machine_keys = ("host", "cpu", "cores", "memory_gb", "gpu", "python", "platform")
    machines = {tuple(job.get(k) for k in machine_keys) for job in jobs}
    packages: dict[str, dict[str, str]] = {}
    for job in jobs:
        packages.setdefault(job["rule"], {}).update(job["packages"])
    return {
        "machines": [dict(zip(machine_keys, m, strict=True)) for m in sorted(machines, key=str)],
        "packages": dict(sorted(packages.items())),
    }


def data_provenance(spec: dict, config: dict, results_dir: Path) -> dict:
    """Where the data came from, its files' hashes, its split and classes."""
    import pyarrow.parquet as pq

    if config["dataset_dir"]:
        source = f"dataset_dir: {config['dataset_dir']}"
    elif spec["bundled"]:
        source = f"bundled with the workflow: scripts/mnist_study/bundled/{spec['name']}/"
    else:
        source = "downloaded from " + ", ".join(spec["mirrors"])
    files, verified = {}, spec["verify"]
    for split in ("train", "test"):
        path = results_dir / f"data/{split}.parquet"
        if path.exists():
            meta = json.loads(pq.read_metadata(path).metadata[b"mnist_study"])
            verified = meta.get("verified", verified)
            for name, digest in meta.get("source_sha256", {}).items():
                files[name] = {"sha256": digest, "verified": bool(verified)}
    summary_path = results_dir / "data/summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return {
        "name": spec["name"],
        "description": spec["description"],
        "source": source,
        "licence": spec["licence"],
        "citation": spec["citation"],
        "url": spec["mirrors"][0] if spec["mirrors"] else source,
        "files": dict(sorted(files.items())),
        "split": {s: summary[s]["examples"] for s in ("train", "test") if s in summary},
        "class_counts": {s: summary[s]["class_counts"] for s in ("train", "test") if s in summary},
        "classes": spec["classes"],
    }


# What each interval and test in the tables means: the docstrings of the code itself.
STATISTICS = {
    "one run's accuracy (metrics)": stats.accuracy_interval,
    "a model over seeds and test images (metrics_summary, headline)": stats.two_source,
    "the summary table": results.metrics_summary,
    "every pair of models (model_comparison)": comparison.model_comparison,
    "Holm's correction": stats.holm,
    "the smallest difference a run resolves (model_comparison, conclusions)": (
        stats.detectable_difference
    ),
    "the grid search's choice": svm.choose_grid,
}


def methods(config: dict, defaults: dict, results_dir: Path, own_files=None) -> dict:
    """Each model's settings and how they were chosen; the sweeps; what each statistic
    means. A Keras model of the config's own also names its file and that file's sha256
    (`own_files`: {model: its path}), as the workflow's own code is hashed."""
    found = {}
    metrics = results_dir / "tables/metrics.parquet"
    if metrics.exists():
        runs = pd.read_parquet(metrics)
        best = results_dir / "svm/grid_best.json"
        grid = json.loads(best.read_text()) if best.exists() else None
        for model, group in runs.groupby("model", sort=False):
            settings = json.loads(group["settings"].iloc[0])
            found[model] = {
                "label": readable(model, settings, int(group["train_size"].median())),
                "settings": settings,
                "chosen": chosen(model, config, defaults, grid),
                "seed": seed_draws(model),
            }
            if model in (own_files or {}) and Path(own_files[model]).is_file():
                found[model]["file"] = {
                    "path": own_files[model],
                    "sha256": sha256_file(own_files[model]),
                }
    return {
        "models": found,
        "sweeps": config.get("sweeps") or {},
        "statistics": {name: inspect.getdoc(code) for name, code in STATISTICS.items()},
    }


def seed_draws(model: str) -> str:
    """What a seed draws for a table model (the registry's words)."""
    found = MODELS.get(run_model(model))
    return f"the seed draws {found.seed_draws}" if found else ""


def chosen(model: str, config: dict, defaults: dict, grid: dict | None) -> str:
    """How one model's settings were chosen: the grid search, the study's defaults, or
    the run's config where it differs from them."""
    section, default = config, defaults
    for part in MODELS[run_model(model)].section:  # a model of `models:` has no default
        section, default = section[part], default.get(part, {})
    changed = {k: v for k, v in section.items() if default.get(k) != v}
    said = (
        f"set in the run's config: {json.dumps(changed, sort_keys=True)}; the rest the "
        "study's defaults (config.yaml)"
        if changed
        else "the study's defaults (config.yaml)"
    )
    if model == "svm_final" and grid:
        said = (
            f"C = {grid['C']:g} and gamma = {grid['gamma']:g} chosen by the grid search over "
            f"{len(grid['seeds'])} seed(s) (best mean CV accuracy: C = {grid['best'][0]:g}, "
            f"gamma = {grid['best'][1]:g}; tied: {grid['tied']}, {grid['tie_rule']}; chosen: "
            f"{grid['tie_break']}); the subset and the rest: {said}"
        )
    return said


def failed(results_dir: Path) -> list[dict]:
    """The runs with a NaN metric, from the metrics table (`results.failed_runs`)."""
    metrics = results_dir / "tables/metrics.parquet"
    return results.failed_runs(pd.read_parquet(metrics)) if metrics.exists() else []


def compute(jobs: list[dict], results_dir: Path, current_run: str) -> dict:
    """Every job's cost, with its rule, host, threads and whether this run made it."""
    bench = results_dir / "benchmarks"
    rows = []
    for job in jobs:
        path = bench / job["log"].replace(".log", ".tsv")
        cost = {
            "wall_seconds": job["finished"] - job["started"],
            "cpu_seconds": None,
            "max_rss_mb": None,
            "benchmarked": False,
        }
        if path.exists():
            row = stage_costs([path], results_dir.name).iloc[0]
            cost = {
                k: float(row[k]) if pd.notna(row[k]) else None
                for k in ("wall_seconds", "cpu_seconds", "max_rss_mb")
            } | {"benchmarked": True}
        rows.append(
            {
                "rule": job["rule"],
                "wildcards": job["wildcards"],
                **cost,
                "threads": job["threads"],
                "host": job["host"],
                "run": job["run"],
                "reused": job["run"] != current_run,
            }
        )
    benchmarked = [r for r in rows if r["benchmarked"]]
    newest = [job for job in jobs if job["run"] == current_run]
    cpu = sum(r["cpu_seconds"] for r in benchmarked)
    return {
        "jobs": rows,
        "totals": {
            "jobs": len(rows),
            "reused": sum(r["reused"] for r in rows),
            "benchmarked_jobs": len(benchmarked),
            "wall_seconds": sum(r["wall_seconds"] for r in benchmarked),
            "cpu_seconds": cpu,
            "cpu_hours": cpu / 3600,
            "this_run_span_seconds": (
                max(j["finished"] for j in newest) - min(j["started"] for j in newest)
                if newest
                else 0.0
            ),
        },
    }


def build(params: dict, results_dir: Path, shared_logs: Path, current_run: str) -> dict:
    """The whole record of a dataset's results (record.json)."""
    config, expected = params["config"], params["expected"]
    jobs = job_records(results_dir, shared_logs, config["repeats"]["seeds"])
    seeds_text = {name: model.seed_draws for name, model in MODELS.items()}
    missing = [path for path in expected if not Path(path).exists()]
    return {
        "schema": SCHEMA,
        "dataset": params["dataset"]["name"],
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "made": made(config, jobs, params["source"], seeds_text),
        "environment": environment(jobs),
        "data": data_provenance(params["dataset"], config, results_dir),
        "methods": methods(config, params["defaults"], results_dir, params.get("own_files")),
        "failed_runs": failed(results_dir),
        "compute": compute(jobs, results_dir, current_run),
        "missing": missing,
    }
