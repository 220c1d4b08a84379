"""convdocs: 2-D convolution in PyTorch, from the book's loop to verified examples.

The maths lives in one module per idea (correlation, fast, layer, edges, learning,
devices); the documentation-verification machinery lives in ``convdocs.verify``
and is never imported by the maths.
"""

from convdocs.correlation import corr2d
from convdocs.devices import default_device
from convdocs.edges import detect_edges, edge_kernel, stripe_image
from convdocs.fast import corr2d_fast
from convdocs.layer import Conv2D
from convdocs.learning import LearnedKernel, learn_kernel

__all__ = [
    "Conv2D",
    "LearnedKernel",
    "corr2d",
    "corr2d_fast",
    "default_device",
    "detect_edges",
    "edge_kernel",
    "learn_kernel",
    "stripe_image",
]
__version__ = "0.1.0"
