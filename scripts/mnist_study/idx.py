"""A strict reader for the IDX files MNIST and Fashion-MNIST are published in.

IDX is big-endian: two zero bytes, one byte for the element type (0x08 is
unsigned byte), one byte for the number of dimensions, one uint32 per
dimension, then the data in C order. Every way a file can be wrong raises
`IdxError` with a message that names the file and says what was found.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .errors import PipelineError

UNSIGNED_BYTE = 0x08
IMAGE_SIDE = 28
NUM_CLASSES = 10


class IdxError(PipelineError, ValueError):
    """The file is not a well-formed IDX file of the expected kind."""

    advice = "The file is not a valid MNIST-format (IDX) file: replace it with an intact copy"


def decompress(raw: bytes, name: str) -> bytes:
    """Return the IDX bytes of `raw`, decompressing it when it is gzip."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as err:
        raise IdxError(f"{name}: the gzip stream is truncated ({len(raw)} bytes read)") from err
    except (OSError, zlib.error) as err:
        raise IdxError(f"{name}: the gzip stream is corrupt ({err})") from err


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse uncompressed IDX bytes into a uint8 array, checking every header field."""
    if len(data) < 4:
        raise IdxError(f"{name}: {len(data)} bytes is too short for an IDX header")
    if data[0] != 0 or data[1] != 0:
        raise IdxError(
            f"{name}: bad magic number 0x{data[:4].hex()}; an IDX file starts with two zero bytes"
        )
    dtype_code, dims = data[2], data[3]
    if dtype_code != UNSIGNED_BYTE:
        raise IdxError(
            f"{name}: element type 0x{dtype_code:02x} is not supported; "
            f"MNIST files hold unsigned bytes (0x08)"
        )
    if ndim is not None and dims != ndim:
        raise IdxError(f"{name}: has {dims} dimension(s), expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise IdxError(f"{name}: truncated header ({len(data)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=dims, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) < expected:
        raise IdxError(
            f"{name}: truncated: shape {shape} needs {expected} bytes, the file has {len(data)}"
        )
    if len(data) > expected:
        raise IdxError(
            f"{name}: {len(data) - expected} trailing byte(s) after the data of shape {shape}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def check_images(images: np.ndarray, name: str) -> np.ndarray:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise IdxError(f"{name}: images have shape {images.shape[1:]}, expected 28x28")
    return images


def check_labels(
    labels: np.ndarray, name: str, classes: int = NUM_CLASSES, offset: int = 0, dataset=None
) -> np.ndarray:
    """The labels less `offset`, each a class index 0..classes-1, as uint8.

    A label outside `offset`..`offset + classes - 1` is an error naming the file (and the
    dataset), the first bad label and its index.
    """
    if labels.ndim != 1:
        raise IdxError(f"{name}: labels must be one-dimensional, got shape {labels.shape}")
    shifted = labels.astype(np.int64) - offset
    bad = (shifted < 0) | (shifted >= classes)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = f"dataset {dataset}: {name}" if dataset else name
        offset_note = f" (label_offset {offset})" if offset else ""
        raise IdxError(
            f"{where}: label {int(labels[first])} at index {first} is outside the "
            f"{classes} classes, labels {offset}-{offset + classes - 1}{offset_note} "
            f"({int(bad.sum())} bad label(s) in all)"
        )
    return shifted.astype(np.uint8)


def read_idx_file(path: str | Path, ndim: int | None = None) -> np.ndarray:
    path = Path(path)
    return parse_idx(decompress(path.read_bytes(), path.name), path.name, ndim)


def read_split(
    images_path: str | Path,
    labels_path: str | Path,
    classes: int = NUM_CLASSES,
    offset: int = 0,
    dataset: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one split (images and labels), checking that they belong together.

    The labels come back less `offset`, as class indices 0..classes-1.
    """
    images = check_images(read_idx_file(images_path, ndim=3), Path(images_path).name)
    labels = check_labels(
        read_idx_file(labels_path, ndim=1), Path(labels_path).name, classes, offset, dataset
    )
    if len(images) != len(labels):
        raise IdxError(
            f"{Path(images_path).name} has {len(images)} images but "
            f"{Path(labels_path).name} has {len(labels)} labels"
        )
    return images, labels


def encode_idx(array: np.ndarray) -> bytes:
    """Write a uint8 array as IDX bytes (used to build test fixtures and subsets)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UNSIGNED_BYTE, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.tobytes()
