"""MNIST-C's fifteen corruptions of the test set, in numpy, scipy.ndimage and scikit-image.

Mu and Gilmer (2019), "MNIST-C: A Robustness Benchmark for Computer Vision": fifteen
corruptions, each at one severity, applied to MNIST's test images. Their code needs
ImageMagick (motion blur) and scikit-image's APIs of 2019, since changed; these are
written anew to compute what that code computes, with its parameters, matrices, order of
operations and 8-bit roundings (tests/test_mnistc.py compares every one, image for
image, with MNIST-C's code run with the libraries of its time):

- the noises: shot (Poisson with `c` photons at full intensity, severity 5 of
  [60, 25, 12, 5, 3]) and impulse (salt and pepper, severity 4 of
  [.03, .06, .09, .17, .27] of the pixels);
- the blurs: glass (a Gaussian blur of sigma, cut to 8-bit grey, pixels swapped with a
  neighbour up to `delta` away over `iterations` passes, blurred again; severity 1 of
  [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)]; both blurs go down
  the columns only, as MNIST-C's call of scikit-image's gaussian with multichannel=True
  on a 2-D image does) and motion (ImageMagick 6's motion blur, taken back through an
  8-bit PNG: a one-sided line of 2 ceil(radius) + 1 taps weighted by a Gaussian of
  `sigma`, at an angle drawn from -45 to 45 degrees; severity 1 of
  [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)]);
- the affine ones, about the image's centre, bilinear: shear (severity 2 of
  [.2, .4, .6, .8, 1], either direction; scikit-image 0.15's AffineTransform(shear=c),
  [[1, -sin c], [0, cos c]] as the inverse map: a shear and a vertical stretch by
  1 / cos c), scale (severity 3: x 1/0.7), rotate (severity 2 of [.2, .4, .6, .8, 1]
  radians, either direction), translate (severity 3 of [1, 2, 3, 4, 5] pixels on each
  axis, either direction);
- brightness (severity 5 of [.1, .2, .3, .4, .5] added to the HSV value: for a grey
  image, to the intensity), stripe (the seven outer columns on each side inverted),
  fog (a plasma fractal of severity 5 of [(1.5, 2), (2, 2), (2.5, 1.7), (2.5, 1.5),
  (3, 1.4)]: weight and decay), spatter (mud blots; severity 4 of MNIST-C's table),
  dotted line, zigzag (lines across the digit, MNIST-C's), canny edges (the edge map of
  skimage.feature.canny, sigma 1).

Images are float32 in [0, 1], shape (n, 28, 28), of 8-bit grey levels (k / 255); every
corruption keeps the shape, the range and the order of the images (their labels are the
clean set's). Each draws from its own random generator, seeded from its name and a seed
(`generator`): the same call gives the same images on every machine, and adding or
removing another corruption changes nothing of this one. Its draws are MNIST-C's, from
the same laws, but numpy's Generator's numbers, not those of the legacy global
generator MNIST-C used (on one image each corruption makes MNIST-C's calls in MNIST-C's
order, so that generator passed as `rng` gives MNIST-C's very images). `identity`
returns the images unchanged (a check: it must score exactly the clean accuracy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
from scipy import ndimage

SIDE = 28
CENTRE = (SIDE - 1) / 2

# Each corruption's severities (index 0 is severity 1), from MNIST-C's code.
SEVERITIES: dict[str, list] = {
    "identity": [None],
    "shot_noise": [60, 25, 12, 5, 3],
    "impulse_noise": [0.03, 0.06, 0.09, 0.17, 0.27],
    "glass_blur": [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
    "shear": [0.2, 0.4, 0.6, 0.8, 1.0],
    "scale": [1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5],
    "rotate": [0.2, 0.4, 0.6, 0.8, 1.0],
    "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],
    "translate": [1, 2, 3, 4, 5],
    "stripe": [7],
    "fog": [(1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)],
    "spatter": [
        (0.65, 0.3, 4, 0.69, 0.6),
        (0.65, 0.3, 3, 0.68, 0.6),
        (0.65, 0.3, 2, 0.68, 0.5),
        (0.65, 0.3, 1, 0.65, 1.5),
        (0.67, 0.4, 1, 0.65, 1.5),
    ],
    "dotted_line": [None],
    "zigzag": [None],
    "canny_edges": [1.0],
}
# The severity MNIST-C's benchmark uses for each (its functions' defaults).
BENCHMARK_SEVERITY = {
    "identity": 1,
    "shot_noise": 5,
    "impulse_noise": 4,
    "glass_blur": 1,
    "motion_blur": 1,
    "shear": 2,
    "scale": 3,
    "rotate": 2,
    "brightness": 5,
    "translate": 3,
    "stripe": 1,
    "fog": 5,
    "spatter": 4,
    "dotted_line": 1,
    "zigzag": 1,
    "canny_edges": 1,
}
# MNIST-C's fifteen, in its order (identity aside).
BENCHMARK = [name for name in BENCHMARK_SEVERITY if name != "identity"]


def generator(name: str, seed: int) -> np.random.Generator:
    """The random generator of corruption `name` under `seed`: from the sha256 of both,
    so that each corruption's draws are its own and the same everywhere."""
    digest = hashlib.sha256(f"{name}:{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def parameter(name: str, severity: int):
    """The parameter of `name` at `severity` (1 to its number of levels)."""
    if name not in SEVERITIES:
        raise ValueError(f"unknown corruption {name!r}; choose from {', '.join(SEVERITIES)}")
    levels = SEVERITIES[name]
    if not 1 <= severity <= len(levels):
        raise ValueError(f"{name}: severity {severity} is not among 1-{len(levels)}")
    return levels[severity - 1]


def corrupt(images: np.ndarray, name: str, severity: int, seed: int, rng=None) -> np.ndarray:
    """`images` (n, 28, 28) in [0, 1] under corruption `name` at `severity`, float32.

    The draws come from `generator(name, seed)`, or from `rng` where given: anything with
    the methods of numpy's Generator that the corruption calls (tests/test_mnistc.py
    passes MNIST-C's own legacy draws through it)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (n, 28, 28), got {images.shape}")
    c = parameter(name, severity)
    rng = generator(name, seed) if rng is None else rng
    # MNIST-C corrupts 8-bit images, as x / 255 in float64: the same values here
    grey = np.round(images.astype(np.float64) * 255) / 255
    out = CORRUPTIONS[name](grey, c, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --- the corruptions: (images (n, 28, 28) float64, parameter, generator) -> images ---


def identity(x, c, rng):
    return x.copy()


def shot_noise(x, c, rng):
    return rng.poisson(x * c) / c


def impulse_noise(x, c, rng):
    # skimage.util.random_noise's s&p: a share c of the pixels, half salt, half pepper
    out = x.copy()
    hit = rng.random(x.shape) < c
    salt = rng.random(x.shape) < 0.5
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out


def _gaussian(x, sigma):
    """skimage.filters.gaussian of each image (edges extended, mode 'nearest'; truncate 4)."""
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="nearest", truncate=4.0)


def _gaussian_down_columns(x, sigma):
    """skimage.filters.gaussian(image, sigma, multichannel=True) of each 2-D image, as
    MNIST-C calls it (scikit-image 0.14-0.15): the last axis is taken for channels and
    left alone, so each column is blurred along its rows and no row is blurred."""
    return ndimage.gaussian_filter(x, sigma=(0, sigma, 0), mode="nearest", truncate=4.0)


def glass_blur(x, c, rng):
    sigma, delta, iterations = c
    # blurred down the columns, then cut to 8-bit grey (np.uint8 of 255 x: rounded down)
    out = np.floor(_gaussian_down_columns(x, sigma) * 255) / 255
    n = len(out)
    for _ in range(iterations):
        for h in range(SIDE - delta, delta, -1):
            for w in range(SIDE - delta, delta, -1):
                # MNIST-C's draws at each pixel: a coin (np.random.choice of [True,
                # False]: index 0 swaps) and, only where it swaps, dx then dy in
                # [-delta, delta)
                swap = np.flatnonzero(rng.integers(0, 2, size=n) == 0)
                if not len(swap):
                    continue
                dx, dy = rng.integers(-delta, delta, size=(2, len(swap)))
                h2, w2 = h + dy, w + dx
                first, second = out[swap, h, w].copy(), out[swap, h2, w2].copy()
                out[swap, h, w], out[swap, h2, w2] = second, first
    return _gaussian_down_columns(out, sigma)


def _motion_taps(radius: float, sigma: float, angle: float):
    """ImageMagick's motion blur (MotionBlurImage, ImageMagick 6): 2 ceil(radius) + 1
    taps, tap i at the pixel i steps along `angle` (degrees; x right, y down), each
    offset rounded half down (ceil(v - 0.5)), weighted exp(-i^2 / 2 sigma^2), normalised.
    Returns the row offsets, column offsets and weights."""
    steps = np.arange(2 * int(np.ceil(radius)) + 1)
    weights = np.exp(-(steps.astype(float) ** 2) / (2 * sigma**2))
    theta = np.deg2rad(angle)
    rows = np.ceil(steps * np.sin(theta) - 0.5).astype(int)
    cols = np.ceil(steps * np.cos(theta) - 0.5).astype(int)
    return rows, cols, weights / weights.sum()


def motion_blur(x, c, rng):
    radius, sigma = c
    angles = rng.uniform(-45, 45, size=len(x))
    grid = np.arange(SIDE)
    out = np.empty_like(x)
    for k, (image, angle) in enumerate(zip(x, angles, strict=True)):
        rows, cols, weights = _motion_taps(radius, sigma, angle)
        # ImageMagick reads outside the image as the nearest edge pixel
        r = np.clip(grid[None, :, None] + rows[:, None, None], 0, SIDE - 1)
        q = np.clip(grid[None, None, :] + cols[:, None, None], 0, SIDE - 1)
        out[k] = np.tensordot(weights, image[r, q], axes=1)
    # MNIST-C's image comes back through an 8-bit PNG: ImageMagick's 16-bit quantum
    # (rounded), cut to 8 bits (rounded down)
    return np.floor(np.round(out * 255 * 257) / 257) / 255


def _affine(x, matrix):
    """Each image under the 2x2 `matrix` about the centre (output -> input coordinates
    as skimage.transform.warp's inverse map), bilinear, zero outside."""
    offset = np.array([CENTRE, CENTRE]) - matrix @ np.array([CENTRE, CENTRE])
    return np.stack(
        [ndimage.affine_transform(image, matrix, offset=offset, order=1, cval=0.0) for image in x]
    )


def _swap_axes(matrix):
    """A transform of (x=col, y=row) coordinates as one of (row, col) ones."""
    return matrix[::-1, ::-1]


def _either_way(x, rng, matrix_of):
    """Each image under the affine map `matrix_of(sign)` (an (x, y) matrix), the sign
    drawn for each image: the corruption goes either way."""
    sign = rng.choice([-1, 1], size=len(x))
    out = np.empty_like(x)
    for s in (-1, 1):
        which = sign == s
        if which.any():
            out[which] = _affine(x[which], _swap_axes(matrix_of(s)))
    return out


def shear(x, c, rng):
    # skimage's AffineTransform(shear=c) as MNIST-C had it (scikit-image 0.14-0.15):
    # x' = x - sin(c) y, y' = cos(c) y, the inverse map (a shear and, in y, a stretch of
    # the output by 1 / cos(c))
    def matrix(s):
        return np.array([[1.0, -np.sin(s * c)], [0.0, np.cos(s * c)]])

    return _either_way(x, rng, matrix)


def scale(x, c, rng):
    # MNIST-C's inverse map scales output coordinates by c > 1: the digit shrinks
    return _affine(x, np.diag([c, c]))


def rotate(x, c, rng):
    def turn(s):
        a = s * c
        return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])

    return _either_way(x, rng, turn)


