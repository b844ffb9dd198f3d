import gzip

import numpy as np
import pytest

from mnist_study.idx import IdxError, encode_idx, parse_idx, read_idx_file, read_split


def images(n=3):
    return np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28).astype(np.uint8)


def write(path, raw, compress=True):
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def test_round_trip_gzip_and_plain(tmp_path):
    data = images()
    assert np.array_equal(read_idx_file(write(tmp_path / "a.gz", encode_idx(data))), data)
    assert np.array_equal(read_idx_file(write(tmp_path / "a", encode_idx(data), False)), data)


def test_read_split_good(tmp_path):
    labels = np.array([0, 9, 5], dtype=np.uint8)
    X, y = read_split(
        write(tmp_path / "i.gz", encode_idx(images())), write(tmp_path / "l.gz", encode_idx(labels))
    )
    assert X.shape == (3, 28, 28) and X.dtype == np.uint8
    assert y.tolist() == [0, 9, 5]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (encode_idx(images())[:-5], "truncated"),
        (encode_idx(images())[:10], "truncated header"),
        (b"\x00", "too short"),
        (encode_idx(images()) + b"\x00\x01", "2 trailing byte"),
        (b"\x01\x00" + encode_idx(images())[2:], "bad magic"),
        (b"\x00\x00\x0d" + encode_idx(images())[3:], "element type 0x0d"),
    ],
)
def test_bad_bytes_raise_clear_errors(raw, message):
    with pytest.raises(IdxError, match=message):
        parse_idx(raw, "file.idx")


def test_wrong_dimensions(tmp_path):
    labels = write(tmp_path / "l.gz", encode_idx(np.zeros(3, np.uint8)))
    with pytest.raises(IdxError, match="has 1 dimension"):
        read_split(labels, labels)


def test_images_must_be_28x28(tmp_path):
    small = write(tmp_path / "i.gz", encode_idx(np.zeros((3, 27, 28), np.uint8)))
    labels = write(tmp_path / "l.gz", encode_idx(np.zeros(3, np.uint8)))
    with pytest.raises(IdxError, match="expected 28x28"):
        read_split(small, labels)


def test_count_mismatch(tmp_path):
    imgs = write(tmp_path / "i.gz", encode_idx(images(3)))
    labels = write(tmp_path / "l.gz", encode_idx(np.zeros(4, np.uint8)))
    with pytest.raises(IdxError, match="3 images but l.gz has 4 labels"):
        read_split(imgs, labels)


def test_label_ten_is_rejected(tmp_path):
    imgs = write(tmp_path / "i.gz", encode_idx(images(3)))
    labels = write(tmp_path / "l.gz", encode_idx(np.array([1, 10, 2], np.uint8)))
    with pytest.raises(IdxError, match="label 10 at index 1 is outside the 10 classes, labels 0-9"):
        read_split(imgs, labels)


def test_truncated_gzip(tmp_path):
    raw = gzip.compress(encode_idx(images()))
    path = tmp_path / "cut.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IdxError, match="cut.gz: the gzip stream is truncated"):
        read_idx_file(path)


def test_corrupt_gzip(tmp_path):
    raw = bytearray(gzip.compress(encode_idx(images())))
    raw[20:40] = b"\xff" * 20
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(IdxError, match="bad.gz: the gzip stream is (corrupt|truncated)"):
        read_idx_file(path)
