"""The reproducibility record as pages for a reader: record.md (every section of
record.json) and checklist.md (the NeurIPS checklist's questions on reproducibility,
statistics, compute and assets, each answered from the record with a link to it)."""

from __future__ import annotations

import json

import pandas as pd


def record_page(record: dict) -> str:
    """record.json as Markdown, one section each, anchors as checklist.md links them."""
    made, env, data = record["made"], record["environment"], record["data"]
    methods, compute = record["methods"], record["compute"]
    workflow = made["workflow"]
    version = workflow["source"]
    if workflow["commit"]:
        version += f", commit {workflow['commit']}"
        version += " with local changes" if workflow["changed"] else ", no local changes"
    lines = [
        f"# Reproducibility record: {record['dataset']}",
        "",
        f"Written {record['written']}; `record.json` holds the same (schema {record['schema']}).",
        "",
        '<a id="how-it-was-made"></a>',
        "## How it was made",
        "",
        f"- Workflow: {version}",
        f"- Config sha256: `{made['config']['sha256']}` (the resolved config, canonical "
        "YAML, below)",
        f"- Seeds: {made['seeds']['list']}; a seed draws, per model: "
        + "; ".join(f"{m}: {what}" for m, what in made["seeds"]["controls"].items()),
        "- Commands whose jobs made the results present:",
        *(f"  - `{c['command']}` (run {c['run']}, {c['jobs']} jobs)" for c in made["commands"]),
        "",
        "```yaml",
        made["config"]["yaml"].rstrip(),
        "```",
        "",
        '<a id="environment"></a>',
        "## Environment",
        "",
        pd.DataFrame(env["machines"]).to_markdown(index=False),
        "",
        "Packages each rule imported (name==version, read in the rule's environment):",
        "",
        *(
            f"- {rule}: " + ", ".join(f"{name}=={v}" for name, v in packages.items())
            for rule, packages in env["packages"].items()
        ),
        "",
        *data_section(data),
        '<a id="methods"></a>',
        "## Methods",
        "",
        *(
            f"- **{m['label']}**: {json.dumps(m['settings'], sort_keys=True)}; {m['chosen']}; "
            f"{m['seed']}."
            for m in methods["models"].values()
        ),
        "- Sweeps: "
        + (json.dumps(methods["sweeps"], sort_keys=True) if methods["sweeps"] else "none"),
        failed_line(record.get("failed_runs", [])),
        "",
        *(f"### {name}\n\n{text}\n" for name, text in methods["statistics"].items()),
        *compute_section(compute),
        '<a id="missing"></a>',
        "## Missing",
        "",
        "\n".join(f"- {path}" for path in record["missing"])
        or "Nothing: every file of the default target is present.",
    ]
    return "\n".join(lines) + "\n"


def failed_line(runs: list[dict]) -> str:
    """The record page's line on failed runs: each named, or that there were none."""
    if not runs:
        return "- Failed runs: none; every run counts in every mean and interval."
    named = "; ".join(f"{r['model']} seed {r['seed']} ({', '.join(r['metrics'])})" for r in runs)
    return (
        f"- Failed runs: {len(runs)}, a metric NaN (a diverged network), left out of that "
        f"metric's mean and interval and counted in metrics_summary's `failed`: {named}."
    )


def data_section(data: dict) -> list[str]:
    files = pd.DataFrame(
        [{"file": name, **facts} for name, facts in data["files"].items()],
        columns=["file", "sha256", "verified"],
    )
    return [
        '<a id="data"></a>',
        "## Data",
        "",
        f"- {data['name']}: {data['description']}",
        f"- Source: {data['source']}",
        f"- Licence: {data['licence'] or 'not stated'}",
        f"- Cite as: {data['citation'] or 'not stated'}",
        f"- Split: {data['split']}; classes: {data['classes']}",
        f"- Images per class: {data['class_counts']}",
        "",
        files.to_markdown(index=False),
        "",
    ]


