"""Every figure function draws on tiny data and saves a real image."""

import numpy as np
import pandas as pd
import pytest

from mnist_study import figures, kernel_trick
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
