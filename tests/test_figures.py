"""Every figure function draws on tiny data and saves a real image."""

import numpy as np
import pandas as pd
import pytest

from mnist_study import figures, kernel_trick, result_figures
from mnist_study.metrics import roc_curves

NAMES = [str(d) for d in range(10)]
rng = np.random.default_rng(0)
Y = np.arange(30) % 10


def check_saved(fig, tmp_path, n_axes_at_least):
    assert len(fig.axes) >= n_axes_at_least
    png, svg = tmp_path / "f.png", tmp_path / "f.svg"
    figures.save(fig, png, svg)
    assert png.read_bytes()[:4] == b"\x89PNG" and b"<svg" in svg.read_bytes()[:500]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "f.svg"]


def test_sample_digits(tmp_path):
    fig = figures.sample_digits(rng.random((12, 784)), Y[:12], NAMES, "t", columns=5)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0", "1", "2"]
    check_saved(fig, tmp_path, 15)


def test_pca_scatters(tmp_path):
    fig = figures.pca_scatter_2d(rng.normal(size=(30, 2)), Y, [0.1, 0.07], NAMES, "t")
    assert "10.0% of variance" in fig.axes[0].get_xlabel()
    check_saved(fig, tmp_path, 2)
    fig = figures.pca_scatter_3d(rng.normal(size=(30, 3)), Y, [0.1, 0.07, 0.06], NAMES, "t")
    check_saved(fig, tmp_path, 2)


def test_cumulative_variance(tmp_path):
    fig = figures.cumulative_variance(np.linspace(0.1, 1, 50), [(0.8, 40), (0.9, 45)], "t")
    assert "80%: 40 components" in [t.get_text() for t in fig.axes[0].texts]
    check_saved(fig, tmp_path, 1)


def test_confusion_and_heatmap(tmp_path):
    matrix = np.diag(np.arange(10)) + 1
    fig = figures.confusion(matrix, NAMES, "t")
    assert len(fig.axes[0].texts) == 100
    check_saved(fig, tmp_path, 2)
    fig = figures.grid_heatmap(rng.random((2, 3)), [1, 10], [0.1, 1, 10], (10, 1), "t")
    check_saved(fig, tmp_path, 2)


def test_decision_boundaries(tmp_path):
    xx, yy = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    panels = [(f"k{i}", xx, yy, (xx * 9).round()) for i in range(4)]
    fig = figures.decision_boundaries(panels, rng.random((30, 2)), Y, NAMES, "t")
    assert [ax.get_title() for ax in fig.axes[:4]] == ["k0", "k1", "k2", "k3"]
    check_saved(fig, tmp_path, 5)


def test_kernel_trick_figures(tmp_path):
    X, y = kernel_trick.separable(100, np.random.default_rng(0))
    fig, ax = figures.plt.subplots()
    figures.margin_plot(ax, X, y, kernel_trick.linear_svm(X, y, 1e6), "t")
    assert "support vectors" in ax.get_legend().get_texts()[0].get_text()
    check_saved(fig, tmp_path, 1)
    X, y = kernel_trick.concentric(200, np.random.default_rng(0))
    lifted = kernel_trick.lift(X)
    svm = kernel_trick.linear_svm(lifted, y, 1e3)
    fig = figures.lift_plot(X, y, lifted, (svm.coef_[0], svm.intercept_[0]), "t")
    check_saved(fig, tmp_path, 2)


def test_roc_history_and_feature_maps(tmp_path):
    scores = rng.random((30, 10)) + np.eye(10)[Y]
    curves = roc_curves(Y, scores)
    aucs = {**{k: 0.9 for k in range(10)}, "micro": 0.9, "macro": 0.9}
    fig = figures.roc_figure(curves, aucs, NAMES, "t")
    assert len(fig.axes[0].lines) == 13
    check_saved(fig, tmp_path, 1)
    history = pd.DataFrame(
        {"epoch": [1, 2], "loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_loss": [1, 0.7]}
    )
    fig = figures.training_history(history, "t")
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1
    check_saved(fig, tmp_path, 2)
    layers = [("conv", rng.random((26, 26, 6))), ("pool", rng.random((6, 6, 16)))]
    fig = figures.feature_maps(rng.random(784), layers, "t")
    assert len(fig.axes) == 1 + 6 + 16
    check_saved(fig, tmp_path, 23)


@pytest.mark.parametrize("curve", ["micro", "macro"])
def test_roc_curves_run_from_0_to_1(curve):
    curves = roc_curves(Y, rng.random((30, 10)))
    fpr, tpr = curves[curve]
    assert fpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1


