"""Writing files so that nothing half-written ever sits under a final name.

Every output of the pipeline goes through `atomic_path`: the data is written
to a temporary file in the same directory, flushed to the disk (fsync), and
renamed into place only once it is complete; the directory is flushed after the
rename too, so a crash, a full disk, a kill or a power cut leaves either the old
file or no file, never an empty or truncated one under the final name.

Models also get a `.sha256` file beside them, checked before they are loaded. The
model is renamed into place first and its checksum written last: a crash between
the two leaves a model without a `.sha256` (Snakemake removes a job's old outputs
before it runs it), which every load refuses ("no recorded checksum"), and
Snakemake marks the job incomplete so the next run redoes it. A checksum can never
vouch for a model that was not completely written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import PipelineError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `final`; rename it to `final` on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file private (0600); give it the permissions of a normal file.
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, final)
        _fsync(final.parent)  # the rename itself, recorded in the directory
    finally:
        tmp_path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file's (or a directory's) data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class TamperedFileError(PipelineError, RuntimeError):
    """A saved model no longer matches the checksum recorded when it was written."""

    advice = (
        "Rerun the job that wrote it (snakemake --forcerun <its rule>, or delete the file) "
        "rather than trusting it"
    )


def checksum_path(path: str | Path) -> Path:
    return Path(f"{path}.sha256")


def record_checksum(path: str | Path) -> str:
    """Write `<path>.sha256` in the `sha256sum` format and return the digest."""
    digest = sha256_file(path)
    write_text(checksum_path(path), f"{digest}  {Path(path).name}\n")
    return digest


def verify_checksum(path: str | Path) -> None:
    """Refuse to go on unless `path` matches its recorded `.sha256`."""
    record = checksum_path(path)
    if not record.exists():
        raise TamperedFileError(f"{path}: no recorded checksum at {record}; refusing to load it")
    expected = record.read_text().split()[0]
    actual = sha256_file(path)
    if actual != expected:
        raise TamperedFileError(
            f"{path}: sha256 is {actual} but {expected} was recorded when it was written; "
            "the file was changed or corrupted, refusing to load it"
        )


def write_table(frame, path: str | Path) -> None:
    """Write a pandas DataFrame as CSV, Parquet or Markdown, chosen by the suffix."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False, float_format="%.6g")
        elif path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False, engine="pyarrow")
        elif path.suffix == ".md":
            tmp.write_text(frame.to_markdown(index=False, floatfmt=".4g") + "\n")
        else:
            raise ValueError(f"{path}: unsupported table format {path.suffix!r}")


def write_tables(frame, paths) -> None:
    """Write one table to each of `paths` (CSV, Parquet or Markdown by the suffix)."""
    for path in paths:
        write_table(frame, path)


# Every type a saved SVM file may hold: the final SVM (alone or in a pipeline after a
# PCA) and the plain data its attributes are made of. Anything else in a file, even a
# type skops itself would trust (a scikit-learn transformer, a numpy function), is
# refused before any object is built from the file.
TRUSTED_MODEL_TYPES = [
    "sklearn.decomposition._pca.PCA",
    "sklearn.pipeline.Pipeline",
    "sklearn.svm._classes.SVC",
]
_PLAIN_DATA_TYPES = {
    "builtins.bool", "builtins.dict", "builtins.float", "builtins.int", "builtins.list",
    "builtins.NoneType", "builtins.str", "builtins.tuple", "numpy.dtype", "numpy.ndarray",
    "numpy.float32", "numpy.float64", "numpy.int32", "numpy.int64",
}  # fmt: skip


class UntrustedModelError(PipelineError, RuntimeError):
    """A model file holds types that loading it would have to trust."""

    advice = "Load only model files this pipeline wrote; rerun the job that writes it"


def model_file_types(path: str | Path) -> set[str]:
    """Every type named in a skops file's schema (its `schema.json`), read as data."""
    import json
    import zipfile

    def walk(node):
        if isinstance(node, dict):
            if "__class__" in node:
                yield f"{node.get('__module__')}.{node['__class__']}"
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UntrustedModelError(f"{path}: not a skops model file ({error})") from error
    return set(walk(schema))


def save_model(model: Any, path: str | Path) -> str:
    """Save a scikit-learn model with skops (no pickle), atomically, and record its sha256."""
    import skops.io

    with atomic_path(path) as tmp:
        skops.io.dump(model, tmp)
    return record_checksum(path)


def load_model(path: str | Path, trusted=TRUSTED_MODEL_TYPES) -> Any:
    """Load a model written by `save_model`: its sha256 first, then only trusted types.

    skops builds the objects from a description of them, running no code from the file;
    a file that names any type beyond `trusted` (by default `TRUSTED_MODEL_TYPES`; a
    model of the config's own, own_models.trusted_types) and plain data is refused
    before anything is built from it, and skops's own check runs as well.
    """
    import skops.io

    verify_checksum(path)
    foreign = sorted(model_file_types(path) - set(trusted) - _PLAIN_DATA_TYPES)
    if foreign:
        raise UntrustedModelError(
            f"{path}: holds types this pipeline does not trust ({', '.join(foreign)}); "
            "refusing to load it"
        )
    return skops.io.load(path, trusted=list(trusted))
