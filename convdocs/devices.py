"""Which device the examples run on: CUDA when present, overridable by CONVDOCS_DEVICE."""

from __future__ import annotations

import os
import platform

import torch

ENV_VAR = "CONVDOCS_DEVICE"


def device_name(device: torch.device | str) -> str:
    """The model of a device: the GPU's name for CUDA, else the CPU's model name
    (from /proc/cpuinfo, else what ``platform`` knows)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() + " CPU"


def default_device() -> torch.device:
    """Return the device examples should use: ``cuda`` when available, else ``cpu``.

    The environment variable ``CONVDOCS_DEVICE`` (for example ``cpu`` or ``cuda:0``)
    overrides the choice; the test harness sets it from ``pytest --device``.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: if ``CONVDOCS_DEVICE`` does not name a device torch knows, or
            names a CUDA device when CUDA is not available.

    Example:

    ```python
    import torch
    from convdocs import default_device
    torch.zeros(2, device=default_device())
    ```

    ```text
    tensor([0., 0.])
    ```

    On a GPU the tensor also prints ``device='cuda:0'``, which the checks ignore.
    """
    wanted = os.environ.get(ENV_VAR, "").strip()
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError as error:
        raise ValueError(
            f"{ENV_VAR} must name a torch device such as 'cpu' or 'cuda', got {wanted!r}"
        ) from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{ENV_VAR} asks for {wanted!r}, but this torch ({torch.__version__}) has no CUDA device available"
        )
    return device
