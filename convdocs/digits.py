"""Handwritten digits that ship with the package: 1,797 8x8 images, scaled up for LeNet.

The data is scikit-learn's copy of the UCI digits (``convdocs/data/README.md`` says where it
comes from and under which licence); it is read from the package, never downloaded.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from convdocs._checks import check_float_dtype, check_positive_int

N_IMAGES = 1797


def _read_bundled() -> tuple[np.ndarray, np.ndarray]:
    """The bundled images (1797, 8, 8) with pixels 0..16 and their labels (1797,)."""
    with resources.files("convdocs").joinpath("data/digits.csv.gz").open("rb") as raw:
        table = np.loadtxt(gzip.open(raw), delimiter=",", dtype=np.int64)
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1]


@dataclass(frozen=True)
class Digits:
    """The digits split into a training and a test set, ready for LeNet.

    Images are ``(N, 1, size, size)`` floating-point tensors (float32 unless asked) on the CPU, standardised with the
    training set's ``mean`` and ``std``; labels are int64 tensors of digits 0 to 9.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    mean: float
    """The mean pixel of the training images (pixels scaled to [0, 1]), subtracted from all."""
    std: float
    """Their standard deviation, by which all images are divided."""


def load_digits(
    size: int = 28, *, test_size: int = 360, seed: int = 0, dtype: torch.dtype = torch.float32
) -> Digits:
    """Load the bundled handwritten digits, scale them to ``size``x``size`` and split them.

    Each 8x8 image (pixels 0 to 16) is scaled to [0, 1], resized with bilinear interpolation to
    ``size``x``size`` (LeNet expects 28x28, the size of MNIST and Fashion-MNIST), and
    standardised with the training set's mean and standard deviation. A permutation drawn
    from ``seed`` (on its own generator) puts ``test_size`` images in the test set and the
    rest in the training set.

    Args:
        size: the side of the returned images, at least 8.
        test_size: how many images to hold out, from 1 to 1796.
        seed: the seed of the split.
        dtype: the floating-point dtype of the images, in which they are also resized and
            standardised (``torch.float64`` for training that must repeat to the last digit
            on every machine).

    Returns:
        A ``Digits`` with the two sets.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if ``size < 8``, ``test_size`` leaves no image on one side, or ``dtype`` is
            not a floating-point dtype.

    Example:

    ```python
    from convdocs import load_digits
    digits = load_digits()
    print(digits.train_images.shape, digits.test_images.shape)
    print(digits.train_labels[:10])
    ```

    ```text
    torch.Size([1437, 1, 28, 28]) torch.Size([360, 1, 28, 28])
    tensor([7, 1, 9, 8, 5, 0, 4, 5, 6, 5])
    ```

    Taught on the page [LeNet](lenet.md).
    """
    fn = "load_digits"
    size = check_positive_int(fn, "size", size)
    if size < 8:
        raise ValueError(f"{fn} expects size >= 8 (the images are 8x8), got {size}")
    test_size = check_positive_int(fn, "test_size", test_size)
    if test_size >= N_IMAGES:
        raise ValueError(
            f"{fn} expects test_size from 1 to {N_IMAGES - 1} ({N_IMAGES} images), got {test_size}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{fn} expects seed to be an int, got {type(seed).__name__}")
    check_float_dtype(fn, dtype)
    pixels, labels = _read_bundled()
    images = torch.from_numpy(pixels).to(dtype).unsqueeze(1) / 16.0
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    order = torch.randperm(N_IMAGES, generator=torch.Generator().manual_seed(seed))
    test, train = order[:test_size], order[test_size:]
    mean, std = images[train].mean().item(), images[train].std().item()
    images = (images - mean) / std
    targets = torch.from_numpy(labels)
    return Digits(images[train], targets[train], images[test], targets[test], mean, std)
