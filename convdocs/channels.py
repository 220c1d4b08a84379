"""Multiple input and output channels (D2L section 7.4): one kernel per input channel, summed;
one such stack per output channel; and the 1x1 convolution as a matrix product."""

from __future__ import annotations

import torch

from convdocs._checks import (
    check_float_tensor,
    check_kernel_fits,
    check_same_device_dtype,
    shape_str,
)
from convdocs.correlation import corr2d


def _check_channels(fn: str, X: torch.Tensor, K: torch.Tensor, axis: int) -> None:
    """Raise ValueError unless ``X`` and ``K`` have as many input channels (``K.shape[axis]``)."""
    if X.shape[0] != K.shape[axis]:
        raise ValueError(
            f"{fn} expects X and K with the same number of input channels, got X with "
            f"{X.shape[0]} (shape {shape_str(X)}) and K with {K.shape[axis]} (shape {shape_str(K)})"
        )


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlate a multi-channel input with a multi-channel kernel and sum over channels.

    Channel ``c`` of ``X`` is cross-correlated (``corr2d``) with channel ``c`` of ``K``, and
    the ``C`` results are added: one output channel, as in D2L section 7.4.

    Args:
        X: the input, a floating-point tensor of shape ``(C, H, W)``.
        K: the kernel, shape ``(C, kh, kw)`` with ``kh <= H`` and ``kw <= W``, on the same
            device and with the same dtype as ``X``.

    Returns:
        A tensor of shape ``(H - kh + 1, W - kw + 1)``.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor.
        ValueError: if either is not 3-D, is empty or not floating point, if their channel
            counts, devices or dtypes differ, or if the kernel is larger than the input.

    Example (the book's two-channel example):

    ```python
    import torch
    from convdocs import corr2d_multi_in
    X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                      [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    corr2d_multi_in(X, K)
    ```

    ```text
    tensor([[ 56.,  72.],
            [104., 120.]])
    ```

    Taught on the page [Multiple channels](channels.md).
    """
    fn = "corr2d_multi_in"
    check_float_tensor(fn, "input X", X, 3)
    check_float_tensor(fn, "kernel K", K, 3)
    check_same_device_dtype(fn, ("X", "K"), X, K)
    _check_channels(fn, X, K, 0)
    check_kernel_fits(fn, X, K)
    # iterate over the channel dimension of X and K, and add up the results
    return sum(corr2d(x, k) for x, k in zip(X, K, strict=True))  # type: ignore[return-value]


def corr2d_multi_in_out(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlate a multi-channel input with one multi-channel kernel per output channel.

    Output channel ``o`` is ``corr2d_multi_in(X, K[o])``; the results are stacked.

    Args:
        X: the input, a floating-point tensor of shape ``(C, H, W)``.
        K: the kernels, shape ``(Co, C, kh, kw)``, on ``X``'s device, with ``X``'s dtype.

    Returns:
        A tensor of shape ``(Co, H - kh + 1, W - kw + 1)``.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor.
        ValueError: if ``X`` is not 3-D or ``K`` not 4-D, either is empty or not floating
            point, their input channels, devices or dtypes differ, or the kernel is larger
            than the input.

    Example: three output channels from the kernels ``K``, ``K + 1`` and ``K + 2``:

    ```python
    import torch
    from convdocs import corr2d_multi_in_out
    X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                      [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    K = torch.stack((K, K + 1, K + 2), 0)
    corr2d_multi_in_out(X, K).shape
    ```

    ```text
    torch.Size([3, 2, 2])
    ```

    Taught on the page [Multiple channels](channels.md).
    """
    fn = "corr2d_multi_in_out"
    check_float_tensor(fn, "input X", X, 3)
    check_float_tensor(fn, "kernel K", K, 4)
    check_same_device_dtype(fn, ("X", "K"), X, K)
    _check_channels(fn, X, K, 1)
    check_kernel_fits(fn, X, K)
    # iterate over the output channels of K; each gives one channel of the result
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


def corr2d_multi_in_out_1x1(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """A 1x1 convolution with multiple input and output channels, as one matrix product.

    With a 1x1 kernel, each output pixel mixes the ``C`` input values at the same pixel: the
    layer is a fully connected layer applied at every pixel. Reshaping ``X`` to ``(C, H*W)``
    and ``K`` to ``(Co, C)`` makes it ``K @ X``.

    Args:
        X: the input, a floating-point tensor of shape ``(C, H, W)``.
        K: the kernels, shape ``(Co, C, 1, 1)``, on ``X``'s device, with ``X``'s dtype.

    Returns:
        A tensor of shape ``(Co, H, W)``, equal to ``corr2d_multi_in_out(X, K)`` up to
        float rounding.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor.
        ValueError: if ``X`` is not 3-D or ``K`` not 4-D, the kernel is not 1x1, either is
            empty or not floating point, or their input channels, devices or dtypes differ.

    Example:

    ```python
    import torch
    from convdocs import corr2d_multi_in_out_1x1
    X = torch.arange(12.0).reshape(3, 2, 2)
    K = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]).reshape(2, 3, 1, 1)
    corr2d_multi_in_out_1x1(X, K)
    ```

    ```text
    tensor([[[ 0.,  1.],
             [ 2.,  3.]],

            [[12., 15.],
             [18., 21.]]])
    ```

    Taught on the page [Multiple channels](channels.md).
    """
    fn = "corr2d_multi_in_out_1x1"
    check_float_tensor(fn, "input X", X, 3)
    check_float_tensor(fn, "kernel K", K, 4)
    if tuple(K.shape[2:]) != (1, 1):
        raise ValueError(
            f"{fn} expects a 1x1 kernel K of shape (Co, C, 1, 1), got shape {shape_str(K)}"
        )
    check_same_device_dtype(fn, ("X", "K"), X, K)
    _check_channels(fn, X, K, 1)
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    # a matrix product: one row of K per output channel, one column of X per pixel
    Y = torch.matmul(K, X)
    return Y.reshape((c_o, h, w))
