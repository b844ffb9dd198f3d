"""Figure functions: each takes plain arrays and returns a matplotlib Figure.

They share one style (see `STYLE`) and never touch the disk, so tests can call
them on tiny data; `save` writes a figure atomically.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .storage import atomic_path  # noqa: E402

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "axes.grid": False,
    # Metadata without a date, so the same figure gives the same bytes.
    "svg.hashsalt": "mnist-study",
}
# A qualitative map with ten distinct colours, one per class.
CLASS_CMAP = "tab10"

plt.rcParams.update(STYLE)


def save(fig: plt.Figure, path: str | Path) -> None:
    path = Path(path)
    with atomic_path(path) as tmp:
        metadata = {"Software": None} if path.suffix == ".png" else {"Date": None}
        fig.savefig(tmp, format=path.suffix.lstrip("."), metadata=metadata)
    plt.close(fig)


def class_colorbar(fig: plt.Figure, mappable, ax, class_names) -> None:
    bar = fig.colorbar(mappable, ax=ax, ticks=np.arange(len(class_names)), pad=0.02)
    bar.ax.set_yticklabels(class_names)
    bar.set_label("class")


def sample_digits(
    images: np.ndarray, labels: np.ndarray, class_names, title: str, columns: int = 10
) -> plt.Figure:
    """A grid of images with their labels as titles."""
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.4 * rows + 0.4))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, label in zip(np.ravel(axes), images, labels, strict=False):
        ax.imshow(image.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(class_names[int(label)], fontsize=9)
    fig.suptitle(title)
    return fig
