"""2-D cross-correlation, written as the book's double loop (the teaching implementation)."""

from __future__ import annotations

import torch

from convdocs._checks import check_float_tensor, check_kernel_fits, check_same_device_dtype


def check_corr2d_inputs(fn: str, X: object, K: object) -> None:
    """Check a 2-D input ``X`` and kernel ``K`` for cross-correlation; raise before any work."""
    X_ = check_float_tensor(fn, "input X", X, 2)
    K_ = check_float_tensor(fn, "kernel K", K, 2)
    check_same_device_dtype(fn, ("X", "K"), X_, K_)
    check_kernel_fits(fn, X_, K_)


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Compute the 2-D cross-correlation of the input ``X`` with the kernel ``K``.

    Each output element is the sum of the elementwise product of ``K`` with the
    window of ``X`` under it, as in Dive into Deep Learning, section 7.2. This is
    a Python double loop: clear, differentiable and slow.

    Args:
        X: the input, a 2-D floating-point tensor of shape ``(H, W)``.
        K: the kernel, a 2-D tensor of shape ``(kh, kw)`` with ``kh <= H`` and
            ``kw <= W``, on the same device and with the same dtype as ``X``.

    Returns:
        A tensor of shape ``(H - kh + 1, W - kw + 1)`` with ``X``'s dtype and device.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor.
        ValueError: if either is not 2-D, is empty or not floating point, if they
            differ in device or dtype, or if ``K`` is larger than ``X``.

    Example:

    ```python
    import torch
    from convdocs import corr2d
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    corr2d(X, K)
    ```

    ```text
    tensor([[19., 25.],
            [37., 43.]])
    ```

    Taught on the page [Cross-correlation](cross-correlation.md).
    """
    check_corr2d_inputs("corr2d", X, K)
    h, w = K.shape
    # the output shrinks by the kernel's size minus one: (H - kh + 1, W - kw + 1)
    Y = X.new_zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y
