"""The conda environments pin the same versions as the lock file."""

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import IMPORTS, ROOT, copy_workflow, override, rule_blocks, run_snakemake
from mnist_study.keras_models import SCORING_BACKEND
from mnist_study.runtime import half_the_cores

LOCK = tomllib.loads((ROOT / "uv.lock").read_text())


def locked_versions(name):
    return {p["version"] for p in LOCK["package"] if p["name"] == name}


def env_pins(path):
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return [re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups() for line in pip]


ENVS = sorted((ROOT / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_env_pins_match_lock(env):
    pins = env_pins(env)
    assert pins, f"{env.name} pins nothing"
    for name, version in pins:
        assert version in locked_versions(name), f"{env.name}: {name}=={version} not in uv.lock"


def test_every_rule_names_an_existing_env():
    used = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        used |= set(re.findall(r'conda:\s*\n\s*"\.\./envs/([\w-]+\.yaml)"', smk.read_text()))
    assert used, "no rule declares a conda environment"
    assert used <= {p.name for p in ENVS}


def test_every_rules_code_inputs_are_its_own_scripts_imports():
    # script_imports("<script>") reads the imports of the rule's script: it must name that one.
    blocks = rule_blocks()
    assert {"train_mlp", "train_cnn", "svm_grid_choice"} <= set(blocks)
    for name, block in blocks.items():
        if "script:" not in block:
            continue
        script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', block).group(1)
        assert f'code=script_imports("{script}")' in block, f"rule {name}: another script"


def test_every_rule_declares_threads_memory_and_runtime():
    for name, block in rule_blocks().items():
        if name == "all":
            continue
        for needed in ("threads:", "mem_mb=", "runtime="):
            assert needed in block, f"rule {name} lacks {needed}"


def planned_threads(workdir, cores: int, *args: str) -> dict[str, int]:
    """Threads of every job a dry run of the whole workflow plans with --cores."""
    proc = run_snakemake(workdir, "--cores", str(cores), "--dry-run", "--forceall", *args)
    blocks = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\[|\Z)", proc.stdout, re.M | re.S)
    assert blocks, proc.stdout
    threads = {}
    for name, body in blocks:
        found = re.search(r"^\s+threads: (\d+)$", body, re.M)
        threads[name] = int(found.group(1)) if found else 1
    return threads


# The rules that compute with the config's `threads` (rules/common.smk, THREADS).
CONFIG_THREADS = {
    "pca_projection",
    "pca_variance",
    "plot_svm_boundaries",
    "train_final_svm",
    "train_nn_numpy",
    "train_mlp",
    "train_cnn",
    "score_run",
}


@pytest.mark.pipeline
@pytest.mark.parametrize(
    ("cores", "configured", "half"), [(1, 1, 1), (2, 1, 1), (8, 1, 4), (2, 3, 1), (32, 3, 8)]
)
def test_rules_ask_for_the_configs_threads_and_the_grid_search_for_half_the_cores(
    tmp_path, cores, configured, half
):
    # The config's threads, capped at --cores by the scheduler (the scripts compute with
    # the config's count all the same: test_cores.py); the grid search, whose worker
    # threads change no score, half of --cores up to 8; every other rule one.
    workdir = copy_workflow(tmp_path)
    threads = planned_threads(workdir, cores, *override(workdir, {"threads": configured}))
    assert {threads[name] for name in CONFIG_THREADS} == {min(configured, cores)}
    assert threads["svm_grid_search"] == half
    others = set(threads) - CONFIG_THREADS - {"svm_grid_search"}
    assert {threads[name] for name in others} == {1}


def test_scripts_compute_with_the_configs_threads_never_the_schedulers():
    # snakemake.threads follows --cores (capped there) and set-threads: a count read from
    # it would make the numbers depend on them. Only the grid search's worker threads,
    # which change no score, and a one-thread rule's 1 may come from there.
    scripts = ROOT / "scripts"
    uses = {}
    for name, block in rule_blocks().items():
        script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', block)
        if not script:
            continue
        text = (scripts / script.group(1)).read_text()
        calls = re.findall(r"(?:limit_threads|configure_backend)\(([^,)]+)", text)
        uses[name] = set(calls)
        if name == "svm_grid_search":
            assert calls == ["1"], calls
        elif "snakemake.params.threads" in calls:
            assert set(calls) == {"snakemake.params.threads"}, (name, calls)
            assert "threads: THREADS" in block, name
            assert "threads=THREADS" in block or "**keras_params(" in block, name
        else:
            assert "threads: 1" in block, (name, calls)
    assert {n for n, calls in uses.items() if "snakemake.params.threads" in calls} == (
        CONFIG_THREADS
    )


def test_half_the_cores_is_bounded():
    # The grid search's worker threads on a local run (rules/common.smk).
    assert [half_the_cores(n) for n in (1, 2, 3, 5, 8, 16, 17, 64)] == [1, 1, 1, 2, 4, 8, 8, 8]
    assert half_the_cores(64, most=16) == 16


def rules_by_env() -> dict[str, dict[str, str]]:
    """{env file name: {rule: its script}} from the rules' conda: and script: lines."""
    found = {}
    for name, block in rule_blocks().items():
        env = re.search(r'conda:\s*\n\s*"\.\./envs/([\w-]+\.yaml)"', block)
        script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', block)
        if env and script:
            found.setdefault(env.group(1), {})[name] = script.group(1)
    return found


def named_imports(script: str) -> set[str]:
    """Third-party top-level modules named in an import line of the script or of a
    package module it uses (followed through the package), wherever the line stands."""
    package = ROOT / "scripts" / "mnist_study"
    names, seen, todo = set(), set(), [ROOT / "scripts" / script]
    while todo:
        for node in ast.walk(ast.parse(todo.pop().read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.partition(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 0 and not module.startswith("mnist_study"):
                    names.add(module.partition(".")[0])
                    continue
                inner = module.removeprefix("mnist_study").lstrip(".").partition(".")[0]
                for name in [inner] if inner else [a.name for a in node.names]:
                    path = package / f"{name}.py"
                    if path.exists() and name not in seen:
                        seen.add(name)
                        todo.append(path)
    return names - set(sys.stdlib_module_names) - {"mnist_study"}


@pytest.mark.slow(50)
@pytest.mark.pipeline
@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_each_env_holds_what_its_rules_import(env, pipeline_run, tmp_path):
    # The pipeline's jobs recorded what each rule really imported (runtime.record_imports);
    # an environment with exactly this env's pip pins (and what they depend on) must
    # import all of it that the workflow's code names, for every rule naming the env.
    workdir, _ = pipeline_run
    recorded = {}
    for path in (workdir / IMPORTS).glob("*.txt"):
        rule = path.name.split(".", 1)[0]
        recorded.setdefault(rule, set()).update(path.read_text().split())
    rules = rules_by_env()[env.name]
    # Per rule: its script's top-level imports, run as they are (the package modules
    # and what they import on loading), then the modules the workflow's code imported
    # later in the run (inside functions): not the optional imports libraries try when
    # a package happens to be there (skops of pytest, say), nor those of functions the
    # rule never calls. A rule the bundled run does not reach (the download, a sweep's
    # table) gets the first part only.
    wanted = {
        rule: (script, named_imports(script) & recorded.get(rule, set()))
        for rule, script in rules.items()
    }
    venv = tmp_path / "venv"
    uv = str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    pins = [f"{name}=={version}" for name, version in env_pins(env)]
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), *pins], check=True
    )
    # One interpreter for the env (each rule's imports in turn: they are the same
    # environment's packages, so what one rule imported first cannot make another's
    # fail or pass): a rule's script's top-level import lines, then each module, naming
    # what fails.
    probe = (
        "import ast, importlib, json, sys\n"
        "for rule, (script, names) in json.loads(sys.argv[1]).items():\n"
        "    tree = ast.parse(open(script).read())\n"
        "    lines = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]\n"
        "    try:\n"
        "        exec(compile(ast.Module(lines, []), script, 'exec'), {})\n"
        "    except Exception as err:\n"
        "        print(f'rule {rule}: its import lines:', type(err).__name__, err)\n"
        "    for name in names:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except Exception as err:\n"
        "            print(f'rule {rule}:', name, type(err).__name__, err)\n"
    )
    env_vars = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env_vars |= {"PYTHONPATH": str(ROOT / "scripts"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    if "tensorflow" not in dict(env_pins(env)):  # the scoring's env: Keras on its numpy backend
        env_vars["KERAS_BACKEND"] = SCORING_BACKEND
    rules = {
        rule: [str(ROOT / "scripts" / script), sorted(modules)]
        for rule, (script, modules) in sorted(wanted.items())
    }
    proc = subprocess.run(
        [str(venv / "bin/python"), "-c", probe, json.dumps(rules)],
        capture_output=True,
        text=True,
        env=env_vars,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    missing = [f"{env.name}: {line}" for line in proc.stdout.splitlines()]
    assert missing == [], "\n".join(missing)
