"""Edge detection: the book's stripe image, the kernel ``[[1, -1]]`` and the edge map."""

from __future__ import annotations

import torch

from convdocs._checks import check_device, check_float_dtype, check_float_tensor
from convdocs.correlation import check_corr2d_inputs, corr2d


def stripe_image(
    *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Return the book's 6x8 image: ones, with columns 2 to 5 set to zero.

    Args:
        device: where the image lives (default: the CPU).
        dtype: a floating-point dtype (default: torch's default).

    Returns:
        A ``(6, 8)`` tensor.

    Example:

    ```python
    from convdocs import stripe_image
    stripe_image()
    ```

    ```text
    tensor([[1., 1., 0., 0., 0., 0., 1., 1.],
            [1., 1., 0., 0., 0., 0., 1., 1.],
            [1., 1., 0., 0., 0., 0., 1., 1.],
            [1., 1., 0., 0., 0., 0., 1., 1.],
            [1., 1., 0., 0., 0., 0., 1., 1.],
            [1., 1., 0., 0., 0., 0., 1., 1.]])
    ```
    """
    device, dtype = check_device("stripe_image", device), check_float_dtype("stripe_image", dtype)
    X = torch.ones((6, 8), device=device, dtype=dtype)
    X[:, 2:6] = 0
    return X


def edge_kernel(
    *, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Return the 1x2 kernel ``[[1, -1]]``, which responds to vertical edges.

    Args:
        device: where the kernel lives (default: the CPU).
        dtype: a floating-point dtype (default: torch's default).

    Returns:
        A ``(1, 2)`` tensor.
    """
    device, dtype = check_device("edge_kernel", device), check_float_dtype("edge_kernel", dtype)
    return torch.tensor([[1.0, -1.0]], device=device, dtype=dtype)


def detect_edges(X: torch.Tensor, K: torch.Tensor | None = None) -> torch.Tensor:
    """Return the edge map of a 2-D image: ``corr2d(X, K)``.

    Args:
        X: a 2-D floating-point image ``(H, W)``.
        K: the kernel; defaults to ``edge_kernel()`` on ``X``'s device and dtype,
            which marks a step from 1 to 0 (left to right) with 1 and a step
            from 0 to 1 with -1.

    Returns:
        A tensor of shape ``(H - kh + 1, W - kw + 1)``.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor.
        ValueError: as for ``corr2d``.

    Example:

    ```python
    from convdocs import detect_edges, stripe_image
    detect_edges(stripe_image())[0]
    ```

    ```text
    tensor([ 0.,  1.,  0.,  0.,  0., -1.,  0.])
    ```

    Taught on the page [Edge detection](edge-detection.md).
    """
    if K is None:
        check_float_tensor("detect_edges", "input X", X, 2)
        K = edge_kernel(device=X.device, dtype=X.dtype)
    check_corr2d_inputs("detect_edges", X, K)
    return corr2d(X, K)
