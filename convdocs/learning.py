"""Learning a kernel back from an image and its cross-correlation, by gradient descent."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from convdocs._checks import (
    check_device,
    check_float_tensor,
    check_kernel_fits,
    check_positive_int,
    check_positive_number,
    check_same_device_dtype,
    kernel_size_pair,
)


@dataclass(frozen=True)
class LearnedKernel:
    """What ``learn_kernel`` returns: the learned kernel and the loss of every epoch."""

    kernel: torch.Tensor
    """The learned kernel, shape ``(kh, kw)``, on the device the learning ran on."""
    losses: list[float]
    """The summed squared error of each epoch, measured before that epoch's update."""


def learn_kernel(
    X: torch.Tensor,
    Y: torch.Tensor,
    kernel_size: int | tuple[int, int],
    *,
    lr: float = 0.01,
    epochs: int = 20,
    seed: int = 0,
    device: torch.device | str | None = None,
    verbose: bool = False,
) -> LearnedKernel:
    """Learn the kernel ``K`` with ``Y = corr2d(X, K)`` back from ``X`` and ``Y``.

    The training loop of D2L section 7.2 and of the lecture notebook: an
    ``nn.Conv2d(1, 1, kernel_size, bias=False)``, its weight initialised by torch's
    default rule from ``seed`` on the CPU, the summed squared error as the loss, and
    plain gradient descent under ``torch.no_grad()``. The defaults are the notebook's
    settings (``lr=0.01``, 20 epochs); the book uses ``lr=3e-2`` for 10 epochs.

    Args:
        X: the input image, a 2-D floating-point tensor ``(H, W)``.
        Y: the target, ``(H - kh + 1, W - kw + 1)``, same device and dtype as ``X``.
        kernel_size: ``kh`` or ``(kh, kw)``.
        lr: the learning rate, > 0.
        epochs: the number of gradient steps, >= 1.
        seed: the seed for the initial weight, so results repeat.
        device: where to learn (default: ``X``'s device).
        verbose: print ``Epochs is N, loss is L`` after every epoch, as the notebook does.

    Returns:
        A ``LearnedKernel`` with ``.kernel`` and ``.losses``.

    Raises:
        TypeError: if ``X`` or ``Y`` is not a tensor, or an option has the wrong type.
        ValueError: if a tensor has the wrong shape, dtype or device, or
            ``lr <= 0``, ``epochs < 1`` or ``kernel_size`` is not positive.

    Example, with the book's settings (on a GPU, cuDNN may use TF32 for the
    convolution, hence the marker):

    <!-- convdocs: tolerance rtol=2e-3 device=cuda reason="TF32 convolutions on a GPU" -->
    ```python
    from convdocs import detect_edges, learn_kernel, stripe_image
    X = stripe_image()
    result = learn_kernel(X, detect_edges(X), (1, 2), lr=3e-2, epochs=10)
    result.kernel
    ```

    ```text
    tensor([[ 1.0063, -0.9662]])
    ```

    Taught on the page [Learning a kernel](learning-a-kernel.md).
    """
    fn = "learn_kernel"
    check_float_tensor(fn, "input X", X, 2)
    check_float_tensor(fn, "target Y", Y, 2)
    check_same_device_dtype(fn, ("X", "Y"), X, Y)
    kh, kw = kernel_size_pair(fn, kernel_size)
    check_kernel_fits(fn, X, torch.empty(kh, kw, device="meta"))
    expected = (X.shape[0] - kh + 1, X.shape[1] - kw + 1)
    if tuple(Y.shape) != expected:
        raise ValueError(
            f"{fn} expects Y of shape {expected} for X of shape {tuple(X.shape)} and "
            f"kernel_size {(kh, kw)}, got shape {tuple(Y.shape)}"
        )
    lr = check_positive_number(fn, "lr", lr)
    epochs = check_positive_int(fn, "epochs", epochs)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{fn} expects seed to be an int, got {type(seed).__name__}")
    device = check_device(fn, device) or X.device

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        conv2d = nn.Conv2d(1, 1, (kh, kw), bias=False, dtype=X.dtype)  # drawn on the CPU
    conv2d.to(device)
    X = X.to(device).reshape(1, 1, *X.shape)  # (batch, channels, H, W)
    Y = Y.to(device).reshape(1, 1, *Y.shape)

    losses = []
    for epoch in range(epochs):
        Y_hat = conv2d(X)
        loss = ((Y_hat - Y) ** 2).sum()
        conv2d.zero_grad()
        loss.backward()
        with torch.no_grad():
            conv2d.weight -= lr * conv2d.weight.grad  # type: ignore[operator]  # set by backward()
        losses.append(loss.item())
        if verbose:
            print(f"Epochs is {epoch + 1}, loss is {losses[-1]}")
    return LearnedKernel(kernel=conv2d.weight.detach().reshape(kh, kw).clone(), losses=losses)
