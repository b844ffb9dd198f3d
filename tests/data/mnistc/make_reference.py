"""Write reference.npz (tests/test_mnistc.py): MNIST-C's own corruptions of two digits.

Runs MNIST-C's corruptions.py (github.com/google-research/mnist-c, commit bba57e4), as
published and unchanged, from a checkout given as the first argument; the project holds
none of its code. It needs the libraries of 2019 where their behaviour changed since:
scikit-image 0.15.0 (gaussian's multichannel, AffineTransform's shear, random_noise's
s&p on numpy's global generator, canny), numpy < 1.24 (np.int), scipy < 1.14
(scipy.ndimage.interpolation), and Wand with ImageMagick 6 for motion blur
(opencv-python-headless, Pillow and setuptools for its other imports). Made with
Python 3.11, numpy 1.23.5, scipy 1.11.4, scikit-image 0.15.0 (built from source after
deleting its generated .c files, which predate Python 3.11), Pillow 13.0, Wand 0.7.2,
ImageMagick 6.9.11-60 Q16 (Debian), opencv-python-headless 4.8.1.78:

    python make_reference.py /path/to/mnist-c reference.npz

The digits are the bundled sample's first two test images; digit k is corrupted after
np.random.seed(k), as a PIL image (MNIST-C's input). Stored: `clean` (2, 28, 28) uint8;
for each corruption, its two images at MNIST-C's benchmark severity (its functions'
defaults) rounded to uint8, and `<name>_sums` (severities, 2, 2): each image's sum and
sum of squares of the unrounded values (0-255) at every severity.
"""

import gzip
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

BUNDLED = Path(__file__).resolve().parents[3] / "scripts/mnist_study/bundled/mnist-sample"
# the levels of each corruption that has several, and MNIST-C's default among them
LEVELS = {
    "shot_noise": (5, 5),
    "impulse_noise": (5, 4),
    "glass_blur": (5, 1),
    "motion_blur": (5, 1),
    "shear": (5, 2),
    "scale": (5, 3),
    "rotate": (5, 2),
    "brightness": (5, 5),
    "translate": (5, 3),
    "fog": (5, 5),
    "spatter": (5, 4),
}


def test_digits(n):
    with gzip.open(BUNDLED / "t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16)[: n * 784].reshape(n, 28, 28)


def main(checkout, target):
    os.chdir(checkout)  # MNIST-C opens pessimal_noise_matrix from the working directory
    sys.path.insert(0, str(checkout))
    import corruptions as mnistc
    import skimage

    assert skimage.__version__ == "0.15.0", skimage.__version__
    digits = test_digits(2)
    stored = {"clean": digits}
    for name in mnistc.CORRUPTIONS[1:]:
        function = getattr(mnistc, name)
        levels, default = LEVELS.get(name, (1, 1))
        benchmark, sums = [], []
        for severity in range(1, levels + 1):
            row = []
            for k, digit in enumerate(digits):
                np.random.seed(k)  # noqa: NPY002 (MNIST-C draws from the global generator)
                kwargs = {"severity": severity} if name in LEVELS else {}
                out = np.asarray(function(Image.fromarray(digit), **kwargs), dtype=np.float64)
                row.append([out.sum(), (out**2).sum()])
                if severity == default:
                    benchmark.append(np.round(out).astype(np.uint8))
            sums.append(row)
        stored[name] = np.stack(benchmark)
        stored[f"{name}_sums"] = np.array(sums)
    np.savez_compressed(target, **stored)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
