"""Figures of the results over seeds and sweeps: each takes plain values and returns a
matplotlib Figure in the style of `figures` (saved with `figures.save`)."""

from __future__ import annotations

import numpy as np

from .figures import plt


def accuracy_over_seeds(runs, summary, title: str) -> plt.Figure:
    """Every run's test accuracy as a point, each model's mean and its 95% interval.

    `runs`: (model, seed, accuracy) rows; `summary`: (model, mean, ci_low, ci_high) rows,
    in the order the models are drawn (top to bottom).
    """
    summary = list(summary)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(summary) + 1.4))
    position = {model: i for i, (model, *_rest) in enumerate(summary)}
    for model, _seed, accuracy in runs:
        ax.plot(accuracy, position[model], "o", color="tab:blue", alpha=0.6, ms=5)
    for model, mean, low, high in summary:
        y = position[model]
        if np.isfinite(low):
            ax.plot([low, high], [y - 0.25, y - 0.25], color="black", lw=2)
        ax.plot(mean, y - 0.25, "D", color="black", ms=6)
    _label_rows(
        ax,
        [row[0] for row in summary],
        "test accuracy (points: one seed each; diamond and bar: mean, 95% interval)",
        title,
    )
    return fig


def paired_differences(pairs, title: str) -> plt.Figure:
    """Each pair's mean accuracy difference with its 95% interval over seeds and images.

    `pairs`: (label, difference, ci_low, ci_high, supported) rows, `supported` being the
    table's verdict; supported pairs are drawn in colour, the others grey.
    """
    pairs = list(pairs)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(pairs) + 1.4))
    for i, (_label, difference, low, high, supported) in enumerate(pairs):
        color = "tab:red" if supported else "grey"
        ax.plot([low, high], [i, i], color=color, lw=2)
        ax.plot(difference, i, "o", color=color, ms=5)
    ax.axvline(0, color="black", lw=1)
    _label_rows(
        ax,
        [row[0] for row in pairs],
        "accuracy difference A - B (95% interval over seeds and test images)",
        title,
    )
    return fig


def _label_rows(ax, labels, xlabel: str, title: str) -> None:
    """One labelled row per item, the first at the top, with a grid along the values."""
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)


def _numeric(values) -> bool:
    return all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in values
    )


def _spans_decades(values) -> bool:
    """Positive numbers whose largest is at least 50 times the smallest: a log axis."""
    values = [float(v) for v in values]
    return min(values) > 0 and max(values) / min(values) >= 50


def sweep(runs, summary, settings, title: str) -> plt.Figure:
    """Test accuracy against the varied setting (mean and 95% interval, every seed a dot),
    or, for a sweep over two settings, a heatmap of the mean with its interval.

    `runs` and `summary` are the tables of `sweep_results.sweep_tables`; settings given only
    one value are named in the title instead of taking an axis.
    """
    varied = [key for key in settings if summary[key].astype(str).nunique() > 1]
    fixed = [key for key in settings if key not in varied]
    if fixed:
        title += "\n" + ", ".join(f"{key} = {summary[key].iloc[0]}" for key in fixed)
    if len(varied) == 2:
        return _sweep_heatmap(summary, varied, title)
    key = varied[0] if varied else settings[0]
    values = list(summary[key])
    numeric = _numeric(values)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if numeric:
        position = {str(v): float(v) for v in values}
    else:  # booleans, names, lists: one slot each, in the sweep's order
        position = {str(v): float(i) for i, v in enumerate(values)}
        ax.set_xticks(range(len(values)), [str(v) for v in values])
    x = np.array([position[str(v)] for v in values])
    if (summary["seeds"] == 1).all():
        # One seed: no interval over seeds; the bars are each run's test-set interval.
        source, label = runs.drop_duplicates("point"), "one seed, 95% test-set interval"
        low = source["accuracy"].to_numpy() - source["accuracy_ci_low"].to_numpy()
        high = source["accuracy_ci_high"].to_numpy() - source["accuracy"].to_numpy()
    else:
        label = "mean and 95% interval over seeds"
        low = (summary["accuracy_mean"] - summary["accuracy_ci_low"]).fillna(0).to_numpy()
        high = (summary["accuracy_ci_high"] - summary["accuracy_mean"]).fillna(0).to_numpy()
    ax.errorbar(
        x,
        summary["accuracy_mean"],
        yerr=np.vstack([low, high]),
        fmt="D-",
        color="black",
        capsize=4,
        label=label,
    )
    ax.plot(
        [position[str(v)] for v in runs[key]],
        runs["accuracy"],
        "o",
        color="tab:blue",
        alpha=0.5,
        ms=5,
        label="one seed",
    )
    if "best" in summary:
        mean = summary["accuracy_mean"].to_numpy()
        best, tied = summary["best"].to_numpy(bool), summary["tied_with_best"].to_numpy(bool)
        ax.plot(x[best], mean[best], "*", color="tab:red", ms=16, label="best")
        others = tied & ~best
        if others.any():
            ax.plot(x[others], mean[others], "o", mfc="none", mec="tab:red", ms=13, mew=1.5,
                    label="not told from the best")  # fmt: skip
    if numeric and _spans_decades(values):
        ax.set_xscale("log")
    if numeric:
        ax.set_xticks(x, [str(v) for v in values])
        ax.minorticks_off()
    ax.set_xlabel(key)
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _sweep_heatmap(summary, varied, title: str) -> plt.Figure:
    rows, columns = varied
    row_values = list(dict.fromkeys(summary[rows].astype(str)))
    column_values = list(dict.fromkeys(summary[columns].astype(str)))
    grid = np.full((len(row_values), len(column_values)), np.nan)
    fig, ax = plt.subplots(figsize=(1.6 * len(column_values) + 2.5, 0.9 * len(row_values) + 2))
    for record in summary.itertuples(index=False):
        record = record._asdict()
        i = row_values.index(str(record[rows]))
        j = column_values.index(str(record[columns]))
        grid[i, j] = record["accuracy_mean"]
        text = f"{record['accuracy_mean']:.4f}"
        if record.get("best"):
            text += " (best)"
        elif record.get("tied_with_best"):
            text += " *"
        if np.isfinite(record["accuracy_ci_low"]):
            text += f"\n({record['accuracy_ci_low']:.4f}-{record['accuracy_ci_high']:.4f})"
        ax.text(j, i, text, ha="center", va="center", fontsize=8)
    image = ax.imshow(grid, cmap="viridis", alpha=0.8, aspect="auto")
    fig.colorbar(image, ax=ax, label="mean test accuracy over seeds")
    ax.set_xticks(range(len(column_values)), column_values)
    ax.set_yticks(range(len(row_values)), row_values)
    ax.set_xlabel(columns)
    ax.set_ylabel(rows)
    ax.set_title(title + "\n(cell: mean, and 95% interval over seeds)")
    return fig
