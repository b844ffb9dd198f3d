"""Every corruption of the robustness stage against MNIST-C's own code (Mu and Gilmer 2019,
google-research/mnist-c's corruptions.py), image for image.

The reference, tests/data/mnistc/reference.npz, is what MNIST-C's corruptions.py, run
unchanged (tests/data/mnistc/make_reference.py says how, with which libraries:
scikit-image 0.15.0 as in 2019, ImageMagick 6.9 through Wand for motion blur), made of
the first two test digits of the bundled sample, digit k after np.random.seed(k). For
each corruption it holds the two images at MNIST-C's benchmark severity, rounded to
8-bit grey (as MNIST-C's notebook shows them), and for every severity the sum and the
sum of squares of each image's unrounded values (0-255).

The draws are matched: MNIST-C draws from numpy's legacy global generator, one image at
a time. `Legacy` hands `corrupt` a RandomState seeded the same, with the one method of
numpy's Generator it lacks (`integers`: `randint`, the same half-open range). On one
image each of the pipeline's corruptions makes MNIST-C's calls in MNIST-C's order (for
glass blur, at each pixel a coin and, only on heads, dx then dy; for shear and rotate
the direction's sign; for fog the plasma's uniforms level by level; ...), so it gets
MNIST-C's draws and must give MNIST-C's images: a wrong parameter, matrix, axis,
rounding, or a draw out of order shows as other pixels. What is compared, for all
fifteen: each pixel within half a grey level of MNIST-C's rounded one (plus float32
rounding), and the sums at every severity to the float32 rounding of 784 pixels. With
its own generator (numpy's Generator, seeded from the name and seed) the pipeline makes
the same draws from the same laws, so its test sets are MNIST-C's in distribution.

Two checks from first principles besides, on the two corruptions that once differed:
glass blur blurs down the columns only, and shear stretches the rows by 1 / cos(c).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnist_study import corruptions

REFERENCE = Path(__file__).parent / "data" / "mnistc" / "reference.npz"
# float32 keeps 24 bits: a pixel of at most 255 is off by at most 255 * 2**-24 in the
# pipeline's output and in MNIST-C's (both float32); twice that per pixel, 784 pixels
ULP = 255 * 2.0**-24
SUM_TOLERANCE = 784 * 2 * ULP
# sum of squares: |a^2 - b^2| = |a - b| (a + b) <= |a - b| * 510
SQUARES_TOLERANCE = 510 * SUM_TOLERANCE


class Legacy:
    """MNIST-C's draws: numpy's legacy RandomState under numpy Generator's method names."""

    def __init__(self, seed: int):
        self.state = np.random.RandomState(seed)

    def integers(self, low, high=None, size=None):
        return self.state.randint(low, high, size=size)

    def __getattr__(self, name):  # random, uniform, normal, poisson, choice
        return getattr(self.state, name)


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as stored:
        return {key: stored[key] for key in stored.files}