def translate(x, c, rng):
    signs = rng.choice([-1, 1], size=(len(x), 2))
    out = np.zeros_like(x)
    for k, (dx, dy) in enumerate(signs * c):
        # the inverse map adds (dx, dy): the digit moves by (-dx, -dy)
        out[k] = ndimage.shift(x[k], (-dy, -dx), order=0, cval=0.0)
    return out


def brightness(x, c, rng):
    # grey -> RGB -> HSV: value is the grey level, saturation 0; value + c, back to grey
    return x + c


def stripe(x, c, rng):
    out = x.copy()
    out[:, :, :c] = 1 - out[:, :, :c]
    out[:, :, SIDE - c :] = 1 - out[:, :, SIDE - c :]
    return out


def plasma_fractal(rng, mapsize: int = 256, decay: float = 3.0) -> np.ndarray:
    """A diamond-square height map of side `mapsize` in [0, 1] (as MNIST-C's)."""
    height = np.zeros((mapsize, mapsize))
    step, wibble = mapsize, 100.0

    def wibbled(array):
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    while step >= 2:
        half = step // 2
        corners = height[0:mapsize:step, 0:mapsize:step]
        square = corners + np.roll(corners, -1, axis=0)
        square += np.roll(square, -1, axis=1)
        height[half:mapsize:step, half:mapsize:step] = wibbled(square)
        centres = height[half:mapsize:step, half:mapsize:step]
        corners = height[0:mapsize:step, 0:mapsize:step]
        left = centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        height[0:mapsize:step, half:mapsize:step] = wibbled(left)
        top = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        height[half:mapsize:step, 0:mapsize:step] = wibbled(top)
        step //= 2
        wibble /= decay
    height -= height.min()
    return height / height.max()


