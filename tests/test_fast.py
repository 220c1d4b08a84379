"""corr2d_fast: every method agrees with F.conv2d and corr2d, gradients are right, bad input is refused."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import convdocs.fast as fast
from convdocs.correlation import corr2d
from convdocs.fast import METHODS, choose_method, corr2d_fast

ALL_METHODS = ("auto", *METHODS)


def randn(*shape, dtype=torch.float64, seed=0, device="cpu"):
    """Seeded normal numbers, drawn on the CPU (the same on every device) and moved to ``device``."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype).to(device)


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(
    "x_shape, k_shape", [((3, 3), (2, 2)), ((7, 9), (3, 2)), ((5, 6), (1, 1)), ((4, 4), (4, 4))]
)
def test_equals_corr2d_on_images(method, x_shape, k_shape, device):
    X, K = randn(*x_shape, device=device), randn(*k_shape, seed=1, device=device)
    Y = corr2d_fast(X, K, method=method)
    assert Y.shape == (x_shape[0] - k_shape[0] + 1, x_shape[1] - k_shape[1] + 1)
    torch.testing.assert_close(Y, corr2d(X, K), rtol=1e-12, atol=1e-12)


def test_book_example(device):
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]], device=device)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]], device=device)
    for method in ALL_METHODS:
        expected = torch.tensor([[19.0, 25.0], [37.0, 43.0]], device=device)
        assert torch.equal(corr2d_fast(X, K, method=method), expected), method


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(
    "x_shape, k_shape, stride, padding",
    [
        ((2, 3, 9, 11), (4, 3, 3, 2), 1, 0),
        ((2, 3, 9, 11), (4, 3, 3, 3), 2, 1),
        ((1, 2, 10, 7), (3, 2, 2, 3), (2, 3), (0, 2)),
        ((3, 1, 12, 12), (1, 1, 5, 5), (3, 1), [2, 1]),
        ((2, 1, 8, 9), (5, 1, 3, 3), 1, 1),
        ((1, 1, 2, 2), (1, 1, 3, 3), 1, 1),
    ],
)
def test_batched_agrees_with_conv2d(method, x_shape, k_shape, stride, padding, device):
    X, K = randn(*x_shape, device=device), randn(*k_shape, seed=1, device=device)
    torch.testing.assert_close(
        corr2d_fast(X, K, stride=stride, padding=padding, method=method),
        F.conv2d(X, K, stride=stride, padding=padding),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("method", ALL_METHODS)
def test_float32_images_agree_with_conv2d(method, device, float32_tolerance):
    X, K = (
        randn(40, 50, dtype=torch.float32, device=device),
        randn(3, 3, dtype=torch.float32, seed=1, device=device),
    )
    torch.testing.assert_close(
        corr2d_fast(X, K, method=method),
        F.conv2d(X[None, None], K[None, None])[0, 0],
        **float32_tolerance,
    )


@pytest.mark.parametrize("method", ALL_METHODS)
def test_non_contiguous_inputs(method, device):
    X = randn(12, 10, device=device).t()[1:, ::2]  # (9, 6), transposed and strided
    K = randn(3, 4, seed=1, device=device).t()[:, 1:]  # (4, 2)
    assert not X.is_contiguous() and not K.is_contiguous()
    torch.testing.assert_close(
        corr2d_fast(X, K, method=method), corr2d(X, K), rtol=1e-12, atol=1e-12
    )
    Xb = randn(2, 8, 3, 11, device=device).permute(
        0, 2, 3, 1
    )  # (2, 3, 11, 8), channels last in memory
    Kb = randn(2, 3, 3, 4, seed=1, device=device).transpose(2, 3)  # (2, 3, 4, 3)
    torch.testing.assert_close(
        corr2d_fast(Xb, Kb, stride=2, padding=1, method=method),
        F.conv2d(Xb, Kb, stride=2, padding=1),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((3, 2), (1, 0))])
@pytest.mark.parametrize("channels", [(1, 1), (1, 3), (2, 3)])
def test_shift_add_in_strips_agrees_with_conv2d(monkeypatch, stride, padding, channels, device):
    monkeypatch.setattr(fast, "STRIPS_ABOVE", 10)  # force the strips on a small input
    monkeypatch.setattr(fast, "STRIP_ELEMENTS", 40)
    C, O = channels
    X, K = randn(2, C, 23, 17, device=device), randn(O, C, 3, 4, seed=1, device=device)
    torch.testing.assert_close(
        corr2d_fast(X, K, stride=stride, padding=padding, method="shift_add"),
        F.conv2d(X, K, stride=stride, padding=padding),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("method", ALL_METHODS)
def test_gradcheck(method, device):
    X = randn(2, 2, 6, 7, device=device).requires_grad_()
    K = randn(3, 2, 3, 2, seed=1, device=device).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, k: corr2d_fast(x, k, stride=(2, 1), padding=1, method=method), (X, K)
    )
    X1, K1 = (
        randn(6, 5, device=device).requires_grad_(),
        randn(2, 3, seed=1, device=device).requires_grad_(),
    )
    assert torch.autograd.gradcheck(lambda x, k: corr2d_fast(x, k, method=method), (X1, K1))


def test_gradients_match_the_loop(device):
    X, K = (
        randn(8, 9, device=device).requires_grad_(),
        randn(3, 3, seed=1, device=device).requires_grad_(),
    )
    (corr2d(X, K) ** 2).sum().backward()
    expected = X.grad.clone(), K.grad.clone()
    X.grad = K.grad = None
    (corr2d_fast(X, K) ** 2).sum().backward()
    torch.testing.assert_close((X.grad, K.grad), expected)


