"""Pooling (D2L section 7.5): the maximum or the mean of each window, written as a double loop."""

from __future__ import annotations

import numbers

import torch

from convdocs._checks import check_float_tensor

MODES = ("max", "avg")


def _pool_size_pair(fn: str, pool_size: object) -> tuple[int, int]:
    """Normalise an int or a pair of ints to ``(ph, pw)``, each at least 1."""
    pair: tuple[int, int]
    if isinstance(pool_size, numbers.Integral) and not isinstance(pool_size, bool):
        pair = (int(pool_size), int(pool_size))
    elif (
        isinstance(pool_size, (tuple, list, torch.Size))
        and len(pool_size) == 2
        and all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pool_size)
    ):
        pair = (int(pool_size[0]), int(pool_size[1]))
    else:
        raise TypeError(f"{fn} expects pool_size to be an int or a pair of ints, got {pool_size!r}")
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(f"{fn} expects a pool_size with both sides >= 1, got {pool_size!r}")
    return pair


def pool2d(X: torch.Tensor, pool_size: int | tuple[int, int], mode: str = "max") -> torch.Tensor:
    """Slide a ``pool_size`` window over ``X`` (stride 1, no padding) and keep the maximum or
    the mean of each window.

    Args:
        X: the input, a 2-D floating-point tensor of shape ``(H, W)``.
        pool_size: ``p`` or ``(ph, pw)``, positive and no larger than ``X``.
        mode: ``"max"`` (maximum pooling) or ``"avg"`` (average pooling).

    Returns:
        A tensor of shape ``(H - ph + 1, W - pw + 1)`` with ``X``'s dtype and device.

    Raises:
        TypeError: if ``X`` is not a tensor, ``pool_size`` is not an int or a pair of ints,
            or ``mode`` is not a string.
        ValueError: if ``X`` is not 2-D, is empty or not floating point, if a side of the
            window is below 1 or larger than ``X``, or if ``mode`` is not ``"max"`` or ``"avg"``.

    Example (the book's 3x3 input and 2x2 window):

    ```python
    import torch
    from convdocs import pool2d
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    print(pool2d(X, (2, 2)))
    print(pool2d(X, (2, 2), "avg"))
    ```

    ```text
    tensor([[4., 5.],
            [7., 8.]])
    tensor([[2., 3.],
            [5., 6.]])
    ```

    Taught on the page [Pooling](pooling.md).
    """
    fn = "pool2d"
    check_float_tensor(fn, "input X", X, 2)
    p_h, p_w = _pool_size_pair(fn, pool_size)
    if not isinstance(mode, str):
        raise TypeError(f"{fn} expects mode to be 'max' or 'avg', got {type(mode).__name__}")
    if mode not in MODES:
        raise ValueError(f"{fn} expects mode 'max' or 'avg', got {mode!r}")
    if p_h > X.shape[0] or p_w > X.shape[1]:
        raise ValueError(
            f"{fn} expects a pool window no larger than the input, got pool_size {(p_h, p_w)} "
            f"for input {tuple(X.shape)}"
        )
    Y = X.new_zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i : i + p_h, j : j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y
