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
# A qualitative map with ten distinct colours, one per class (tab20, then a continuous
# map, for datasets with more classes: `class_cmap`).
CLASS_CMAP = "tab10"


def class_cmap(n_classes: int):
    """A colour map with a distinct colour for each of `n_classes` classes."""
    if n_classes <= 10:
        return plt.get_cmap(CLASS_CMAP)
    if n_classes <= 20:
        return plt.get_cmap("tab20")
    return plt.get_cmap("turbo", n_classes)


plt.rcParams.update(STYLE)


def save(fig: plt.Figure, *paths: str | Path) -> None:
    """Write the figure to each path (format from the suffix), atomically, then close it."""
    for path in map(Path, paths):
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


def _class_norm(n_classes: int):
    from matplotlib.colors import BoundaryNorm

    return BoundaryNorm(np.arange(-0.5, n_classes + 0.5), n_classes)


def pca_scatter_2d(Z: np.ndarray, y: np.ndarray, ratios, class_names, title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7.5, 6))
    n = len(class_names)
    points = ax.scatter(
        Z[:, 0], Z[:, 1], c=y, cmap=class_cmap(n), norm=_class_norm(n), s=6, alpha=0.7,
        linewidths=0,
    )  # fmt: skip
    ax.set_xlabel(f"component 1 ({ratios[0]:.1%} of variance)")
    ax.set_ylabel(f"component 2 ({ratios[1]:.1%} of variance)")
    ax.set_title(title)
    class_colorbar(fig, points, ax, class_names)
    return fig


def pca_scatter_3d(Z: np.ndarray, y: np.ndarray, ratios, class_names, title: str) -> plt.Figure:
    fig = plt.figure(figsize=(8, 6.5))
    ax = fig.add_subplot(projection="3d")
    n = len(class_names)
    points = ax.scatter(
        Z[:, 0], Z[:, 1], Z[:, 2], c=y, cmap=class_cmap(n), norm=_class_norm(n), s=5, alpha=0.6
    )
    for setter, i in ((ax.set_xlabel, 0), (ax.set_ylabel, 1), (ax.set_zlabel, 2)):
        setter(f"component {i + 1} ({ratios[i]:.1%})")
    ax.set_title(title)
    class_colorbar(fig, points, ax, class_names)
    return fig


