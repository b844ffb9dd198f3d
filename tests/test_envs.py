"""The conda environments pin the same versions as the lock file."""

import re
import tomllib

import pytest
import yaml

from conftest import ROOT

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


def test_every_rule_declares_threads_memory_and_runtime():
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        blocks = re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]
        for block in blocks:
            name = block.split(":", 1)[0]
            for needed in ("threads:", "mem_mb=", "runtime="):
                assert needed in block, f"rule {name} in {smk.name} lacks {needed}"
