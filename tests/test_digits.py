"""The bundled handwritten digits: scikit-learn's data exactly, split and scaled as documented."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from convdocs import load_digits
from convdocs.digits import _read_bundled


def test_the_bundled_digits_are_scikit_learns():
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")
    reference = datasets.load_digits()
    images, labels = _read_bundled()
    assert images.shape == (1797, 8, 8)
    assert np.array_equal(images, reference.images.astype(np.int64))
    assert np.array_equal(labels, reference.target)


def test_split_sizes_labels_and_standardisation():
    digits = load_digits()
    assert digits.train_images.shape == (1437, 1, 28, 28)
    assert digits.test_images.shape == (360, 1, 28, 28)
    assert digits.train_images.dtype == torch.float32
    assert sorted(set(digits.train_labels.tolist())) == list(range(10))
    assert abs(digits.train_images.mean().item()) < 1e-5
    assert abs(digits.train_images.std().item() - 1) < 1e-4
    every = torch.cat((digits.train_labels, digits.test_labels)).bincount()
    _, labels = _read_bundled()
    assert every.tolist() == np.bincount(labels).tolist()


def test_the_split_depends_on_the_seed_only():
    a, b, c = load_digits(seed=1), load_digits(seed=1), load_digits(seed=2)
    assert torch.equal(a.test_labels, b.test_labels)
    assert not torch.equal(a.test_labels, c.test_labels)


def test_size_8_keeps_the_original_pixels():
    digits = load_digits(8, test_size=1)
    images, _ = _read_bundled()
    every = torch.cat((digits.train_images, digits.test_images)) * digits.std + digits.mean
    assert every.shape == (1797, 1, 8, 8)
    # the same pixels (scaled to [0, 1]) in another order: compare the sorted values
    expected = torch.from_numpy(images).float().flatten().sort().values / 16
    torch.testing.assert_close(every.flatten().sort().values, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(size=4), ValueError, r"size >= 8 \(the images are 8x8\), got 4"),
        (dict(size=28.0), TypeError, "size to be an int, got float"),
        (dict(test_size=1797), ValueError, "test_size from 1 to 1796"),
        (dict(test_size=0), ValueError, "test_size >= 1"),
        (dict(seed="0"), TypeError, "seed to be an int, got str"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_digits(**kwargs)


def test_float64_digits_are_the_float32_ones_more_precisely():
    single, double = load_digits(), load_digits(dtype=torch.float64)
    assert double.train_images.dtype == torch.float64
    assert torch.equal(single.train_labels, double.train_labels)
    torch.testing.assert_close(double.train_images.float(), single.train_images, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match=r"floating-point dtype, got torch\.int64"):
        load_digits(dtype=torch.int64)