def test_choose_method(device):
    one = torch.empty(1, 1, 1024, 1024, device=device), torch.empty(1, 1, 3, 3, device=device)
    many = torch.empty(8, 16, 64, 64, device=device), torch.empty(32, 16, 3, 3, device=device)
    tiny = torch.empty(1, 1, 16, 16, device=device), torch.empty(1, 1, 3, 3, device=device)
    mid = torch.empty(1, 1, 300, 300, device=device), torch.empty(1, 1, 3, 3, device=device)
    uncompiled = "shift_add" if device.type == "cpu" else "conv2d"
    # the compiled pass for one big single-channel image where a compiler is at hand
    compiled = "compiled" if fast.compiler_problem(device) is None else uncompiled
    assert choose_method(*one) == compiled
    # below that size, shift and add on a CPU and cuDNN on a GPU; cuDNN or oneDNN for channels
    assert choose_method(*mid) == uncompiled
    assert choose_method(*many) == "conv2d"
    assert choose_method(*tiny) == "conv2d"
    assert choose_method(one[0].to("meta"), one[1].to("meta")) == "conv2d"  # not a CPU


X3 = torch.ones(3, 3)
K2 = torch.ones(2, 2)


@pytest.mark.parametrize(
    "X, K, kwargs, error, message",
    [
        ([[1.0]], K2, {}, TypeError, r"corr2d_fast expects input X to be a torch.Tensor, got list"),
        (X3, 2.0, {}, TypeError, r"corr2d_fast expects kernel K to be a torch.Tensor, got float"),
        (
            torch.ones(3),
            K2,
            {},
            ValueError,
            r"corr2d_fast expects a 2-D or 4-D input X, got shape \(3,\)",
        ),
        (
            torch.ones(1, 3, 3),
            K2,
            {},
            ValueError,
            r"expects a 2-D or 4-D input X, got shape \(1, 3, 3\)",
        ),
        (
            X3,
            torch.ones(1, 1, 2, 2),
            {},
            ValueError,
            r"expects a 2-D kernel K, got shape \(1, 1, 2, 2\)",
        ),
        (torch.ones(1, 1, 3, 3), K2, {}, ValueError, r"expects a 4-D kernel K, got shape \(2, 2\)"),
        (torch.ones(0, 3), K2, {}, ValueError, r"expects a non-empty input X, got shape \(0, 3\)"),
        (X3, torch.ones(2, 0), {}, ValueError, r"expects a non-empty kernel K, got shape \(2, 0\)"),
        (
            X3.long(),
            K2,
            {},
            ValueError,
            r"expects a floating-point input X \(e.g. torch.float32\), got dtype torch.int64",
        ),
        (
            X3,
            K2.bool(),
            {},
            ValueError,
            r"expects a floating-point kernel K \(e.g. torch.float32\), got dtype torch.bool",
        ),
        (
            X3,
            K2.double(),
            {},
            ValueError,
            r"expects X and K with the same dtype, got X torch.float32 and K torch.float64",
        ),
        (
            X3,
            K2.to("meta"),
            {},
            ValueError,
            r"expects X and K on the same device, got X on \S+ and K on meta",
        ),
        (
            X3,
            torch.ones(4, 2),
            {},
            ValueError,
            r"expects a kernel no larger than the input, got kernel \(4, 2\) for input \(3, 3\)",
        ),
        (
            X3,
            torch.ones(6, 2),
            {"padding": 1},
            ValueError,
            r"no larger than the padded input, got kernel \(6, 2\) for input \(3, 3\) padded to \(5, 5\)",
        ),
        (
            torch.ones(2, 3, 5, 5),
            torch.ones(4, 2, 3, 3),
            {},
            ValueError,
            r"expects K with as many input channels as X, got K of shape \(4, 2, 3, 3\) \(2 channels\) "
            r"for X of shape \(2, 3, 5, 5\) \(3 channels\)",
        ),
        (X3, K2, {"stride": 0}, ValueError, r"corr2d_fast expects stride >= 1, got 0"),
        (
            X3,
            K2,
            {"stride": (1, -2)},
            ValueError,
            r"corr2d_fast expects stride >= 1, got \(1, -2\)",
        ),
        (X3, K2, {"padding": -1}, ValueError, r"corr2d_fast expects padding >= 0, got -1"),
        (
            X3,
            K2,
            {"stride": 1.5},
            TypeError,
            r"expects stride to be an int or a pair of ints, got 1.5",
        ),
        (
            X3,
            K2,
            {"stride": True},
            TypeError,
            r"expects stride to be an int or a pair of ints, got True",
        ),
        (
            X3,
            K2,
            {"padding": (1, 1, 1)},
            TypeError,
            r"expects padding to be an int or a pair of ints, got \(1, 1, 1\)",
        ),
        (
            X3,
            K2,
            {"method": "fft"},
            ValueError,
            r"expects method to be one of 'auto', 'shift_add', 'unfold_matmul', 'conv2d', 'compiled', got 'fft'",
        ),
    ],
)
def test_bad_input(X, K, kwargs, error, message, device):
    X, K = (
        t.to(device) if isinstance(t, torch.Tensor) and t.device.type != "meta" else t
        for t in (X, K)
    )
    with pytest.raises(error, match=message):
        corr2d_fast(X, K, **kwargs)
