"""convdocs: 2-D convolution in PyTorch, from the book's loop to verified examples.

The maths lives in one module per idea (correlation, fast, layer, edges, learning,
padding, channels, pooling, digits, lenet, devices); the documentation-verification
machinery lives in ``convdocs.verify`` and is never imported by the maths.

The names below are imported on first use (PEP 562), so that importing ``convdocs.verify``
(the pytest plugin, which pytest loads in every run of an environment that has convdocs
installed) does not import torch.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convdocs.channels import (
        corr2d_multi_in,
        corr2d_multi_in_out,
        corr2d_multi_in_out_1x1,
    )
    from convdocs.correlation import corr2d
    from convdocs.devices import default_device
    from convdocs.digits import Digits, load_digits
    from convdocs.edges import detect_edges, edge_kernel, stripe_image
    from convdocs.fast import corr2d_fast
    from convdocs.layer import Conv2D
    from convdocs.learning import LearnedKernel, learn_kernel
    from convdocs.lenet import History, accuracy, init_cnn, lenet, train_classifier
    from convdocs.padding import comp_conv2d, conv_output_shape
    from convdocs.pooling import pool2d

_HOMES = {
    "channels": ["corr2d_multi_in", "corr2d_multi_in_out", "corr2d_multi_in_out_1x1"],
    "correlation": ["corr2d"],
    "devices": ["default_device"],
    "digits": ["Digits", "load_digits"],
    "edges": ["detect_edges", "edge_kernel", "stripe_image"],
    "fast": ["corr2d_fast"],
    "layer": ["Conv2D"],
    "learning": ["LearnedKernel", "learn_kernel"],
    "lenet": ["History", "accuracy", "init_cnn", "lenet", "train_classifier"],
    "padding": ["comp_conv2d", "conv_output_shape"],
    "pooling": ["pool2d"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Conv2D",
    "Digits",
    "History",
    "LearnedKernel",
    "accuracy",
    "comp_conv2d",
    "conv_output_shape",
    "corr2d",
    "corr2d_fast",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "default_device",
    "detect_edges",
    "edge_kernel",
    "init_cnn",
    "learn_kernel",
    "lenet",
    "load_digits",
    "pool2d",
    "stripe_image",
    "train_classifier",
]
__version__ = "0.1.0"


class _Package(types.ModuleType):
    """``convdocs`` itself. Importing a submodule sets it as an attribute of its package, so
    ``import convdocs.lenet`` (which the lazy ``lenet`` below does) would make ``convdocs.lenet``
    the module; the package keeps the function of that name instead, as when it imported every
    name eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _HOME_OF.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'convdocs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"convdocs.{module}"), name)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
