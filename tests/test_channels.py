"""Multiple channels: the book's numbers, agreement with F.conv2d, the 1x1 product, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convdocs import corr2d, corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1


@pytest.fixture
def book(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.tensor(
        [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
         [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]],
        device=device,
    )  # fmt: skip
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]], device=device)
    return X, K


def test_the_books_two_channel_sum(book):
    X, K = book
    Y = corr2d_multi_in(X, K)
    expected = torch.tensor([[56.0, 72.0], [104.0, 120.0]], device=X.device)
    assert torch.equal(Y, expected)
    assert torch.equal(Y, corr2d(X[0], K[0]) + corr2d(X[1], K[1]))


def test_the_books_three_output_channels(book):
    X, K = book
    K3 = torch.stack((K, K + 1, K + 2), 0)
    Y = corr2d_multi_in_out(X, K3)
    assert Y.shape == (3, 2, 2)
    expected = torch.tensor(
        [[[56.0, 72.0], [104.0, 120.0]],
         [[76.0, 100.0], [148.0, 172.0]],
         [[96.0, 128.0], [192.0, 224.0]]],
        device=X.device,
    )  # fmt: skip
    assert torch.equal(Y, expected)


@pytest.mark.parametrize(
    ("c_i", "c_o", "h", "w", "k"), [(1, 1, 4, 5, 2), (3, 2, 5, 4, 3), (4, 3, 3, 3, 1)]
)
def test_agrees_with_conv2d(device, float32_tolerance, c_i, c_o, h, w, k):
    g = torch.Generator().manual_seed(c_i * 10 + c_o)
    X = torch.randn(c_i, h, w, generator=g).to(device)
    K = torch.randn(c_o, c_i, k, k, generator=g).to(device)
    expected = F.conv2d(X[None], K)[0]
    torch.testing.assert_close(corr2d_multi_in_out(X, K), expected, **float32_tolerance)
    torch.testing.assert_close(corr2d_multi_in(X, K[0]), expected[0], **float32_tolerance)


def test_1x1_is_the_multi_channel_correlation(device, float32_tolerance):
    torch.manual_seed(0)
    X = torch.normal(0, 1, (3, 3, 3)).to(device)
    K = torch.normal(0, 1, (2, 3, 1, 1)).to(device)
    Y1 = corr2d_multi_in_out_1x1(X, K)
    Y2 = corr2d_multi_in_out(X, K)
    assert Y1.shape == (2, 3, 3) and Y1.device == X.device
    assert float(torch.abs(Y1 - Y2).sum()) < 1e-6
    torch.testing.assert_close(Y1, F.conv2d(X[None], K)[0], **float32_tolerance)


def test_gradients_flow(device):
    X = torch.rand(2, 4, 4, device=device, requires_grad=True)
    K = torch.rand(3, 2, 2, 2, device=device, requires_grad=True)
    corr2d_multi_in_out(X, K).sum().backward()
    assert X.grad is not None and K.grad is not None and K.grad.shape == K.shape


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda X, K: corr2d_multi_in(X, K[:1]), ValueError, "same number of input channels"),
        (lambda X, K: corr2d_multi_in(X[0], K), ValueError, "3-D input X, got shape (3, 3)"),
        (lambda X, K: corr2d_multi_in(X, K.tolist()), TypeError, "got list"),
        (lambda X, K: corr2d_multi_in(X.long(), K), ValueError, "floating-point input X"),
        (lambda X, K: corr2d_multi_in(X, K.double()), ValueError, "same dtype"),
        (lambda X, K: corr2d_multi_in(X[:, :1], K), ValueError, "no larger than the input"),
        (lambda X, K: corr2d_multi_in_out(X, K), ValueError, "4-D kernel K, got shape (2, 2, 2)"),
        (
            lambda X, K: corr2d_multi_in_out(X, torch.stack((K, K))[:, :1]),
            ValueError,
            "X with 2 (shape (2, 3, 3)) and K with 1 (shape (2, 1, 2, 2))",
        ),
        (
            lambda X, K: corr2d_multi_in_out_1x1(X, torch.stack((K, K))),
            ValueError,
            "1x1 kernel K of shape (Co, C, 1, 1), got shape (2, 2, 2, 2)",
        ),
        (
            lambda X, K: corr2d_multi_in_out_1x1(X, torch.ones(2, 3, 1, 1, device=X.device)),
            ValueError,
            "same number of input channels",
        ),
    ],
)
def test_bad_input_is_named(book, call, error, message):
    X, K = book
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(X, K)


def test_devices_must_agree(device):
    X = torch.ones(1, 2, 2, device=device)
    with pytest.raises(ValueError, match=rf"same device, got X on {X.device} and K on meta"):
        corr2d_multi_in(X, torch.ones(1, 1, 1, device="meta"))
