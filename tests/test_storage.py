"""Writes are atomic: a failure half-way leaves no file under the final name."""

import errno

import numpy as np
import pyarrow.parquet as pq
import pytest

from mnist_study import data, storage


def fail_half_way(table, where, **kwargs):
    with open(where, "wb") as handle:
        handle.write(b"PAR1 partial")  # some bytes reach the disk first
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_writing_parquet_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(pq, "write_table", fail_half_way)
    path = tmp_path / "train.parquet"
    with pytest.raises(OSError, match="No space left"):
        data.write_split(path, np.zeros((2, 784), np.float32), np.zeros(2, np.uint8), {})
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "train.parquet"
    data.write_split(path, np.ones((2, 784), np.float32), np.ones(2, np.uint8), {"v": 1})
    monkeypatch.setattr(pq, "write_table", fail_half_way)
    with pytest.raises(OSError):
        data.write_split(path, np.zeros((2, 784), np.float32), np.zeros(2, np.uint8), {})
    assert data.read_split(path).metadata == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["train.parquet"]


def test_permission_error_while_saving_a_model_leaves_nothing(tmp_path, monkeypatch):
    import skops.io

    def refuse(obj, where):
        with open(where, "wb") as handle:
            handle.write(b"partial")
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(skops.io, "dump", refuse)
    with pytest.raises(PermissionError):
        storage.save_model({"a": 1}, tmp_path / "model.skops")
    assert list(tmp_path.iterdir()) == []


def test_atomic_files_get_normal_permissions(tmp_path):
    storage.write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert (tmp_path / "a.txt").stat().st_mode & 0o644 == 0o644


def test_writes_are_flushed_before_and_after_the_rename(tmp_path, monkeypatch):
    import os

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
    storage.write_text(tmp_path / "a.txt", "hello")
    # the file's data, the rename, then the directory entry
    assert events == ["fsync", "replace", "fsync"]


def test_a_crash_between_model_and_checksum_leaves_a_model_that_is_refused(tmp_path, monkeypatch):
    def crash(path):
        raise KeyboardInterrupt  # the process dies after the model's rename

    monkeypatch.setattr(storage, "record_checksum", crash)
    with pytest.raises(KeyboardInterrupt):
        storage.save_model({"a": 1}, tmp_path / "model.skops")
    assert (tmp_path / "model.skops").exists()
    with pytest.raises(storage.TamperedFileError, match="no recorded checksum"):
        storage.load_model(tmp_path / "model.skops")


def test_checksum_round_trip(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    digest = storage.record_checksum(path)
    assert (tmp_path / "w.bin.sha256").read_text() == f"{digest}  w.bin\n"
    storage.verify_checksum(path)
    path.write_bytes(b"weightz")
    with pytest.raises(storage.TamperedFileError, match="was changed or corrupted"):
        storage.verify_checksum(path)


# Calls that write a file: (object method or function name, index of the path argument).
WRITERS = {
    "write_text": None,
    "write_bytes": None,
    "savefig": 0,
    "to_csv": 0,
    "to_parquet": 0,
    "write_table": 1,
    "save": 0,
    "savez": 0,
    "dump": 1,
}


# The package's own writers, which go through atomic_path themselves (tested above).
OWN = {"figures", "storage", "data", "results", "net"}  # net: a NeuralNetwork


def _bound_names(node):
    """Names that `with atomic_path(...) as name` (or `open(name) as handle`) binds."""
    import ast

    names = set()
    for item in node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and isinstance(item.optional_vars, ast.Name):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("atomic_path", "open"):
                names.add(item.optional_vars.id)
    return names


def test_every_writer_in_the_package_and_scripts_goes_through_atomic_path():
    """A write whose target is not a name bound by `with atomic_path(...)` fails this test.

    Covers every module of the package and every rule script: a figure saved, a table
    written or a model dumped straight to its final name would be listed here.
    """
    import ast

    from conftest import ROOT

    bypasses = []
    files = sorted((ROOT / "scripts").glob("*.py")) + sorted(
        (ROOT / "scripts/mnist_study").glob("*.py")
    )
    for path in files:
        tree = ast.parse(path.read_text())
        safe: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.With):
                safe |= _bound_names(node)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            method = node.func.attr
            receiver = node.func.value
            if method not in WRITERS or (isinstance(receiver, ast.Name) and receiver.id in OWN):
                continue
            index = WRITERS[method]
            if index is None:  # path.write_text(...): the path is the object
                target = node.func.value
            elif len(node.args) > index:
                target = node.args[index]
            else:
                continue
            # handle and tmp names from `with atomic_path(...) as tmp, open(tmp) as handle`
            if isinstance(target, ast.Name) and target.id in safe:
                continue
            # tmp.with_suffix(...) staging next to the temporary file (Keras's .keras)
            if isinstance(target, ast.Name) and target.id == "staging":
                continue
            bypasses.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert bypasses == []
