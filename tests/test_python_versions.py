"""The set-up works on whichever Python 3.11-3.13 a machine has, with the same results.

The README's commands start from `python3`; nothing in the project pins one minor
version; every locked package installs from a wheel on each version (or is named
here as built from source); and the data and PCA stages give identical tables
under every version this machine has.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from conftest import DETERMINISTIC, ROOT, copy_workflow

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())
SUPPORTED = ("3.11", "3.12", "3.13")
# Locked packages that have no wheel for Linux x86-64 and are built from their sdist
# at install time (README.md): pure Python, seconds to build. connection-pool comes with
# Snakemake, jsonpath-rw with mlcroissant (the tests' Croissant reader).
BUILT_FROM_SOURCE = {"connection-pool", "jsonpath-rw"}
# Packages the lock resolves to another release on 3.12 and 3.13 than on 3.11 (their
# newest release needs 3.12), as the README lists them.
SPLIT_BY_VERSION = {
    "numpy": ("2.4.6", "2.5.5"),
    "scipy": ("1.17.1", "1.18.1"),
    "jax": ("0.10.2", "0.12.0.1"),
    "jaxlib": ("0.10.2", "0.12.0.1"),
    "networkx": ("3.6.1", "3.7"),
    "contourpy": ("1.3.3", "1.4.0"),
}
# Packages installed on 3.11 alone, as the README says: the backport that pyshacl
# (roc-validator's, tests/test_crate.py) needs below 3.12, and its dependency.
ONLY_ON_3_11 = {"importlib-metadata", "lazy-importer"}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(# 1\..*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_commands_start_from_python3_and_ci_runs_the_test_command():
    setup, tests = readme_commands()
    for command in (setup, tests):
        assert command.startswith("python3 -m venv .venv && "), command
    assert setup.endswith("snakemake --cores all") and tests.endswith(".venv/bin/pytest")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == tests


def test_no_file_pins_a_single_python_version():
    assert not (ROOT / ".python-version").exists()
    declared = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert SpecifierSet(LOCK["requires-python"]) == declared
    for version in SUPPORTED:
        assert f"{version}.0" in declared
    assert "3.10.9" not in declared and "3.14.0" not in declared
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())["dependencies"]
        python = [d for d in spec if isinstance(d, str) and d.startswith("python")]
        assert len(python) == 1, env.name
        assert SpecifierSet(python[0].removeprefix("python")) == declared, env.name


def _environment(version: str) -> dict[str, str]:
    return {
        "python_version": version,
        "python_full_version": f"{version}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "extra": "",
    }


def _applies(marker: str | None, env: dict) -> bool:
    return marker is None or Marker(marker).evaluate(env)


def installed_packages(version: str) -> dict[str, dict]:
    """The locked packages `uv sync --all-extras` installs on Linux x86-64 under `version`.

    Walks the lock's dependency graph from the project, evaluating each edge's marker.
    """
    env = _environment(version)
    by_name: dict[str, list[dict]] = {}
    for package in LOCK["package"]:
        by_name.setdefault(package["name"], []).append(package)

    def resolve(dep: dict) -> dict:
        candidates = by_name[dep["name"]]
        if "version" in dep:
            candidates = [p for p in candidates if p["version"] == dep["version"]]
        fitting = [
            p
            for p in candidates
            if not p.get("resolution-markers")
            or any(_applies(m, env) for m in p["resolution-markers"])
        ]
        assert len(fitting) == 1, (dep, [p["version"] for p in fitting])
        return fitting[0]

    root = by_name[PYPROJECT["project"]["name"]][0]
    edges = list(root.get("dependencies", []))
    for group in (root.get("optional-dependencies", {}), root.get("dev-dependencies", {})):
        for deps in group.values():
            edges.extend(deps)
    seen: dict[str, dict] = {}
    while edges:
        dep = edges.pop()
        if not _applies(dep.get("marker"), env):
            continue
        package = resolve(dep)
        if package["name"] in seen:
            continue
        seen[package["name"]] = package
        edges.extend(package.get("dependencies", []))
        for extra in dep.get("extra", []):
            edges.extend(package.get("optional-dependencies", {}).get(extra, []))
    return seen


def _has_wheel(package: dict, version: str) -> bool:
    cp = "cp" + version.replace(".", "")
    for wheel in package.get("wheels", []):
        python, abi, platform = wheel["url"].rsplit("/", 1)[1][: -len(".whl")].split("-")[-3:]
        if platform != "any" and "x86_64" not in platform:
            continue
        if platform != "any" and "linux" not in platform:
            continue
        tags = python.split(".")
        if any(t in ("py3", "py2") for t in tags) or cp in tags:
            return True
        if abi == "abi3" and any(t.startswith("cp3") and int(t[3:]) <= int(cp[3:]) for t in tags):
            return True
    return False


@pytest.mark.parametrize("version", SUPPORTED)
def test_every_locked_package_has_a_wheel_for_each_version(version):
    packages = installed_packages(version)
    assert {"snakemake", "tensorflow", "keras", "numpy", "scikit-learn"} <= set(packages)
    without = {name for name, p in packages.items() if not _has_wheel(p, version)}
    assert without == BUILT_FROM_SOURCE, f"Python {version}: no Linux x86-64 wheel for {without}"
    # The walk evaluates markers: pytest needs colorama on Windows only.
    assert "colorama" not in packages


def test_the_lock_differs_between_versions_only_where_the_readme_says():
    on = {v: {n: p["version"] for n, p in installed_packages(v).items()} for v in SUPPORTED}
    assert on["3.12"] == on["3.13"]
    old, new = on["3.11"], on["3.12"]
    assert set(new) <= set(old) and set(old) - set(new) == ONLY_ON_3_11
    differ = {n: (old[n], new[n]) for n in new if old[n] != new[n]}
    assert differ == SPLIT_BY_VERSION
    readme = (ROOT / "README.md").read_text()
    for name, (old, new) in differ.items():
        assert name in readme and old in readme and new in readme
    for name in ONLY_ON_3_11:
        assert f"{name} {on['3.11'][name]}" in readme


def _interpreter(version: str) -> str | None:
    """A `python3` of this minor version: pyenv's (PYENV_VERSION) or `pythonX.Y` on PATH."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        versions = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True
        ).stdout.split()
        found = sorted(
            (v for v in versions if v.startswith(f"{version}.")),
            key=lambda v: tuple(map(int, v.split("."))),
        )
        if found:
            return found[-1]
    return None


