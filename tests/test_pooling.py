"""pool2d: the book's numbers, agreement with F.max_pool2d/F.avg_pool2d, gradients, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convdocs import pool2d


@pytest.fixture
def X(device: torch.device) -> torch.Tensor:
    return torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]], device=device)


def test_the_books_max_and_average(X):
    assert torch.equal(pool2d(X, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]], device=X.device))
    assert torch.equal(
        pool2d(X, (2, 2), "avg"), torch.tensor([[2.0, 3.0], [5.0, 6.0]], device=X.device)
    )
    assert torch.equal(pool2d(X, 2), pool2d(X, (2, 2), mode="max"))


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (3, 1), (4, 4)])
def test_agrees_with_torch_at_stride_one(device, float32_tolerance, size):
    X = torch.randn(5, 6, generator=torch.Generator().manual_seed(sum(size))).to(device)
    batch = X[None, None]
    torch.testing.assert_close(
        pool2d(X, size), F.max_pool2d(batch, size, stride=1)[0, 0], rtol=0, atol=0
    )
    torch.testing.assert_close(
        pool2d(X, size, "avg"), F.avg_pool2d(batch, size, stride=1)[0, 0], **float32_tolerance
    )


def test_keeps_dtype_and_device_and_has_gradients(device):
    X = torch.rand(4, 4, dtype=torch.float64, device=device, requires_grad=True)
    Y = pool2d(X, 2, "avg")
    assert Y.dtype == torch.float64 and Y.device == X.device
    Y.sum().backward()
    assert X.grad is not None and X.grad.shape == X.shape


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (((2, 2), "min"), ValueError, "mode 'max' or 'avg', got 'min'"),
        (((2, 2), 1), TypeError, "mode to be 'max' or 'avg', got int"),
        (
            ((4, 2),),
            ValueError,
            r"no larger than the input, got pool_size \(4, 2\) for input \(3, 3\)",
        ),
        (((0, 2),), ValueError, r"both sides >= 1, got \(0, 2\)"),
        ((0,), ValueError, "both sides >= 1, got 0"),
        ((2.0,), TypeError, "pool_size to be an int or a pair of ints, got 2.0"),
        (((True, 2),), TypeError, "an int or a pair of ints"),
    ],
)
def test_bad_input_is_named(X, args, error, message):
    with pytest.raises(error, match=message):
        pool2d(X, *args)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (torch.ones(1, 3, 3), r"2-D input X, got shape \(1, 3, 3\)"),
        (torch.ones(3, 3, dtype=torch.int64), "floating-point input X"),
        ([[1.0, 2.0]], "torch.Tensor, got list"),
    ],
)
def test_bad_tensors_are_named(X, message):
    with pytest.raises((TypeError, ValueError), match=message):
        pool2d(X, 1)