def test_grid_heatmap_draws_each_setting_where_its_labels_say():
    # A 3 x 2 grid with distinct scores: drawn transposed or shuffled, a cell would
    # sit under another setting's tick labels.
    from mnist_study.svm import score_matrix

    C, gamma = [1.0, 10.0, 100.0], [0.01, 0.1]
    table = pd.DataFrame(
        {
            "C": [c for c in C for _ in gamma],
            "gamma": gamma * len(C),
            "mean_accuracy": [0.61, 0.62, 0.71, 0.72, 0.81, 0.82],
        }
    )
    fig = figures.grid_heatmap(score_matrix(table, C, gamma), C, gamma, (100.0, 0.1), "t")
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    columns = [t.get_text() for t in ax.get_xticklabels()]
    image = ax.images[0].get_array()
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    for row in table.itertuples():
        i, j = rows.index(f"{row.C:g}"), columns.index(f"{row.gamma:g}")
        assert image[i, j] == pytest.approx(row.mean_accuracy)
        assert texts[(i, j)].get_text() == f"{row.mean_accuracy:.3f}"
    bold = [t.get_text() for t in ax.texts if t.get_weight() == "bold"]
    assert bold == ["0.820"]
    # Settings tied with the chosen one carry a star.
    fig = figures.grid_heatmap(
        np.full((3, 2), 0.9), C, gamma, (1.0, 0.01), "t", tied=[[1.0, 0.01], [10.0, 0.1]]
    )
    starred = {t.get_position() for t in fig.axes[0].texts if t.get_text().endswith("*")}
    assert starred == {(1, 1)}  # column gamma 0.1, row C 10


def test_cumulative_variance_draws_the_table_and_its_levels():
    cumulative = np.cumsum(np.full(50, 0.02))
    levels = [(0.8, 40), (0.9, 45)]
    fig = figures.cumulative_variance(cumulative, levels, "t")
    ax = fig.axes[0]
    curve = ax.lines[0]
    assert np.array_equal(curve.get_xdata(), np.arange(1, 51))
    assert np.array_equal(curve.get_ydata(), cumulative)
    drawn = {line.get_ydata()[0] for line in ax.lines[1:] if line.get_linestyle() == "--"}
    assert drawn == {0.8, 0.9}
    marked = {line.get_xdata()[0] for line in ax.lines[1:] if line.get_linestyle() == ":"}
    assert marked == {40, 45}


def test_roc_figure_draws_each_class_curve_with_its_auc():
    from mnist_study.metrics import macro_auc

    scores = rng.random((60, 10)) + 0.5 * np.eye(10)[np.arange(60) % 10]
    y = np.arange(60) % 10
    curves = roc_curves(y, scores)
    macro, per_class = macro_auc(y, scores)
    aucs = {**per_class, "micro": 0.5, "macro": macro}
    fig = figures.roc_figure(curves, aucs, NAMES, "t")
    lines = fig.axes[0].lines
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    for k in range(10):
        assert np.array_equal(lines[k].get_xdata(), curves[k][0])
        assert np.array_equal(lines[k].get_ydata(), curves[k][1])
        assert labels[k] == f"{k} (AUC {per_class[k]:.4f})"
    assert np.array_equal(lines[11].get_ydata(), curves["macro"][1])
    assert labels[11] == f"macro-average (AUC {macro:.4f})"


def test_accuracy_and_difference_figures_draw_their_tables():
    runs = [("a", 0, 0.90), ("a", 1, 0.92), ("b", 0, 0.80), ("b", 1, 0.84)]
    summary = [("a", 0.91, 0.89, 0.93), ("b", 0.82, 0.78, 0.86)]
    fig = result_figures.accuracy_over_seeds(runs, summary, "t")
    ax = fig.axes[0]
    points = sorted((line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines[:4])
    assert points == [(0.80, 1), (0.84, 1), (0.90, 0), (0.92, 0)]
    bars = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert [tuple(b.get_xdata()) for b in bars] == [(0.89, 0.93), (0.78, 0.86)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    fig = result_figures.paired_differences([("a - b", 0.09, 0.05, 0.13, True)], "t")
    bar = fig.axes[0].lines[0]
    assert tuple(bar.get_xdata()) == (0.05, 0.13) and bar.get_color() == "tab:red"


def test_roc_figure_skips_a_class_without_test_images_and_says_so():
    y = np.arange(60) % 10
    y[y == 4] = 5  # no test image of class 4
    scores = rng.random((60, 10)) + 0.5 * np.eye(10)[y]
    curves = roc_curves(y, scores)
    aucs = {k: 0.9 for k in curves}
    fig = figures.roc_figure(curves, aucs, NAMES, "t")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 9 + 2 and not any(label.startswith(f"{NAMES[4]} ") for label in labels)
    assert fig.axes[0].get_title() == f"t\nno curve for {NAMES[4]}: no test images"
