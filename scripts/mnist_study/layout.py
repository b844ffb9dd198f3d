"""The workflow's own files: what a copy of it needs to run, and what its code hash covers."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

# The workflow's own files and folders, from its top (the tests and benchmarks copy
# these; the run log's code hash covers them).
WORKFLOW_FILES = (
    "Snakefile",
    "CITATION.cff",
    "LICENSE",
    "rules",
    "scripts",
    "envs",
    "config.yaml",
    "config",
    "report",
    "profiles",
)
# The workflow's top: this file is scripts/mnist_study/layout.py.
ROOT = Path(__file__).resolve().parents[2]
# The full Fashion-MNIST beside a checkout of this project (../shared/datasets, with its
# provenance and checksums), which the tests and benchmarks use for full-size runs.
FASHION_DIR = ROOT.parent / "shared" / "datasets" / "fashion-mnist"


def workflow_files(root: str | Path = ROOT) -> list[Path]:
    """Every file of the workflow under `root` (WORKFLOW_FILES, folders walked)."""
    root = Path(root)
    files = []
    for name in WORKFLOW_FILES:
        top = root / name
        files += [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
    return sorted(p for p in files if "__pycache__" not in p.parts)


def copy_workflow(dest: str | Path, root: str | Path = ROOT) -> Path:
    """A fresh copy of the workflow (as a clone would have it) in `dest`."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = Path(root) / name
        if src.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(src, dest / name, symlinks=True, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / name, follow_symlinks=False)
    return dest


def code_hash(root: str | Path = ROOT) -> str:
    """Hash of the workflow's code: every workflow file's path and bytes."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in workflow_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
