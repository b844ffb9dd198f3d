import gzip
import hashlib
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, make_dataset_dir
from mnist_study import data
from mnist_study.datasets import (
    BUILT_IN_DATASETS,
    ChecksumError,
    DatasetError,
    DatasetSpec,
    verify_directory,
    verify_file,
)
from mnist_study.storage import sha256_file


def test_scale_and_flatten():
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 0, 0] = 255
    images[1, 27, 27] = 51
    X = data.scale_and_flatten(images)
    assert X.shape == (2, 784) and X.dtype == np.float32
    assert X[0, 0] == 1.0 and X[1, 783] == pytest.approx(0.2)
    # Every grey level k lands on k/255: 0 and 255 at the ends, the rest between.
    levels = data.scale_and_flatten((np.arange(784) % 256).astype(np.uint8).reshape(1, 28, 28))
    assert levels.min() == 0.0 and levels.max() == 1.0
    assert np.array_equal(np.round(levels[0] * 255), np.arange(784) % 256)
    with pytest.raises(TypeError):
        data.scale_and_flatten(images.astype(np.float64))


def test_parquet_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.random((37, 784), dtype=np.float32)
    y = rng.integers(0, 10, 37).astype(np.uint8)
    meta = {"dataset": "toy", "split": "train", "source_sha256": {"a": "b" * 64}}
    path = tmp_path / "train.parquet"
    data.write_split(path, X, y, meta)
    back = data.read_split(path)
    assert back.X.dtype == np.float32 and back.y.dtype == np.uint8
    assert back.X.shape == (37, 784)
    assert np.array_equal(back.X, X) and np.array_equal(back.y, y)
    assert back.metadata == meta
    schema = pq.read_schema(path)
    pixels = schema.field("pixels").type
    assert pa.types.is_fixed_size_list(pixels) and pixels.list_size == 784
    assert pixels.value_type == pa.float32()
    assert [p.name for p in tmp_path.iterdir()] == ["train.parquet"]


def test_write_split_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="do not fit"):
        data.write_split(tmp_path / "x.parquet", np.zeros((3, 783)), np.zeros(3), {})
    assert not (tmp_path / "x.parquet").exists()


def test_stratified_subset_is_seeded_and_balanced():
    y = np.repeat(np.arange(10), 50)
    a = data.stratified_subset(y, 100, seed=3)
    b = data.stratified_subset(y, 100, seed=3)
    assert np.array_equal(a, b) and len(a) == 100 and len(set(a)) == 100
    assert np.bincount(y[a]).tolist() == [10] * 10
    assert len(data.stratified_subset(y, 10_000, seed=0)) == 500


def test_bundled_sample_matches_pinned_checksums():
    spec = BUILT_IN_DATASETS["mnist-sample"]
    info = verify_directory(ROOT / "scripts/mnist_study/bundled/mnist-sample", spec)
    assert set(info) == {"train_images", "train_labels", "test_images", "test_labels"}


def toy_spec(directory):
    files = sorted(p.name for p in directory.iterdir())
    return DatasetSpec(
        name="toy",
        description="toy",
        gz_sha256={f: (sha256_file(directory / f),) for f in files},
        idx_sha256={
            f: hashlib.sha256(gzip.decompress((directory / f).read_bytes())).hexdigest()
            for f in files
        },
    )


def test_recompressed_file_is_accepted_by_content_hash(tmp_path):
    make_dataset_dir(tmp_path / "d")
    spec = toy_spec(tmp_path / "d")
    path = tmp_path / "d" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=7))
    assert verify_file(path, spec)["idx_sha256"] == spec.idx_sha256[path.name]


def test_checksum_mismatch_names_file_expected_and_actual(tmp_path):
    make_dataset_dir(tmp_path / "d")
    spec = toy_spec(tmp_path / "d")
    path = tmp_path / "d" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x03"))
    with pytest.raises(ChecksumError) as err:
        verify_file(path, spec)
    text = str(err.value)
    assert str(path) in text and spec.gz_sha256[path.name][0] in text
    assert sha256_file(path) in text


def test_directory_with_a_missing_file(tmp_path):
    make_dataset_dir(tmp_path / "d")
    spec = toy_spec(tmp_path / "d")
    (tmp_path / "d" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="lacks t10k-images-idx3-ubyte.gz"):
        verify_directory(tmp_path / "d", spec)
    shutil.rmtree(tmp_path / "d")
    with pytest.raises(DatasetError, match="does not exist"):
        verify_directory(tmp_path / "d", spec)


def test_predictions_must_hold_a_column_per_label(tmp_path):
    """A score matrix narrower than the labels (an SVM's raw decision values without a
    class it never saw) is refused, not written with column indexes as predictions."""
    with pytest.raises(ValueError, match="label 4 has no column"):
        data.write_predictions(tmp_path / "p.parquet", "m", np.arange(5), np.eye(5)[:, :4])
    assert not (tmp_path / "p.parquet").exists()