def fog(x, c, rng):
    weight, decay = c
    out = np.empty_like(x)
    for k, image in enumerate(x):
        peak = image.max()
        foggy = image + weight * plasma_fractal(rng, 256, decay)[:SIDE, :SIDE]
        out[k] = foggy * peak / (peak + weight)
    return out


def spatter(x, c, rng):
    loc, spread, sigma, threshold, mud_sigma = c
    liquid = rng.normal(loc, spread, size=x.shape)
    liquid = _gaussian(liquid, sigma)
    liquid[liquid < threshold] = 0
    # MNIST-C blurs the blots' mask in float32 (and thresholds it there)
    mask = _gaussian((liquid > threshold).astype(np.float32), mud_sigma)
    mask[mask < 0.8] = 0
    return x * (1 - mask) + 63 / 255 * mask


def line_from_points(c0, r0, c1, r1) -> np.ndarray:
    """MNIST-C's anti-aliased line from column c0, row r0 to column c1, row r1."""
    if c1 == c0:
        return np.zeros((SIDE, SIDE))
    cc, rr = np.meshgrid(np.arange(SIDE, dtype=float), np.arange(SIDE, dtype=float), sparse=True)
    slope = (r1 - r0) / (c1 - c0)
    distance = np.clip(np.abs(rr - (slope * (cc - c0) + r0)), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)
    line[:, : int(np.floor(c0))] = 0
    line[:, int(np.ceil(c1)) :] = 0
    return line


