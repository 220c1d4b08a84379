"""Conv2D: parameters, forward with bias, gradients, seeding and input checks."""

from __future__ import annotations

import pytest
import torch

from convdocs import Conv2D, corr2d


def test_weight_uniform_and_bias_zero(device):
    conv = Conv2D((3, 4), generator=torch.Generator().manual_seed(1), device=device)
    assert conv.weight.shape == (3, 4) and conv.bias.shape == (1,)
    assert conv.weight.device == conv.bias.device == device
    assert 0 <= conv.weight.min() and conv.weight.max() < 1
    assert torch.equal(conv.bias.detach(), torch.zeros(1, device=device))


def test_int_kernel_size_and_seed_repeats_on_every_device(device):
    a = Conv2D(2, generator=torch.Generator().manual_seed(5), device=device)
    b = Conv2D((2, 2), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a.weight.cpu(), b.weight)  # drawn on the CPU, then moved


def test_forward_adds_the_bias(device):
    conv = Conv2D((2, 2), generator=torch.Generator().manual_seed(0), device=device)
    with torch.no_grad():
        conv.bias.fill_(0.5)
    X = torch.randn(4, 5, device=device)
    torch.testing.assert_close(conv(X), corr2d(X, conv.weight.detach()) + 0.5)


def test_every_parameter_gets_a_gradient(device):
    conv = Conv2D((2, 2), generator=torch.Generator().manual_seed(0), device=device)
    conv(torch.ones(3, 3, device=device)).sum().backward()
    assert conv.bias.grad is not None and conv.weight.grad is not None
    assert torch.equal(conv.bias.grad, torch.tensor([4.0], device=device))
    assert torch.equal(conv.weight.grad, torch.full((2, 2), 4.0, device=device))


def test_gradcheck_float64(device):
    conv = Conv2D(
        (2, 3), dtype=torch.float64, generator=torch.Generator().manual_seed(0), device=device
    )
    X = torch.randn(4, 5, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (X,))
    assert torch.autograd.gradcheck(lambda w, b: corr2d(X, w) + b, (conv.weight, conv.bias))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(kernel_size=0), ValueError, r"Conv2D expects a positive kernel_size, got 0"),
        (dict(kernel_size=(2, -1)), ValueError, r"positive kernel_size, got \(2, -1\)"),
        (dict(kernel_size=2.5), TypeError, r"int or a pair of ints, got 2.5"),
        (dict(kernel_size=(1, 2, 3)), TypeError, r"int or a pair of ints, got \(1, 2, 3\)"),
        (dict(kernel_size=True), TypeError, r"got bool"),
        (
            dict(kernel_size=2, dtype=torch.int64),
            ValueError,
            r"floating-point dtype, got torch.int64",
        ),
        (
            dict(kernel_size=2, generator=0),
            TypeError,
            r"generator to be a torch.Generator, got int",
        ),
        (
            dict(kernel_size=2, device="tpu:9"),
            ValueError,
            r"Conv2D expects a torch device such as 'cpu' or 'cuda', got 'tpu:9'",
        ),
    ],
)
def test_bad_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        Conv2D(**kwargs)


def test_bad_forward_input(device):
    conv = Conv2D(2, device=device)
    on = conv.weight.device
    with pytest.raises(TypeError, match=r"Conv2D expects input X to be a torch\.Tensor"):
        conv([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"Conv2D expects a 2-D input X, got shape \(1, 1, 3, 3\)"):
        conv(torch.ones(1, 1, 3, 3, device=device))
    with pytest.raises(
        ValueError,
        match=rf"Conv2D expects X on {on} with dtype torch.float32 .* got X on {on} with dtype torch.float64",
    ):
        conv(torch.ones(3, 3, dtype=torch.float64, device=device))
    with pytest.raises(ValueError, match=rf"Conv2D expects X on {on} .* got X on meta"):
        conv(torch.ones(3, 3, device="meta"))
