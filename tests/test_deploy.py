"""The workflow deployed the Snakemake way: as a module of another workflow, and with -d.

Both keep code and results apart: the workflow's own files (config.yaml, the package, the
bundled sample, the schema) are found from the workflow's directory, the results land in
the consumer's working directory, and a consumer's config that gives some keys gets the
schema's defaults for the rest. A module read from GitHub (what snakedeploy writes) or
from a URL is fetched through Snakemake's source cache, its bundled sample downloaded.
"""

import functools
import hashlib
import http.server
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import copy_workflow, snakemake_command
from mnist_study.datasets import BUILT_IN_DATASETS, bundled_dir

# Every test here starts Snakemake.
pytestmark = pytest.mark.pipeline

DATA_AND_PCA = [
    "results/mnist-sample/data/train.parquet",
    "results/mnist-sample/pca/components_for_variance.csv",
]


# Snakemake's warning when a module's `localrules:` names miss its prefixed rules.
LOCALRULES_MISSED = "localrules directive specifies rules that are not present"


def snakemake(cwd, *args, check=True, env=None):
    proc = subprocess.run(
        [*snakemake_command(), "--cores", "2", *args],
        cwd=cwd, capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    if check:
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def levels(path):
    return pd.read_csv(path)["variance_level"].tolist()


def consumer_project(project: Path, snakefile: str, configfile: str = "") -> Path:
    """A consumer workflow in `project` using every rule of the module at `snakefile` (a
    quoted path or URL, or a github()/gitfile() call), prefixed mnist_."""
    project.mkdir()
    head = f'configfile: "{configfile}"\n\n\n' if configfile else ""
    module = textwrap.dedent(f"""\
        module mnist:
            snakefile:
                {snakefile}
            config:
                config


        use rule * from mnist as mnist_*
    """)
    (project / "Snakefile").write_text(head + module)
    return project


def test_a_consumer_workflow_imports_it_as_a_module(tmp_path):
    workflow = copy_workflow(tmp_path / "mnist-workflow")
    snakefile = f'"{workflow / "Snakefile"}"'
    project = consumer_project(tmp_path / "my-project", snakefile, "config/config.yaml")
    # Only the keys the consumer cares about: the rest are the schema's defaults.
    (project / "config").mkdir()
    settings = {"repeats": {"seeds": [0, 1]}, "pca": {"variance_levels": [0.5, 0.99]}}
    (project / "config/config.yaml").write_text(yaml.safe_dump(settings))

    snakemake(project, *DATA_AND_PCA)
    out = project / "results/mnist-sample"
    assert levels(out / "pca/components_for_variance.csv") == [0.5, 0.99]
    assert (out / "logs/prepare_data.log").is_file()
    assert not (workflow / "results").exists()  # nothing written beside the code

    # The whole study plans from the module too: every rule, prefixed, once per seed.
    proc = snakemake(project, "mnist_all", "--dry-run", "--quiet", "rules")
    text = proc.stdout + proc.stderr
    for rule in ("mnist_compare_svm_kernels", "mnist_train_nn_numpy", "mnist_train_cnn"):
        assert any(line.split() == [rule, "2"] for line in text.splitlines()), text
    assert "mnist_prepare_data" not in text  # done above: it does not run again
    assert LOCALRULES_MISSED not in text  # the bookkeeping rules stay local, prefixed too


def test_a_run_with_the_working_directory_elsewhere(tmp_path):
    workflow = copy_workflow(tmp_path / "mnist-workflow")
    elsewhere = tmp_path / "runs" / "first"
    snakemake(
        tmp_path, "--snakefile", str(workflow / "Snakefile"), "--directory", str(elsewhere),
        *DATA_AND_PCA,
    )  # fmt: skip
    out = elsewhere / "results/mnist-sample"
    assert levels(out / "pca/components_for_variance.csv") == [0.8, 0.9, 0.95]  # config.yaml's
    assert not (workflow / "results").exists()
    # Nothing changed: nothing reruns from there either.
    proc = snakemake(
        tmp_path, "-s", str(workflow / "Snakefile"), "-d", str(elsewhere), "--dry-run",
        *DATA_AND_PCA,
    )  # fmt: skip
    assert "Nothing to be done" in proc.stdout + proc.stderr


def git_repository(path: Path, tag: str) -> Path:
    """The workflow committed in a fresh git repository at `path`, tagged `tag`."""
    copy_workflow(path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(path)]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", tag], ["tag", tag]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    return path


def test_snakedeploys_deployment_from_github_runs_unchanged(tmp_path):
    # The real snakedeploy, on a repository at a local path: its GitHub provider takes
    # any source whose address contains "github", clones it with git, and writes the
    # module as github("<owner>/<name>", path="Snakefile", tag="v1"), as for GitHub.
    repo = git_repository(tmp_path / "github.com/study/mnist-study", "v1")
    dest = tmp_path / "analysis"
    snakedeploy = str(Path(sys.executable).with_name("snakedeploy"))  # its console script
    deploy = [snakedeploy, "deploy-workflow", str(repo), str(dest)]
    subprocess.run([*deploy, "--tag", "v1"], check=True, capture_output=True)
    assert (
        'github("study/mnist-study", path="Snakefile", tag="v1")'
        in (dest / "workflow/Snakefile").read_text()
    )
    # Snakemake reads github() files from its own clone of the repository in its cache;
    # put that clone there first, so that nothing is fetched from github.com.
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    clone = tmp_path / "cache/snakemake/snakemake/source-cache/snakemake-git-cache"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(repo), str(clone / "github.com/study/mnist-study")],
        check=True,
    )

    # snakedeploy copied config/ (config.yaml): the consumer edits their copy. The
    # bundled sample would come from raw.githubusercontent.com; here it is local data.
    settings = yaml.safe_load((dest / "config/config.yaml").read_text())
    assert settings["dataset"] == "mnist-sample"
    proc = snakemake(dest, "--dry-run", env=env)
    text = proc.stdout + proc.stderr
    url = "https://raw.githubusercontent.com/study/mnist-study/v1/scripts/mnist_study/bundled"
    assert f"downloaded from {url}/mnist-sample" in text, text[-3000:]
    assert any(line.split() == ["download_dataset", "4"] for line in text.splitlines()), text
    assert LOCALRULES_MISSED not in text

    settings["dataset_dir"] = str(bundled_dir("mnist-sample"))
    settings["pca"]["variance_levels"] = [0.5, 0.99]
    (dest / "config/config.yaml").write_text(yaml.safe_dump(settings))
    snakemake(dest, *DATA_AND_PCA, env=env)
    assert levels(dest / "results/mnist-sample/pca/components_for_variance.csv") == [0.5, 0.99]
    assert not (repo / "results").exists()
    # The cached files keep their commit's time: a second run has nothing to do.
    proc = snakemake(dest, "--dry-run", *DATA_AND_PCA, env=env)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_module_read_from_a_url_downloads_its_bundled_sample(tmp_path):
    workflow = copy_workflow(tmp_path / "served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(workflow))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    project = consumer_project(tmp_path / "project", f'"{url}/Snakefile"')
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    try:
        proc = snakemake(project, "results/mnist-sample/data/train.parquet", env=env)
    finally:
        httpd.shutdown()
        httpd.server_close()
    text = proc.stdout + proc.stderr
    # The four files came from the served copy, each checked against its pinned hash.
    spec = BUILT_IN_DATASETS["mnist-sample"]
    for name, pinned in spec.gz_sha256.items():
        raw = project / "results/mnist-sample/raw" / name
        assert hashlib.sha256(raw.read_bytes()).hexdigest() in pinned
    assert f"downloaded from {url}/scripts/mnist_study/bundled/mnist-sample" in text
    # Snakemake has no time for a URL's files, so it says that every run reruns.
    assert "every run reruns the jobs that use them" in text, text[-3000:]


def test_a_gitfile_module_says_what_to_use_instead(tmp_path):
    # Snakemake caches a gitfile() module's files as "<name>.py@<ref>", which Python
    # cannot import the package from.
    repo = git_repository(tmp_path / "mnist-workflow", "v1")
    gitfile = f'gitfile("{repo}", path="Snakefile", ref="v1")'
    project = consumer_project(tmp_path / "project", gitfile)
    proc = snakemake(project, "--dry-run", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cannot offer from a gitfile() module" in text and "Traceback" not in text, text
    assert "github(...)" in text


def test_a_name_imported_from_the_package_itself_must_be_a_module(tmp_path):
    # A remote workflow's files can be fetched by name but not listed, so the rules'
    # code inputs take every name imported from the package as a module's.
    workflow = copy_workflow(tmp_path / "mnist-workflow")
    script = workflow / "scripts/pca_variance.py"
    script.write_text("from mnist_study import __version__\n" + script.read_text())
    proc = snakemake(workflow, "--dry-run", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in text, text[-3000:]
    assert "mnist_study has no module __version__" in text, text[-3000:]