def dotted_line(x, c, rng):
    out = np.empty_like(x)
    for k, image in enumerate(x):
        r0, r1 = rng.integers(0, 27, size=2)
        line = line_from_points(0, r0, 27, r1)
        for start in range(0, 28, 4):  # every other 2-pixel run of columns off
            line[:, start : start + 2] = 0
        out[k] = image + line
    return out


def _zigzag_line(rng) -> np.ndarray:
    a = b = 2.0  # length and width of the zigs
    c0, c1 = 2, 25
    r0 = int(rng.integers(0, 27))
    r1 = r0 + int(rng.integers(-5, 5))
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    ends = [(0.0, 0.0)]
    r_i = 0.0
    for i in range(int((d - a) // (2 * a)) + 1):
        r_i = (-1) ** i * b
        ends.append(((2 * i + 1) * a, r_i))
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        ends.append((d, r_i / (2 * (d - max_c))))
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cs, rs = rotation @ np.array(ends).T
    cs, rs = cs + c0, rs + r0
    line = np.zeros((SIDE, SIDE))
    for i in range(1, len(cs)):
        line = np.clip(line + line_from_points(cs[i - 1], rs[i - 1], cs[i], rs[i]), 0, 1)
    return line


def zigzag(x, c, rng):
    return np.stack([image + _zigzag_line(rng) for image in x])


def canny_edges(x, c, rng):
    from skimage.feature import canny

    return np.stack([canny(image, sigma=c).astype(np.float64) for image in x])


CORRUPTIONS: dict[str, Callable] = {
    "identity": identity,
    "shot_noise": shot_noise,
    "impulse_noise": impulse_noise,
    "glass_blur": glass_blur,
    "motion_blur": motion_blur,
    "shear": shear,
    "scale": scale,
    "rotate": rotate,
    "brightness": brightness,
    "translate": translate,
    "stripe": stripe,
    "fog": fog,
    "spatter": spatter,
    "dotted_line": dotted_line,
    "zigzag": zigzag,
    "canny_edges": canny_edges,
}
