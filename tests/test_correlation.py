"""corr2d against torch.nn.functional.conv2d, its gradient, and its input checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convdocs import corr2d


def reference(X, K):
    return F.conv2d(X[None, None], K[None, None])[0, 0]


def test_book_example(device):
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]], device=device)
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]], device=device)
    Y = corr2d(X, K)
    assert Y.device == X.device
    assert torch.equal(Y, torch.tensor([[19.0, 25.0], [37.0, 43.0]], device=device))


@pytest.mark.parametrize("seed", range(8))
def test_matches_conv2d_on_random_shapes(seed, device):
    g = torch.Generator().manual_seed(seed)
    H, W = (int(v) for v in torch.randint(1, 12, (2,), generator=g))
    kh, kw = (
        int(torch.randint(1, H + 1, (1,), generator=g)),
        int(torch.randint(1, W + 1, (1,), generator=g)),
    )
    X = torch.randn(H, W, generator=g, dtype=torch.float64).to(device)
    K = torch.randn(kh, kw, generator=g, dtype=torch.float64).to(device)
    Y = corr2d(X, K)
    assert Y.shape == (H - kh + 1, W - kw + 1)
    torch.testing.assert_close(Y, reference(X, K))


def test_keeps_dtype_and_works_on_non_contiguous_input(device):
    X = torch.randn(9, 7, dtype=torch.float64, device=device).t()  # (7, 9), not contiguous
    K = torch.randn(3, 2, dtype=torch.float64, device=device)
    assert not X.is_contiguous()
    Y = corr2d(X, K)
    assert Y.dtype == torch.float64
    torch.testing.assert_close(Y, reference(X.contiguous(), K))


def test_gradcheck_float64(device):
    X = torch.randn(5, 6, dtype=torch.float64, device=device, requires_grad=True)
    K = torch.randn(2, 3, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(corr2d, (X, K))


@pytest.mark.parametrize(
    ("X", "K", "error", "message"),
    [
        (
            [[1.0]],
            torch.ones(1, 1),
            TypeError,
            r"corr2d expects input X to be a torch.Tensor, got list",
        ),
        (
            torch.ones(2, 2),
            3.0,
            TypeError,
            r"corr2d expects kernel K to be a torch.Tensor, got float",
        ),
        (
            torch.ones(1, 3, 3),
            torch.ones(2, 2),
            ValueError,
            r"expects a 2-D input X, got shape \(1, 3, 3\)",
        ),
        (torch.ones(3, 3), torch.ones(2), ValueError, r"expects a 2-D kernel K, got shape \(2,\)"),
        (torch.ones(0, 3), torch.ones(1, 1), ValueError, r"non-empty input X, got shape \(0, 3\)"),
        (
            torch.ones(3, 3, dtype=torch.int32),
            torch.ones(1, 1),
            ValueError,
            r"floating-point input X .* got dtype torch.int32",
        ),
        (torch.ones(3, 3, dtype=torch.bool), torch.ones(1, 1), ValueError, r"got dtype torch.bool"),
        (
            torch.ones(3, 3),
            torch.ones(1, 1, dtype=torch.float64),
            ValueError,
            r"same dtype, got X torch.float32 and K torch.float64",
        ),
        (
            torch.ones(3, 3),
            torch.ones(4, 1),
            ValueError,
            r"kernel no larger than the input, got kernel \(4, 1\) for input \(3, 3\)",
        ),
        (torch.ones(3, 3), torch.ones(1, 4), ValueError, r"got kernel \(1, 4\) for input \(3, 3\)"),
    ],
)
def test_bad_input(X, K, error, message, device):
    X, K = (t.to(device) if isinstance(t, torch.Tensor) else t for t in (X, K))
    with pytest.raises(error, match=message):
        corr2d(X, K)


def test_different_devices_are_rejected_before_any_work(device):
    X = torch.ones(3, 3, device=device)
    K = torch.ones(2, 2, device="meta")
    with pytest.raises(ValueError, match=rf"same device, got X on {X.device} and K on meta"):
        corr2d(X, K)
