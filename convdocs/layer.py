"""The ``Conv2D`` layer: a learnable kernel and bias applied with ``corr2d``."""

from __future__ import annotations

import torch
from torch import nn

from convdocs._checks import check_device, check_float_dtype, check_float_tensor, kernel_size_pair
from convdocs.correlation import corr2d


class Conv2D(nn.Module):
    """A 2-D convolutional layer: ``corr2d(X, weight) + bias``, as in D2L section 7.2.

    The weight is drawn uniformly from ``[0, 1)`` on the CPU (from ``generator``
    when given, else from torch's global generator) and then moved to ``device``,
    so a seed gives the same weight on every device. The bias starts at zero.

    Args:
        kernel_size: ``kh`` or ``(kh, kw)``, positive ints.
        generator: an optional CPU ``torch.Generator`` for the weight.
        device: where the parameters live (default: the CPU).
        dtype: a floating-point dtype for the parameters (default: torch's default).

    Raises:
        TypeError: if ``kernel_size`` is not an int or a pair of ints, or
            ``generator`` is not a ``torch.Generator``.
        ValueError: if ``kernel_size`` is not positive, or ``dtype`` is not floating point.

    Example:

    ```python
    import torch
    from convdocs import Conv2D
    conv = Conv2D((2, 2), generator=torch.Generator().manual_seed(0))
    conv(torch.ones(3, 3))
    ```

    ```text
    tensor([[1.4850, 1.4850],
            [1.4850, 1.4850]], grad_fn=<AddBackward0>)
    ```

    Taught on the page [The Conv2D layer](conv2d-layer.md).
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        kh, kw = kernel_size_pair("Conv2D", kernel_size)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"Conv2D expects generator to be a torch.Generator, got {type(generator).__name__}"
            )
        check_float_dtype("Conv2D", dtype)
        device = check_device("Conv2D", device)
        weight = torch.rand((kh, kw), generator=generator, dtype=dtype)  # drawn on the CPU
        self.weight = nn.Parameter(weight.to(device))
        self.bias = nn.Parameter(torch.zeros(1, dtype=weight.dtype, device=device))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Return ``corr2d(X, self.weight) + self.bias`` for a 2-D input ``X``."""
        check_float_tensor("Conv2D", "input X", X, 2)
        if X.device != self.weight.device or X.dtype != self.weight.dtype:
            raise ValueError(
                f"Conv2D expects X on {self.weight.device} with dtype {self.weight.dtype} "
                f"(like its weight), got X on {X.device} with dtype {X.dtype}"
            )
        return corr2d(X, self.weight) + self.bias