def like_mnistc(clean: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """The pipeline's corruption of one 8-bit digit with MNIST-C's draws, 0-255."""
    images = (clean[None] / 255).astype(np.float32)
    out = corruptions.corrupt(images, name, severity, seed=0, rng=Legacy(seed))
    return out[0].astype(np.float64) * 255


def test_the_reference_covers_the_pipelines_corruptions(reference):
    # the same fifteen, each at every severity the pipeline offers
    assert set(corruptions.BENCHMARK) == {k for k in reference if k != "clean"} - {
        k for k in reference if k.endswith("_sums")
    }
    for name in corruptions.BENCHMARK:
        assert len(reference[f"{name}_sums"]) == len(corruptions.SEVERITIES[name])


@pytest.mark.parametrize("name", corruptions.BENCHMARK)
def test_each_corruption_gives_mnistcs_images_at_its_benchmark_severity(reference, name):
    # Each pixel within half a grey level of MNIST-C's (stored rounded) plus both sides'
    # float32 rounding; and the image is not the clean one (the comparison has teeth).
    severity = corruptions.BENCHMARK_SEVERITY[name]
    for k, clean in enumerate(reference["clean"]):
        out = like_mnistc(clean, name, severity, seed=k)
        expected = reference[name][k].astype(np.float64)
        error = np.abs(out - expected)
        assert error.max() <= 0.5 + 2 * ULP, (
            f"{name}, digit {k}: {np.sum(error > 0.5 + 2 * ULP)} pixels differ, "
            f"up to {error.max():.2f} grey levels"
        )
        assert np.abs(expected - clean).max() > 10


@pytest.mark.parametrize("name", corruptions.BENCHMARK)
def test_each_corruption_matches_mnistc_at_every_severity(reference, name):
    # The sum and sum of squares of each digit's values (0-255) at each severity, MNIST-C's
    # unrounded, to the float32 rounding of 784 pixels: every entry of the severity tables
    # is checked, and any pixel off by more than about 0.03 of a grey level would show.
    sums = reference[f"{name}_sums"]
    for severity, per_digit in enumerate(sums, start=1):
        for k, (total, squares) in enumerate(per_digit):
            out = like_mnistc(reference["clean"][k], name, severity, seed=k)
            assert out.sum() == pytest.approx(total, abs=SUM_TOLERANCE), (name, severity, k)
            assert (out**2).sum() == pytest.approx(squares, abs=SQUARES_TOLERANCE)


def test_glass_blur_blurs_down_the_columns_only():
    # MNIST-C calls skimage's gaussian(..., multichannel=True) on a 2-D image: the last
    # axis (the columns' index) is taken for channels, so a vertical line stays in its
    # column and a horizontal line spreads over the rows. With a coin that never swaps
    # (integers always 1: MNIST-C's choice picks False), only the two blurs are left.
    class NoSwap:
        def integers(self, low, high=None, size=None):
            return np.ones(size, dtype=int)

    image = np.zeros((2, 28, 28), dtype=np.float32)
    image[0, 6:22, 14] = 1  # vertical line
    image[1, 14, 6:22] = 1  # horizontal line
    out = corruptions.corrupt(image, "glass_blur", 1, seed=0, rng=NoSwap())
    assert not out[0, :, :14].any() and not out[0, :, 15:].any()
    assert out[1, 13, 10] > 0.1 and out[1, 15, 10] > 0.1  # spread above and below
    assert not out[1, :, :6].any() and not out[1, :, 22:].any()


def test_shear_stretches_the_rows_by_one_over_cos():
    # MNIST-C's matrix [[1, -sin c], [0, cos c]] maps output row y to input row
    # 13.5 + cos(c) (y - 13.5): a line on input row r lands on row
    # 13.5 + (r - 13.5) / cos(c), whichever way it shears (cos is even). Bilinear
    # interpolation spreads it over two rows; its weighted centre is within 0.1 row of
    # that (a triangle of width 2 / cos(c) sampled at whole rows). A shear by tan(c) with
    # no stretch would leave it on row r, 0.8 row away for r = 4, c = 0.4.
    class BothWays:  # the direction's sign: -1 for the first image, +1 for the second
        def choice(self, values, size=None):
            return np.array([-1, 1])

    c = corruptions.parameter("shear", 2)
    image = np.zeros((2, 28, 28), dtype=np.float32)
    image[:, 4, 8:20] = 1
    out = corruptions.corrupt(image, "shear", 2, seed=0, rng=BothWays())
    profile = out.sum(axis=2)
    centre = (profile * np.arange(28)).sum(axis=1) / profile.sum(axis=1)
    assert np.allclose(centre, 13.5 + (4 - 13.5) / np.cos(c), atol=0.1), centre
    # the line is symmetric about the centre column: the two directions mirror each
    # other left to right, and each slants (it is not its own mirror image)
    assert np.allclose(out[0, :, ::-1], out[1], atol=1e-6)
    assert not np.allclose(out[0], out[1], atol=0.1)
