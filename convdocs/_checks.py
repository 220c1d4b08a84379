"""Argument checks shared by the public functions: expected versus given, before any work."""

from __future__ import annotations

import math
import numbers

import torch


def shape_str(t: torch.Tensor) -> str:
    """Format a tensor's shape as a plain tuple, e.g. ``(1, 3, 3)``."""
    return str(tuple(t.shape))


def check_tensor(fn: str, name: str, t: object) -> torch.Tensor:
    """Raise TypeError unless ``t`` is a tensor."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{fn} expects {name} to be a torch.Tensor, got {type(t).__name__}")
    return t


def check_float_tensor(fn: str, name: str, t: object, ndim: int | tuple[int, ...]) -> torch.Tensor:
    """Check that ``t`` is a non-empty floating-point tensor with ``ndim`` dimensions."""
    t = check_tensor(fn, name, t)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if t.dim() not in allowed:
        wanted = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{fn} expects a {wanted} {name}, got shape {shape_str(t)}")
    if t.numel() == 0:
        raise ValueError(f"{fn} expects a non-empty {name}, got shape {shape_str(t)}")
    if not t.is_floating_point():
        raise ValueError(
            f"{fn} expects a floating-point {name} (e.g. torch.float32), got dtype {t.dtype}"
        )
    return t


def check_same_device_dtype(
    fn: str, names: tuple[str, str], a: torch.Tensor, b: torch.Tensor
) -> None:
    """Raise ValueError unless ``a`` and ``b`` share device and dtype."""
    if a.device != b.device:
        raise ValueError(
            f"{fn} expects {names[0]} and {names[1]} on the same device, "
            f"got {names[0]} on {a.device} and {names[1]} on {b.device}"
        )
    if a.dtype != b.dtype:
        raise ValueError(
            f"{fn} expects {names[0]} and {names[1]} with the same dtype, "
            f"got {names[0]} {a.dtype} and {names[1]} {b.dtype}"
        )


def check_kernel_fits(fn: str, x: torch.Tensor, k: torch.Tensor) -> None:
    """Raise ValueError when the kernel's last two sizes exceed the input's."""
    (h, w), (kh, kw) = x.shape[-2:], k.shape[-2:]
    if kh > h or kw > w:
        raise ValueError(
            f"{fn} expects a kernel no larger than the input, got kernel {(kh, kw)} for input {(h, w)}"
        )


def kernel_size_pair(fn: str, kernel_size: object) -> tuple[int, int]:
    """Normalise an int or a pair of ints to ``(kh, kw)``, each at least 1."""
    if isinstance(kernel_size, bool):
        raise TypeError(f"{fn} expects kernel_size to be an int or a pair of ints, got bool")
    if isinstance(kernel_size, numbers.Integral):
        pair = (int(kernel_size), int(kernel_size))
    elif (
        isinstance(kernel_size, (tuple, list, torch.Size))
        and len(kernel_size) == 2
        and all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in kernel_size)
    ):
        pair = (int(kernel_size[0]), int(kernel_size[1]))
    else:
        raise TypeError(
            f"{fn} expects kernel_size to be an int or a pair of ints, got {kernel_size!r}"
        )
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(f"{fn} expects a positive kernel_size, got {kernel_size!r}")
    return pair


def check_positive_number(fn: str, name: str, value: object) -> float:
    """Raise unless ``value`` is a real number greater than zero."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn} expects {name} to be a number, got {type(value).__name__}")
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"{fn} expects a finite {name} > 0, got {value!r}")
    return number


def check_positive_int(fn: str, name: str, value: object) -> int:
    """Raise unless ``value`` is an int of at least 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fn} expects {name} to be an int, got {type(value).__name__}")
    if int(value) < 1:
        raise ValueError(f"{fn} expects {name} >= 1, got {value!r}")
    return int(value)


def check_device(fn: str, device: object) -> torch.device | None:
    """Turn ``device`` into a ``torch.device`` this torch can use (None stays None)."""
    if device is None:
        return None
    try:
        resolved = torch.device(device)  # type: ignore[call-overload]  # anything: torch says what it takes
    except (RuntimeError, TypeError):
        raise ValueError(
            f"{fn} expects a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{fn} was asked for device {device!r}, but this torch has no CUDA device")
    return resolved


def check_float_dtype(fn: str, dtype: object) -> torch.dtype | None:
    """Raise ValueError unless ``dtype`` is None or a floating-point torch dtype."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"{fn} expects a floating-point dtype, got {dtype!r}")
    return dtype