def test_runs_on_other_images_or_in_another_order_are_refused(tmp_path):
    """Each predictions file holds the test images' indices; the check compares every
    run with the first one read and names both, and the row where they part, in one
    line. A file written before the `image` column existed reads as the whole test set
    in order."""
    labels = np.array([0, 1, 2, 0, 1, 2])
    scores = np.eye(3)[labels]
    paths = {}
    for name, images, y in [
        ("same", None, labels),
        ("shuffled", [0, 1, 3, 2, 4, 5], labels),
        ("other", [0, 1, 2, 3, 4, 6], labels),
        ("fewer", [0, 1, 2, 3, 4], labels[:5]),
        ("relabelled", None, labels[[0, 1, 2, 0, 2, 2]]),
    ]:
        paths[name] = tmp_path / f"{name}.parquet"
        data.write_model_predictions(paths[name], {"m": (y, np.eye(3)[y])}, images)
    first = tmp_path / "first.parquet"
    data.write_model_predictions(first, {"a": (labels, scores), "b": (labels, scores)})
    assert data.check_predictions_aligned([first, paths["same"]]) == 3
    assert np.array_equal(
        data.read_predictions(paths["shuffled"])["m"]["image"], [0, 1, 3, 2, 4, 5]
    )
    expected = {
        "shuffled": "the same images in another order: row 2 holds image 3, not 2",
        "other": "other images: row 5 holds image 6, not 5",
        "fewer": "5 test images against 6",
        "relabelled": "other labels: image 4 is labelled 2, not 1",
    }
    for name, detail in expected.items():
        with pytest.raises(data.PredictionsMismatch) as caught:
            data.check_predictions_aligned([first, paths[name]])
        line = caught.value.line()
        assert "\n" not in line and detail in line, line
        assert f"{paths[name]}: m was scored on other test images than {first}: a" in line
    # A file without the image column (as written before it) is the test set in order.
    old = tmp_path / "old.parquet"
    pq.write_table(pq.read_table(paths["same"]).drop_columns(["image"]), old)
    assert np.array_equal(data.read_predictions(old)["m"]["image"], np.arange(6))
    assert data.check_predictions_aligned([first, old]) == 3


def test_a_rare_class_keeps_its_images_in_a_subset_and_is_said_once(caplog):
    """Classes 0-3 have 50 images each, class 4 three and class 5 one; a stratified
    subset of 40 would give class 4 about 0.6 images and cannot place class 5 at all
    (scikit-learn refuses a class of one image: before, the subset stopped there). Each
    rare class keeps at least `minimum` images, or all it has, each said in one line;
    the other classes are stratified as before."""
    y = np.concatenate([np.repeat(np.arange(4), 50), [4, 4, 4, 5]])
    with caplog.at_level("WARNING"):
        chosen = data.stratified_subset(y, 40, seed=1)
    lines = [r.getMessage() for r in caplog.records]
    counts = np.bincount(y[chosen], minlength=6)
    assert len(chosen) == 40 and len(set(chosen)) == 40
    assert counts[4] == 1 and counts[5] == 1 and counts[:4].sum() == 38
    assert counts[:4].min() >= 9  # the rest still stratified
    assert np.array_equal(chosen, data.stratified_subset(y, 40, seed=1))
    assert lines == [
        "class 4 has 3 training images, 0.588 expected in a stratified subset of 40: 1 kept "
        "(at least 1 of each class), the other classes stratified as usual",
        "class 5 has 1 training image, 0.196 expected in a stratified subset of 40: its "
        "only image kept, the other classes stratified as usual",
    ]
    _, rare = data.subset_indices(y, 40, seed=1, minimum=3)
    assert rare[4] == {"images": 3, "expected": pytest.approx(40 * 3 / 204), "kept": 3}
    # No rare class: the plain stratified subset, and not a word.
    caplog.clear()
    with caplog.at_level("WARNING"):
        plain = data.stratified_subset(y[:200], 40, seed=1)
    assert np.bincount(y[plain]).tolist() == [10] * 4 and not caplog.records


def test_a_class_absent_from_a_split_is_one_line_each():
    lines = data.absent_class_lines("test", [5, 0, 2], ["a", "b", "c"])
    assert lines == [
        "class 1 (b) has no test images: the models are scored on the other classes: no "
        "ROC curve for it, and the macro AUC averages the classes present"
    ]
    assert data.absent_class_lines("train", [0, 1, 0], ["a", "b", "c"])[1].startswith(
        "class 2 (c) has no training images: no model learns it"
    )
