"""convdocs: 2-D convolution in PyTorch, from the book's loop to verified examples.

The maths lives in one module per idea (correlation, fast, layer, edges, learning,
padding, channels, pooling, digits, lenet, devices); the documentation-verification
machinery lives in ``convdocs.verify`` and is never imported by the maths.
"""

from convdocs.channels import corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1
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
