"""Padding and stride: the book's four comp_conv2d cases, the shape formula against PyTorch,
and clear errors."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from convdocs import comp_conv2d, conv_output_shape


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (dict(kernel_size=3, padding=1), (8, 8)),
        (dict(kernel_size=(5, 3), padding=(2, 1)), (8, 8)),
        (dict(kernel_size=3, padding=1, stride=2), (4, 4)),
        (dict(kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)), (2, 2)),
    ],
)
def test_the_books_four_cases(device, layer, shape):
    X = torch.rand(8, 8, device=device)
    for conv2d in (nn.LazyConv2d(1, **layer), nn.Conv2d(1, 1, **layer)):
        Y = comp_conv2d(conv2d.to(device), X)
        assert tuple(Y.shape) == shape and Y.device == X.device
    assert (
        conv_output_shape(8, layer["kernel_size"], layer["padding"], layer.get("stride", 1))
        == shape
    )


def test_the_formula_agrees_with_pytorch_everywhere():
    X = torch.zeros(1, 1, 9, 7)
    for k, p, s in itertools.product((1, 2, 3, 5), (0, 1, 2), (1, 2, 3)):
        if k > 7 + 2 * p:
            continue
        expected = nn.functional.conv2d(X, torch.zeros(1, 1, k, k), padding=p, stride=s).shape[2:]
        assert conv_output_shape((9, 7), k, p, s) == tuple(expected), (k, p, s)


def test_ten_5x5_layers_shrink_240_to_200():
    size = (240, 240)
    for _ in range(10):
        size = conv_output_shape(size, 5)
    assert size == (200, 200)


def test_pooling_layers_work_too(device):
    Y = comp_conv2d(
        nn.MaxPool2d(3, padding=1, stride=2), torch.arange(16.0, device=device).reshape(4, 4)
    )
    assert torch.equal(Y, torch.tensor([[5.0, 7.0], [13.0, 15.0]], device=device))


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (8, 11),
            ValueError,
            r"no larger than the padded input, got kernel \(11, 11\) for input \(8, 8\)$",
        ),
        ((8, 11, 1), ValueError, r"for input \(8, 8\) padded to \(10, 10\)$"),
        ((8, 3, -1), ValueError, "padding >= 0 on both sides, got -1"),
        ((8, 3, 0, 0), ValueError, "stride >= 1 on both sides, got 0"),
        ((8, 3, 0, 1.5), TypeError, "stride to be an int or a pair of ints, got 1.5"),
        (((8, 8, 8), 3), TypeError, "input_size to be an int or a pair of ints"),
        ((0, 1), ValueError, "input_size >= 1"),
    ],
)
def test_bad_shapes_are_named(args, error, message):
    with pytest.raises(error, match=message):
        conv_output_shape(*args)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: nn.Conv2d(1, 3, 3),
            ValueError,
            "1 output channel .* got Conv2d with out_channels=3",
        ),
        (lambda: nn.Conv2d(2, 1, 3), ValueError, "1 input channel, got Conv2d with in_channels=2"),
        (lambda: lambda X: X, TypeError, "torch.nn.Module, got function"),
        (
            lambda: nn.Conv2d(1, 1, 3, dtype=torch.float64),
            ValueError,
            "with X's dtype, got weight torch.float64",
        ),
    ],
)
def test_bad_layers_are_named(device, make, error, message):
    layer = make()
    if isinstance(layer, nn.Module):
        layer.to(device)
    with pytest.raises(error, match=message):
        comp_conv2d(layer, torch.rand(8, 8, device=device))


def test_bad_images_are_named(device):
    conv2d = nn.Conv2d(1, 1, 3).to(device)
    with pytest.raises(ValueError, match=r"2-D image X, got shape \(1, 8, 8\)"):
        comp_conv2d(conv2d, torch.rand(1, 8, 8, device=device))
    with pytest.raises(ValueError, match=r"on X's device, got weight on .* and X on meta"):
        comp_conv2d(conv2d, torch.rand(8, 8, device="meta"))