# The deterministic outputs of the data and PCA stages (the tables, not the Parquet files,
# which are compared as data below).
STAGE_OUTPUTS = [
    name
    for name in DETERMINISTIC
    if name.startswith(("data/", "pca/")) and not name.endswith(".parquet")
]
# Tables of cumulative explained variance: compared to 1e-5, the others byte for byte.
CUMULATIVE_TABLES = {"pca/explained_variance.csv", "pca/components_for_variance.csv"}


@pytest.mark.slow(125)
@pytest.mark.pipeline
def test_data_and_pca_stages_agree_on_every_python_version(tmp_path):
    """The README's set-up under each version, then the data and PCA stages.

    TensorFlow (550 MB) is left out of these environments: neither stage imports it.
    """
    # The oldest and newest supported versions: 3.12 installs what 3.13 does (the lock
    # test above shows it), so it adds no package version of its own.
    versions = {v: _interpreter(v) for v in (SUPPORTED[0], SUPPORTED[-1])}
    present = {v: p for v, p in versions.items() if p}
    if len(present) < 2:
        pytest.skip(f"fewer than two of Python {', '.join(SUPPORTED)} on this machine")
    uv = str(Path(sys.executable).with_name("uv"))
    outputs = {}
    for version, pyenv_version in present.items():
        workdir = copy_workflow(tmp_path / version)
        for name in ("pyproject.toml", "uv.lock", "README.md"):
            shutil.copy2(ROOT / name, workdir / name)
        env = {**os.environ, "PYENV_VERSION": pyenv_version, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("VIRTUAL_ENV", None)
        steps = [
            ["python3", "-m", "venv", ".venv"],
            [uv, "sync", "--frozen", "--no-dev", "--no-install-package", "tensorflow"],
            [
                ".venv/bin/snakemake",
                "--cores",
                "2",
                *(f"results/mnist-sample/{p}" for p in STAGE_OUTPUTS),
                "results/mnist-sample/pca/pca2_scatter.png",
            ],
        ]
        for step in steps:
            proc = subprocess.run(
                step, cwd=workdir, env=env, capture_output=True, text=True, timeout=900
            )
            assert proc.returncode == 0, f"{version}: {step}\n{proc.stdout}\n{proc.stderr[-4000:]}"
        reported = subprocess.run(
            [".venv/bin/python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert reported == version
        outputs[version] = {
            p: (workdir / "results" / "mnist-sample" / p).read_bytes() for p in STAGE_OUTPUTS
        }
        outputs[version]["train.parquet"] = pd.read_parquet(
            workdir / "results/mnist-sample/data/train.parquet"
        )
    first, *others = present
    for version in others:
        for name, content in outputs[first].items():
            theirs = outputs[version][name]
            if name.endswith(".parquet"):
                assert content.equals(theirs), (first, version, name)
            elif name in CUMULATIVE_TABLES:
                # numpy 2.4 (3.11) and 2.5 (3.12+) may differ in a float32 ratio's last
                # bit, which can flip the sixth printed digit of a cumulative sum
                # (0.515999 against 0.516): counts exactly, ratios to 1e-5.
                ours, other = (pd.read_csv(io.BytesIO(c)) for c in (content, theirs))
                assert list(ours.columns) == list(other.columns), (first, version, name)
                floats = ours.select_dtypes("float").columns
                exact = [c for c in ours.columns if c not in floats]
                assert ours[exact].equals(other[exact]), (first, version, name)
                assert np.allclose(ours[floats], other[floats], rtol=1e-5, atol=1e-7), name
            else:
                assert content == theirs, (first, version, name)
