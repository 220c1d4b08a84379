"""Padding and stride (D2L section 7.3): the output shape they give, and the book's helper that
runs a 2-D layer on one 2-D image."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from convdocs._checks import check_float_tensor, kernel_size_pair, shape_str


def _pair(fn: str, name: str, value: object, least: int) -> tuple[int, int]:
    """Normalise an int or a pair of ints to a pair, each at least ``least``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (
        isinstance(value, (tuple, list, torch.Size))
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{fn} expects {name} to be an int or a pair of ints, got {value!r}")
    if min(pair) < least:
        raise ValueError(f"{fn} expects {name} >= {least} on both sides, got {value!r}")
    return pair


def conv_output_shape(
    input_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> tuple[int, int]:
    """The output shape of a 2-D convolution or pooling layer, from the book's formula.

    With ``padding`` rows (columns) added on *each* side, as ``nn.Conv2d`` takes it, the book's
    total padding is ``p = 2 * padding``, and each side of the output is
    ``floor((n - k + p + s) / s)``.

    Args:
        input_size: ``n`` or ``(n_h, n_w)``, at least 1.
        kernel_size: ``k`` or ``(k_h, k_w)``, at least 1 and no larger than the padded input.
        padding: rows and columns of zeros on each side, ``p`` or ``(p_h, p_w)``, at least 0.
        stride: ``s`` or ``(s_h, s_w)``, at least 1.

    Returns:
        ``(height, width)`` of the output.

    Raises:
        TypeError: if an argument is not an int or a pair of ints.
        ValueError: if an argument is out of range, or the kernel is larger than the padded
            input.

    Example (the book's last case: an 8x8 input, a 3x5 kernel, padding (0, 1), stride (3, 4)):

    ```python
    from convdocs import conv_output_shape
    conv_output_shape(8, (3, 5), padding=(0, 1), stride=(3, 4))
    ```

    ```text
    (2, 2)
    ```

    Taught on the page [Padding and stride](padding-and-stride.md).
    """
    fn = "conv_output_shape"
    n = _pair(fn, "input_size", input_size, 1)
    k = kernel_size_pair(fn, kernel_size)
    p = _pair(fn, "padding", padding, 0)
    s = _pair(fn, "stride", stride, 1)
    if k[0] > n[0] + 2 * p[0] or k[1] > n[1] + 2 * p[1]:
        padded = f" padded to {(n[0] + 2 * p[0], n[1] + 2 * p[1])}" if p != (0, 0) else ""
        raise ValueError(
            f"{fn} expects a kernel no larger than the padded input, got kernel {k} for input "
            f"{n}{padded}"
        )
    height, width = ((n[d] - k[d] + 2 * p[d] + s[d]) // s[d] for d in (0, 1))
    return height, width


def comp_conv2d(conv2d: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Run a 2-D layer on one 2-D image: the book's helper for padding and stride.

    ``X`` is reshaped to ``(1, 1, H, W)`` (a batch of one image with one channel), passed
    through ``conv2d``, and the batch and channel dimensions are dropped again.

    Args:
        conv2d: a layer with one input and one output channel, such as
            ``nn.Conv2d(1, 1, ...)``, ``nn.LazyConv2d(1, ...)`` or a pooling layer, with
            its parameters (if any) on ``X``'s device and with ``X``'s dtype.
        X: the image, a 2-D floating-point tensor ``(H, W)``.

    Returns:
        The layer's output for ``X`` as a 2-D tensor.

    Raises:
        TypeError: if ``conv2d`` is not an ``nn.Module`` or ``X`` is not a tensor.
        ValueError: if ``X`` is not 2-D, is empty or not floating point; if the layer does not
            have one input and one output channel; or if its parameters are on another
            device or have another dtype than ``X``.

    Example (the book's first case: 1 pixel of padding keeps an 8x8 input 8x8):

    ```python
    import torch
    from torch import nn
    from convdocs import comp_conv2d
    conv2d = nn.Conv2d(1, 1, kernel_size=3, padding=1)
    comp_conv2d(conv2d, torch.rand(8, 8)).shape
    ```

    ```text
    torch.Size([8, 8])
    ```

    Taught on the page [Padding and stride](padding-and-stride.md).
    """
    fn = "comp_conv2d"
    if not isinstance(conv2d, nn.Module):
        raise TypeError(f"{fn} expects conv2d to be a torch.nn.Module, got {type(conv2d).__name__}")
    check_float_tensor(fn, "image X", X, 2)
    in_channels = getattr(conv2d, "in_channels", 1)
    if in_channels not in (0, 1):  # 0: a lazy layer, which takes its input channels from X
        raise ValueError(
            f"{fn} expects a layer with 1 input channel, got {type(conv2d).__name__} "
            f"with in_channels={in_channels}"
        )
    out_channels = getattr(conv2d, "out_channels", 1)
    if out_channels != 1:
        raise ValueError(
            f"{fn} expects a layer with 1 output channel (its result must be one 2-D image), "
            f"got {type(conv2d).__name__} with out_channels={out_channels}"
        )
    for name, parameter in conv2d.named_parameters():
        if parameter.device != X.device:
            raise ValueError(
                f"{fn} expects conv2d's parameters on X's device, got {name} on "
                f"{parameter.device} and X on {X.device}"
            )
        if not isinstance(parameter, nn.parameter.UninitializedParameter) and (
            parameter.dtype != X.dtype
        ):
            raise ValueError(
                f"{fn} expects conv2d's parameters with X's dtype, got {name} {parameter.dtype} "
                f"and X {X.dtype}"
            )
    # (1, 1): a batch of one example with one channel
    Y = conv2d(X.reshape((1, 1, *X.shape)))
    if Y.dim() != 4 or tuple(Y.shape[:2]) != (1, 1):
        raise ValueError(f"{fn} expects the layer to return shape (1, 1, h, w), got {shape_str(Y)}")
    # drop the first two dimensions: examples and channels
    return Y.reshape(Y.shape[2:])
