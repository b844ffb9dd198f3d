"""Figures of the robustness and errors tables, in the style of `figures` (saved with
`figures.save`): each takes plain values and returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np

from .figures import plt


def corruption_examples(images: dict, title: str) -> plt.Figure:
    """One digit under each corruption: {name: 28x28 image}, the clean one first."""
    n = len(images)
    columns = min(n, 8)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows + 0.4))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (name, image) in zip(np.ravel(axes), images.items(), strict=False):
        ax.imshow(np.reshape(image, (28, 28)), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(name.replace("_", " "), fontsize=9)
    fig.suptitle(title)
    return fig


def heatmap(accuracy, title: str) -> plt.Figure:
    """Models x conditions: each cell the mean accuracy, written with its 95% interval's
    half-width. `accuracy` has columns model, condition, accuracy, ci_low, ci_high, and
    label (each row's model by its label, results.with_labels) where the rows show it."""
    models = list(dict.fromkeys(accuracy["model"]))
    names = dict(zip(accuracy["model"], accuracy.get("label", accuracy["model"]), strict=True))
    conditions = list(dict.fromkeys(accuracy["condition"]))
    table = accuracy.set_index(["model", "condition"])
    values = np.array([[table.loc[(m, c), "accuracy"] for c in conditions] for m in models])
    half = np.array(
        [
            [(table.loc[(m, c), "ci_high"] - table.loc[(m, c), "ci_low"]) / 2 for c in conditions]
            for m in models
        ]  # fmt: skip
    )
    fig, ax = plt.subplots(figsize=(1.0 * len(conditions) + 3, 0.55 * len(models) + 2))
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for i in range(len(models)):
        for j in range(len(conditions)):
            colour = "black" if values[i, j] > 0.6 else "white"
            ax.text(j, i, f"{100 * values[i, j]:.0f}\n±{100 * half[i, j]:.1f}", ha="center",
                    va="center", fontsize=7, color=colour)  # fmt: skip
    ax.set_xticks(range(len(conditions)), [c.replace("_", " ") for c in conditions],
                  rotation=45, ha="right")  # fmt: skip
    ax.set_yticks(range(len(models)), [names[m] for m in models])
    fig.colorbar(image, ax=ax, label="test accuracy", fraction=0.03)
    ax.set_title(title)
    return fig


def reliability(curves: dict, title: str) -> plt.Figure:
    """Reliability diagrams: a row per model, a column per part (clean, corrupted); each
    bin's accuracy against its mean confidence, the diagonal perfect calibration, and
    the share of images in each bin below. `curves` is {model's name as shown (its
    label): {part: reliability}}."""
    models = list(curves)
    parts = list(dict.fromkeys(p for c in curves.values() for p in c))
    rows, columns = max(len(models), 1), max(len(parts), 1)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3.6 * rows), squeeze=False, layout="constrained"
    )
    for i, model in enumerate(models):
        for j, part in enumerate(parts):
            ax = axes[i, j]
            curve = curves[model].get(part)
            ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
            if curve is not None:
                bins = len(curve["count"])
                centres = (np.arange(bins) + 0.5) / bins
                shown = curve["count"] > 0
                ax.bar(centres[shown], curve["accuracy"][shown], width=1 / bins, alpha=0.6,
                       edgecolor="black", label="accuracy")  # fmt: skip
                ax.plot(curve["confidence"][shown], curve["accuracy"][shown], "o", color="C3",
                        markersize=3, label="at mean confidence")  # fmt: skip
                share = curve["count"] / max(curve["count"].sum(), 1)
                ax.bar(centres, share * 0.2, width=1 / bins, bottom=0, color="C1", alpha=0.5,
                       label="share of images (x0.2)")  # fmt: skip
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_title(f"{model}: {part}", fontsize=10)
            ax.set_xlabel("confidence (top label)")
            ax.set_ylabel("accuracy")
            if i == 0 and j == 0:
                ax.legend(loc="upper left", fontsize=7)
    fig.suptitle(title)
    return fig


def gallery(
    images, captions, title: str, columns: int = 8,
    empty: str = "no image is wrong for most models",
) -> plt.Figure:
    """Test images with a caption each (label -> answer, models wrong); `empty` says
    what the gallery would show where it has no image."""
    n = max(len(images), 1)
    columns = min(columns, n)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows + 0.4),
                             squeeze=False)  # fmt: skip
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, caption in zip(np.ravel(axes), images, captions, strict=False):
        ax.imshow(np.reshape(image, (28, 28)), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(caption, fontsize=7)
    if not len(images):
        np.ravel(axes)[0].text(0.5, 0.5, empty, ha="center")
    fig.suptitle(title)
    return fig