def cumulative_variance(cumulative: np.ndarray, levels: list[tuple[float, int]], title: str):
    """Cumulative explained variance against the number of components, levels marked."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    components = np.arange(1, len(cumulative) + 1)
    ax.plot(components, cumulative, color="black", lw=1.8)
    for (level, count), colour in zip(
        levels, plt.cm.viridis(np.linspace(0.1, 0.8, len(levels))), strict=True
    ):
        ax.axhline(level, color=colour, ls="--", lw=1)
        ax.axvline(count, color=colour, ls=":", lw=1)
        # Labels sit at the left, above their level, where the curve is still low.
        ax.text(1.1, level + 0.008, f"{level:.0%}: {count} components", color=colour, va="bottom")
    ax.set_xscale("log")
    ax.set_xlim(1, len(cumulative))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("number of components (log scale)")
    ax.set_ylabel("cumulative explained variance ratio")
    ax.set_title(title)
    return fig


def confusion(matrix, class_names, title: str) -> plt.Figure:
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            int(value),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value > threshold else "black",
        )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="test images")
    return fig


def decision_boundaries(panels, Z: np.ndarray, y: np.ndarray, class_names, title: str):
    """A 2x2 grid of filled decision regions on 2 PCA components, points on top.

    `panels` is a list of (name, xx, yy, predicted_grid).
    """
    fig, axes = plt.subplots(2, 2, figsize=(11, 9.5), sharex=True, sharey=True)
    n = len(class_names)
    norm, cmap = _class_norm(n), class_cmap(n)
    for ax, (name, xx, yy, grid) in zip(np.ravel(axes), panels, strict=False):
        ax.contourf(xx, yy, grid, levels=np.arange(-0.5, n + 0.5), cmap=cmap, norm=norm, alpha=0.35)
        points = ax.scatter(
            Z[:, 0], Z[:, 1], c=y, cmap=cmap, norm=norm, s=7, edgecolors="k", linewidths=0.2
        )
        ax.set_title(name)
    for ax in np.ravel(axes)[len(panels) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("PCA component 1")
    for ax in axes[:, 0]:
        ax.set_ylabel("PCA component 2")
    fig.suptitle(title)
    class_colorbar(fig, points, list(np.ravel(axes)), class_names)
    return fig


def grid_heatmap(
    scores: np.ndarray, C_values, gamma_values, best, title: str, tied=()
) -> plt.Figure:
    """Mean cross-validated accuracy over C (rows) x gamma (columns).

    The chosen setting `best` is bold; the others in `tied` (tied for the best) carry a *.
    """
    tied = {tuple(map(float, t)) for t in tied} - {tuple(map(float, best))}
    fig, ax = plt.subplots(figsize=(1.1 * len(gamma_values) + 3, 0.6 * len(C_values) + 2.5))
    image = ax.imshow(scores, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(gamma_values)), [f"{g:g}" for g in gamma_values])
    ax.set_yticks(range(len(C_values)), [f"{c:g}" for c in C_values])
    for (i, j), value in np.ndenumerate(scores):
        setting = (float(C_values[i]), float(gamma_values[j]))
        weight = "bold" if setting == tuple(map(float, best)) else "normal"
        ax.text(
            j,
            i,
            f"{value:.3f}" + ("*" if setting in tied else ""),
            ha="center",
            va="center",
            fontsize=8,
            weight=weight,
            color="white" if value < 0.6 else "black",
        )
    ax.set_xlabel("gamma")
    ax.set_ylabel("C")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="mean CV accuracy")
    return fig


def margin_plot(ax, X, y, model, title: str) -> None:
    """2-D points, a linear SVM's boundary (solid), margins (dashed), support vectors."""
    pad = 0.5
    x_min, x_max = X[:, 0].min() - pad, X[:, 0].max() + pad
    y_min, y_max = X[:, 1].min() - pad, X[:, 1].max() + pad
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, 300), np.linspace(y_min, y_max, 300))
    values = model.decision_function(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=14, edgecolors="k", linewidths=0.2)
    ax.contour(xx, yy, values, levels=[-1, 0, 1], colors="k", linestyles=["--", "-", "--"])
    sv = model.support_vectors_
    ax.scatter(
        sv[:, 0],
        sv[:, 1],
        s=70,
        facecolors="none",
        edgecolors="k",
        linewidths=0.8,
        label=f"{len(sv)} support vectors",
    )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper left")
    ax.set_title(title)


def lift_plot(X, y, lifted, plane, title: str) -> plt.Figure:
    """Concentric classes in 2-D next to their lift into 3-D, with the separating plane.

    `plane` is (w, b) of a linear separator in the lifted space.
    """
    fig = plt.figure(figsize=(12, 5.5))
    ax2 = fig.add_subplot(1, 2, 1)
    ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=12, edgecolors="k", linewidths=0.2)
    ax2.set_aspect("equal")
    ax2.set_xlabel("$x_1$")
    ax2.set_ylabel("$x_2$")
    ax2.set_title("no line separates the classes in 2-D")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    ax3.scatter(lifted[:, 0], lifted[:, 1], lifted[:, 2], c=y, cmap="coolwarm", s=8)
    w, b = plane
    solve = int(np.argmax(np.abs(w)))  # the coordinate the plane is solved for
    free = [i for i in range(3) if i != solve]
    a, c = np.meshgrid(
        np.linspace(lifted[:, free[0]].min(), lifted[:, free[0]].max(), 60),
        np.linspace(lifted[:, free[1]].min(), lifted[:, free[1]].max(), 60),
    )
    coords = [None, None, None]
    coords[free[0]], coords[free[1]] = a, c
    solved = -(b + w[free[0]] * a + w[free[1]] * c) / w[solve]
    low, high = lifted[:, solve].min(), lifted[:, solve].max()
    coords[solve] = np.where((solved >= low) & (solved <= high), solved, np.nan)
    ax3.plot_surface(*coords, alpha=0.3, color="grey")
    for axis, setter in enumerate((ax3.set_xlim, ax3.set_ylim, ax3.set_zlim)):
        setter(lifted[:, axis].min(), lifted[:, axis].max())
    ax3.view_init(elev=20, azim=-130)
    ax3.set_xlabel("$x_1^2$")
    ax3.set_ylabel("$x_2^2$")
    ax3.set_zlabel(r"$\sqrt{2}\,x_1 x_2$")
    ax3.set_title(r"after $\phi(x_1, x_2) = (x_1^2, x_2^2, \sqrt{2} x_1 x_2)$ a plane does")
    fig.suptitle(title)
    return fig