def compute_section(compute: dict) -> list[str]:
    totals = compute["totals"]
    jobs = pd.DataFrame(compute["jobs"])
    if len(jobs):
        jobs["wildcards"] = jobs["wildcards"].map(
            lambda w: ", ".join(f"{k}={v}" for k, v in w.items())
        )
    return [
        '<a id="compute"></a>',
        "## Compute",
        "",
        f"{totals['jobs']} jobs, {totals['reused']} of them reused from an earlier run. Over "
        f"the {totals['benchmarked_jobs']} benchmarked jobs: {totals['wall_seconds']:.1f} s "
        f"of wall time and {totals['cpu_seconds']:.1f} s of CPU time ("
        f"{totals['cpu_hours']:.4f} CPU-hours). The newest run took "
        f"{totals['this_run_span_seconds']:.1f} s from its first job's start to its last's end.",
        "",
        jobs.to_markdown(index=False, floatfmt=".1f") if len(jobs) else "(no job records)",
        "",
    ]


def checklist(record: dict) -> str:
    """The NeurIPS checklist's questions this record answers, each with its evidence."""
    made, data, totals = record["made"], record["data"], record["compute"]["totals"]
    machines = record["environment"]["machines"]
    cpus = sorted({f"{m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB)" for m in machines})
    gpus = sorted({m["gpu"] for m in machines if m["gpu"]}) or ["none"]
    answers = [
        (
            "Experimental result reproducibility: is everything needed to reproduce the "
            "main results disclosed?",
            f"Yes: the workflow ({made['workflow']['source']}"
            + (f", commit {made['workflow']['commit']}" if made["workflow"]["commit"] else "")
            + f"), the exact commands, the resolved config (sha256 "
            f"`{made['config']['sha256'][:12]}`) and the seeds {made['seeds']['list']}.",
            "record.md#how-it-was-made",
        ),
        (
            "Open access to data and code: are they available, with instructions?",
            f"Data: {data['source']}; code: the workflow above, whose README.md gives the "
            "one command that sets it up and runs it.",
            "record.md#data",
        ),
        (
            "Experimental setting and details: are all settings given, and how they were chosen?",
            "Yes, per model: its settings and whether they are the study's defaults, the "
            "run's own, or the grid search's choice (with its ties and rule).",
            "record.md#methods",
        ),
        (
            "Statistical significance: are error bars reported, and what do they cover?",
            "Yes: each model's 95% interval covers retraining with a new seed and testing "
            "on new images; each pair's difference has one test over both, Holm-corrected "
            "across the pairs. The methods section quotes the code's own description.",
            "record.md#methods",
        ),
        (
            "Experiments compute resources: workers, memory, time per run and in total?",
            f"CPU: {'; '.join(cpus)}; GPU: {', '.join(gpus)}. {totals['jobs']} jobs, "
            f"{totals['cpu_hours']:.4f} CPU-hours over the benchmarked jobs; every job's "
            "wall and CPU time, peak memory, threads and host.",
            "record.md#compute",
        ),
        (
            "Licences for existing assets: are the creators credited and the licences and "
            "versions stated?",
            f"Data: {data['licence'] or 'not stated'} ({data['citation'] or 'no citation given'}); "
            "the version of every package each rule imported.",
            "record.md#environment",
        ),
        (
            "New assets: are they documented?",
            "Each model has a card (cards/), and the Parquet data a Croissant data card "
            "(croissant.json).",
            "cards/",
        ),
    ]
    lines = [f"# Checklist: {record['dataset']}", ""]
    lines += [f"**{q}**\n\n{a} ([evidence]({link}))\n" for q, a, link in answers]
    if record["missing"]:
        lines.append(
            f"Partial results: {len(record['missing'])} files of the default target "
            "are missing ([list](record.md#missing))."
        )
    return "\n".join(lines) + "\n"
