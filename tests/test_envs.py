"""The conda environments pin the same versions as the lock file."""

import re
import tomllib

import pytest
import yaml

from conftest import ROOT, copy_workflow, run_snakemake
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
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0]
            script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', block).group(1)
            assert f'code=script_imports("{script}")' in block, f"rule {name}: another script"


def test_every_rule_declares_threads_memory_and_runtime():
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        blocks = re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]
        for block in blocks:
            name = block.split(":", 1)[0]
            for needed in ("threads:", "mem_mb=", "runtime="):
                assert needed in block, f"rule {name} in {smk.name} lacks {needed}"


def planned_threads(workdir, cores: int) -> dict[str, int]:
    """Threads of every job a dry run of the whole workflow plans with --cores."""
    proc = run_snakemake(workdir, "--cores", str(cores), "--dry-run", "--forceall")
    blocks = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\[|\Z)", proc.stdout, re.M | re.S)
    assert blocks, proc.stdout
    threads = {}
    for name, body in blocks:
        found = re.search(r"^\s+threads: (\d+)$", body, re.M)
        threads[name] = int(found.group(1)) if found else 1
    return threads


@pytest.mark.parametrize(("cores", "half"), [(1, 1), (2, 1), (3, 1), (8, 4), (32, 8)])
def test_multithreaded_rules_take_half_the_cores(tmp_path, cores, half):
    # Two of them work side by side on a local run; none asks for more than the
    # rules' maximum of 8.
    threads = planned_threads(copy_workflow(tmp_path), cores)
    multi = {"train_mlp", "train_cnn", "svm_grid_search", "train_nn_numpy"}
    assert {threads[name] for name in multi} == {half}
    assert set(threads.values()) - {half} <= {1}


def test_half_the_cores_is_bounded():
    # The rule the workflow and bench/run.py share.
    assert [half_the_cores(n) for n in (1, 2, 3, 5, 8, 16, 17, 64)] == [1, 1, 1, 2, 4, 8, 8, 8]
    assert half_the_cores(64, most=16) == 16