def roc_figure(curves: dict, aucs: dict, class_names, title: str) -> plt.Figure:
    """Each class's ROC curve with its AUC, and the micro and macro averages. A class
    without a curve (no test images: `metrics.roc_curves` draws none) is named under
    the title instead."""
    fig, ax = plt.subplots(figsize=(7, 6.5))
    colours = class_cmap(len(class_names))
    for k, name in enumerate(class_names):
        if k not in curves:
            continue
        fpr, tpr = curves[k]
        ax.plot(fpr, tpr, lw=1, color=colours(k), label=f"{name} (AUC {aucs[k]:.4f})")
    absent = [name for k, name in enumerate(class_names) if k not in curves]
    if absent and len(absent) < len(class_names):
        title += f"\nno curve for {', '.join(map(str, absent))}: no test images"
    for key, style in (("micro", ":"), ("macro", "--")):
        if key not in curves:
            continue
        fpr, tpr = curves[key]
        ax.plot(
            fpr, tpr, lw=2.2, ls=style, color="black", label=f"{key}-average (AUC {aucs[key]:.4f})"
        )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    if curves:
        ax.legend(loc="lower right", fontsize=8)
    return fig


def training_history(history, title: str) -> plt.Figure:
    """Loss and accuracy per epoch; `history` is a DataFrame with an `epoch` column."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for column, ax in (("loss", loss_ax), ("accuracy", acc_ax)):
        if column in history:
            ax.plot(history["epoch"], history[column], marker="o", label="training")
        if f"val_{column}" in history:
            ax.plot(history["epoch"], history[f"val_{column}"], marker="s", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy" if column == "loss" else "accuracy")
        ax.legend()
    loss_ax.set_title("loss")
    acc_ax.set_title("accuracy")
    fig.suptitle(title)
    return fig


def feature_maps(image: np.ndarray, layers, title: str) -> plt.Figure:
    """The input digit next to one row of panels per layer.

    `layers` is a list of (layer name, activations of shape (h, w, channels)).
    """
    columns = max(maps.shape[-1] for _, maps in layers)
    per_row = min(columns, 8)
    rows_per_layer = [-(-maps.shape[-1] // per_row) for _, maps in layers]
    total_rows = sum(rows_per_layer)
    fig = plt.figure(figsize=(1.5 * (per_row + 3), 1.5 * total_rows + 0.8))
    grid = fig.add_gridspec(total_rows, per_row + 3)  # column 2 is a gap before the maps
    ax = fig.add_subplot(grid[:, :2])
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title("input")
    ax.axis("off")
    row = 0
    for (name, maps), n_rows in zip(layers, rows_per_layer, strict=True):
        for c in range(maps.shape[-1]):
            cell = fig.add_subplot(grid[row + c // per_row, 3 + c % per_row])
            cell.imshow(maps[..., c], cmap="viridis")
            cell.set_xticks([])
            cell.set_yticks([])
            if c == 0:
                cell.set_ylabel(f"{name}\n{maps.shape[0]}x{maps.shape[1]}", fontsize=8)
        row += n_rows
    fig.suptitle(title)
    return fig
