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
    import joblib

    def refuse(obj, where):
        with open(where, "wb") as handle:
            handle.write(b"partial")
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(joblib, "dump", refuse)
    with pytest.raises(PermissionError):
        storage.save_model({"a": 1}, tmp_path / "model.joblib")
    assert list(tmp_path.iterdir()) == []


def test_atomic_files_get_normal_permissions(tmp_path):
    storage.write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert (tmp_path / "a.txt").stat().st_mode & 0o644 == 0o644


def test_checksum_round_trip(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    digest = storage.record_checksum(path)
    assert (tmp_path / "w.bin.sha256").read_text() == f"{digest}  w.bin\n"
    storage.verify_checksum(path)
    path.write_bytes(b"weightz")
    with pytest.raises(storage.TamperedFileError, match="was changed or corrupted"):
        storage.verify_checksum(path)
