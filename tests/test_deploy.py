"""The workflow deployed the Snakemake way: as a module of another workflow, and with -d.

Both keep code and results apart: the workflow's own files (config.yaml, the package, the
bundled sample, the schema) are found from the workflow's directory, the results land in
the consumer's working directory, and a consumer's config that gives some keys gets the
schema's defaults for the rest.
"""

import subprocess
import textwrap

import pandas as pd
import yaml

from conftest import SNAKEMAKE, copy_workflow

DATA_AND_PCA = [
    "results/mnist-sample/data/train.parquet",
    "results/mnist-sample/pca/components_for_variance.csv",
]


def snakemake(cwd, *args, check=True):
    proc = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    if check:
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc


def levels(path):
    return pd.read_csv(path)["variance_level"].tolist()


def test_a_consumer_workflow_imports_it_as_a_module(tmp_path):
    workflow = copy_workflow(tmp_path / "mnist-workflow")
    project = tmp_path / "my-project"
    project.mkdir()
    (project / "Snakefile").write_text(
        textwrap.dedent(f"""\
            configfile: "config/config.yaml"


            module mnist:
                snakefile:
                    "{workflow / "Snakefile"}"
                config:
                    config


            use rule * from mnist as mnist_*
        """)
    )
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


def test_a_module_from_a_git_reference_says_to_use_a_checkout(tmp_path):
    # gitfile() is the offline twin of snakedeploy's github(): Snakemake reads the
    # files from git objects, not from a folder the package could be imported from.
    workflow = copy_workflow(tmp_path / "mnist-workflow")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(workflow)]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "v1"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Snakefile").write_text(
        textwrap.dedent(f"""\
            module mnist:
                snakefile:
                    gitfile("{workflow}", path="Snakefile", ref="v1")
                config:
                    config


            use rule * from mnist as mnist_*
        """)
    )
    proc = snakemake(project, "--dry-run", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "must be a local checkout" in text and "Traceback" not in text, text[-3000:]
