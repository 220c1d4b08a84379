"""Fast 2-D cross-correlation: shift and add, unfold and a matrix product, or ``F.conv2d``.

Three ways to compute the sum that ``corr2d`` loops over, each the fastest somewhere:

* ``shift_add``: for each kernel offset ``(a, b)``, add ``K[a, b]`` times the input
  shifted by ``(a, b)``: ``kh * kw`` whole-image operations instead of ``Ho * Wo`` tiny
  ones. The fastest on a CPU for one channel, unless the image is small.
* ``unfold_matmul``: copy every window into a column (im2col), then one matrix product.
* ``conv2d``: ``torch.nn.functional.conv2d`` (oneDNN on a CPU, cuDNN on a GPU), the
  fastest with several channels and for small images.
* ``compiled``: the shift-and-add expression compiled by ``torch.compile`` (inductor writes
  C++ for a CPU, Triton for a GPU) into one fused pass: each output element reads its window
  and is written once, where shift and add reads and writes the image ``kh * kw`` times. The
  fastest for one channel on large images, once compiled (seconds, once per shape family).

``corr2d_fast`` checks its arguments like ``corr2d``, then runs the one ``choose_method``
picks. The page "From loop to fast" explains why each is faster, with benchmark numbers.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

from convdocs import _memory
from convdocs._checks import (
    check_float_tensor,
    check_kernel_fits,
    check_same_device_dtype,
    shape_str,
)

METHODS = ("shift_add", "unfold_matmul", "conv2d")
COMPILED = "compiled"  # not in METHODS: it compiles (seconds) for each new shape family
SMALL_PIXELS = 200 * 200  # below, F.conv2d's fixed cost is the lowest on every device

# auto considers the compiled pass for one input and one output channel from this many output
# pixels on (below, F.conv2d or shift and add are as fast and nothing is compiled) ...
COMPILE_PIXELS = {"cpu": 512 * 512, "cuda": 512 * 512}
# ... and compiles a shape family once its calls have taken this long uncompiled: about what
# compiling one family costs (measured: 10-20 s on a 2-core CPU), so that auto never spends
# more than about twice what the best choice in hindsight would have (the ski-rental rule).
COMPILE_AFTER_S = 10.0

# shift_add works on strips of STRIP_ELEMENTS output elements when the output has more
# than STRIPS_ABOVE, so that each strip is read and written kh * kw times in the cache.
STRIP_ELEMENTS = 1 << 20
STRIPS_ABOVE = 1 << 21


def shift_add(X, K, stride=(1, 1)):
    """Return the sum over offsets (a, b) of K[:, :, a, b] times X shifted by (a, b)."""
    N, _, H, W = X.shape
    O, _, kh, kw = K.shape
    Ho, Wo = (H - kh) // stride[0] + 1, (W - kw) // stride[1] + 1
    Y = X.new_empty((N, O, Ho, Wo))
    if needs_grad(X, K) or Y.numel() <= STRIPS_ABOVE:
        return add_shifted(Y, X, K, stride)
    rows = max(1, STRIP_ELEMENTS // (N * O * Wo))
    for r in range(0, Ho, rows):  # strips of output rows, small enough for the cache
        add_shifted(Y[:, :, r : r + rows], X[:, :, r * stride[0] :], K, stride)
    return Y


def needs_grad(X, K) -> bool:
    """Whether autograd will record a computation on ``X`` and ``K`` here."""
    return torch.is_grad_enabled() and (X.requires_grad or K.requires_grad)


def add_shifted(Y, X, K, stride):
    """Fill ``Y`` (N, O, Ho, Wo) with the cross-correlation of ``X`` and ``K`` (O, C, kh, kw)."""
    (Ho, Wo), (kh, kw), (sh, sw) = Y.shape[-2:], K.shape[-2:], stride
    one_channel = K.shape[1] == 1
    # K[:, :, a, b] for each offset, shaped to multiply a window: (1, O, 1, 1) or (O, C)
    if one_channel:
        weights = K.permute(2, 3, 1, 0)[..., None, None]
    else:
        weights = K.permute(2, 3, 0, 1)
    Y.zero_()
    for a in range(kh):
        for b in range(kw):
            rows = slice(a, a + sh * (Ho - 1) + 1, sh)  # Ho rows from row a, sh apart
            cols = slice(b, b + sw * (Wo - 1) + 1, sw)  # Wo columns from column b
            window = X[:, :, rows, cols]  # (N, C, Ho, Wo)
            if one_channel:  # a multiply-add per output element
                Y.addcmul_(window, weights[a, b])
            else:  # an (O, C) matrix times the C windows
                Y.add_(torch.einsum("oc,nchw->nohw", weights[a, b], window))
    return Y


def unfold_matmul(X, K, stride=(1, 1)):
    """Return the cross-correlation as one product: K (O, C*kh*kw) @ windows (N, C*kh*kw, L)."""
    N, C, H, W = X.shape
    O, _, kh, kw = K.shape
    Ho, Wo = (H - kh) // stride[0] + 1, (W - kw) // stride[1] + 1
    windows = F.unfold(X, (kh, kw), stride=stride)  # (N, C * kh * kw, Ho * Wo)
    return (K.reshape(O, C * kh * kw) @ windows).reshape(N, O, Ho, Wo)


def output_size(X, K, stride=(1, 1), padding=(0, 0)) -> tuple[int, int, int]:
    """``(N, Ho, Wo)``: the batch and the output's height and width for 4-D ``X`` and ``K``."""
    N, _, H, W = X.shape
    kh, kw = K.shape[-2:]
    return (
        N,
        (H + 2 * padding[0] - kh) // stride[0] + 1,
        (W + 2 * padding[1] - kw) // stride[1] + 1,
    )


def choose_method(X, K, stride=(1, 1), padding=(0, 0)):
    """Return the name of the fastest method for these 4-D shapes and this device.

    The rule is read off the benchmark (``python -m convdocs.bench``) on a CPU: shift and add
    wins for one input and one output channel from about 200x200 output pixels (400x400
    for kernels bigger than 5x5); ``F.conv2d`` (oneDNN) wins with several channels, for
    smaller images, where its fixed cost is lower, and on a GPU (cuDNN).
    """
    if K.shape[0] * K.shape[1] > 1:
        return "conv2d"
    N, Ho, Wo = output_size(X, K, stride, padding)
    if _worth_compiling(X, N * Ho * Wo) and compiler_problem(X.device) is None:
        return COMPILED
    return uncompiled_method(X, K, stride, padding)


def _worth_compiling(X, pixels: int) -> bool:
    return pixels >= COMPILE_PIXELS.get(X.device.type, COMPILE_PIXELS["cuda"])


def _warn_once_without_compiler(X, K, stride, padding) -> None:
    """Where auto would compile but cannot, say so once per process."""
    global _warned_no_compiler
    if _warned_no_compiler or K.shape[0] * K.shape[1] > 1:
        return
    N, Ho, Wo = output_size(X, K, stride, padding)
    problem = compiler_problem(X.device)
    if problem is not None and _worth_compiling(X, N * Ho * Wo):
        _warned_no_compiler = True
        warnings.warn(
            f"corr2d_fast: {problem}; auto uses the uncompiled methods",
            RuntimeWarning,
            stacklevel=3,
        )


def uncompiled_method(X, K, stride=(1, 1), padding=(0, 0)):
    """What ``choose_method`` would pick if nothing could be compiled."""
    if X.device.type != "cpu":
        return "conv2d"
    N, Ho, Wo = output_size(X, K, stride, padding)
    pixels, (kh, kw) = N * Ho * Wo, K.shape[-2:]
    if pixels < SMALL_PIXELS or (kh * kw > 25 and pixels < 400 * 400):
        return "conv2d"
    return "shift_add"


# --- one fused pass, compiled ---------------------------------------------------------------

_PROBLEMS: dict[str, str | None] = {}


def compiler_problem(device: torch.device | str) -> str | None:
    """Why ``torch.compile`` cannot generate code for ``device`` here, or None when it can: a
    C++ compiler for a CPU, Triton for a GPU (checked once per device type)."""
    kind = torch.device(device).type
    if kind not in _PROBLEMS:
        _PROBLEMS[kind] = _find_compiler_problem(kind)
    return _PROBLEMS[kind]


def _find_compiler_problem(kind: str) -> str | None:
    try:
        import torch._dynamo

        if not torch._dynamo.is_dynamo_supported():
            return f"torch.compile does not support Python {sys_version()} here"
        if kind == "cpu":
            from torch._inductor.cpp_builder import get_cpp_compiler

            get_cpp_compiler()  # raises when no C++ compiler is found
        elif kind == "cuda":
            from torch.utils._triton import has_triton

            if not has_triton():
                return "torch.compile needs Triton for a GPU, and Triton is not installed"
        else:
            return f"convdocs compiles only for CPUs and CUDA GPUs, not for {kind!r}"
    except Exception as error:  # an import or a compiler lookup that fails: no compiler
        return f"torch.compile cannot generate code for {kind} here: {error}"
    return None


def sys_version() -> str:
    import platform

    return platform.python_version()


def one_pass(X, K, stride=(1, 1), padding=(0, 0)):
    """Shift and add as one expression, for ``torch.compile`` to fuse into one pass.

    ``X`` is ``(N, 1, H, W)`` and ``K`` is ``(1, 1, kh, kw)``. Run eagerly it makes
    ``kh * kw`` whole-image temporaries; compiled, every output element is computed at once
    from its window, and each input element is read from the cache ``kh * kw`` times but from
    memory about once.
    """
    if padding != (0, 0):
        X = F.pad(X, (padding[1], padding[1], padding[0], padding[0]))
    (kh, kw), (sh, sw) = K.shape[-2:], stride
    Ho, Wo = (X.shape[-2] - kh) // sh + 1, (X.shape[-1] - kw) // sw + 1
    Y = None
    for a in range(kh):
        for b in range(kw):
            window = X[:, :, a : a + sh * (Ho - 1) + 1 : sh, b : b + sw * (Wo - 1) + 1 : sw]
            term = window * K[:, :, a : a + 1, b : b + 1]
            Y = term if Y is None else Y + term
    return Y


def one_pass_into(X, K, stride, padding, out):
    """``one_pass`` written into ``out``: compiled, the fused pass stores straight into it."""
    return out.copy_(one_pass(X, K, stride, padding))


# "one_pass" and "one_pass_into" -> what torch.compile made of each
_compiled: dict[str, Callable[..., torch.Tensor]] = {}
_compiled_families: dict[tuple, tuple | None] = {}  # family -> its one size so far, or None
_uncompiled_s: dict[tuple, float] = {}
_warned_no_compiler = False


def compiled_one_pass(X, K, stride=(1, 1), padding=(0, 0)):
    """``one_pass`` compiled by ``torch.compile``: at most two compilations per shape family
    (kernel size, stride, padding, dtype, device, whether gradients are needed). The first is
    for the first image's size exactly, which gives the fastest code (on a 2-core CPU, 0.23
    against 0.41 ms at 1024x1024 with a 3x3 kernel, measured); the second, at the first other
    size, is for any height, width and batch size (dynamic shapes).

    On a CPU, without gradients, the pass writes into memory that ``convdocs._memory.empty``
    asks for in huge pages (at 4096x4096, 11 ms against 22 ms in fresh small pages)."""
    problem = compiler_problem(X.device)
    if problem is not None:
        raise RuntimeError(f"corr2d_fast(method={COMPILED!r}) cannot compile here: {problem}")
    key = family(X, K, stride, padding)
    into = X.device.type == "cpu" and not needs_grad(X, K)
    function = one_pass_into if into else one_pass
    if function.__name__ not in _compiled:  # one torch.compile each: static, then dynamic
        _compiled[function.__name__] = torch.compile(function, fullgraph=True)
    compiled = _compiled[function.__name__]
    args: tuple = (X, K, stride, padding)
    if into:
        N, Ho, Wo = output_size(X, K, stride, padding)
        args += (_memory.empty((N, 1, Ho, Wo), X.dtype),)
    size = tuple(X.shape)
    if key in _compiled_families and _compiled_families[key] in (None, size):
        return compiled(*args)  # compiled for this size already
    from torch.fx.experimental import _config as shapes_config

    with warnings.catch_warnings(), shapes_config.patch(use_duck_shape=False):  # type: ignore[attr-defined]
        # Without duck shapes, a square image does not make height and width one symbol,
        # which the first non-square image would have to recompile. And what torch's
        # compiler says about itself while it traces is not the caller's business:
        for message, category in _COMPILER_CHATTER:
            warnings.filterwarnings("ignore", message=message, category=category)
        Y = compiled(*args)
    _compiled_families[key] = size if key not in _compiled_families else None
    return Y


_COMPILER_CHATTER = (
    ("`torch.jit.script_method` is deprecated", DeprecationWarning),
    ("The .grad attribute of a Tensor that is not a leaf Tensor", UserWarning),
)


def family(X, K, stride, padding) -> tuple:
    """What a compiled pass is specialised on: everything but the image's size and batch."""
    return (tuple(K.shape[-2:]), stride, padding, X.dtype, X.device.type, needs_grad(X, K))


def _auto_compiled(X, K, stride, padding):
    """auto's compiled choice, with the ski-rental rule: run the uncompiled method and count its
    time until the family has cost ``COMPILE_AFTER_S``, then compile it, once."""
    global _warned_no_compiler
    key = family(X, K, stride, padding)
    if key in _compiled_families:
        return compiled_one_pass(X, K, stride, padding)
    spent = _uncompiled_s.get(key, 0.0)
    if spent >= COMPILE_AFTER_S:
        try:
            return compiled_one_pass(X, K, stride, padding)
        except Exception as error:  # a compiler that fails on this machine: never again
            _PROBLEMS[X.device.type] = f"compiling failed: {type(error).__name__}: {error}"
            if not _warned_no_compiler:
                _warned_no_compiler = True
                warnings.warn(
                    f"corr2d_fast: {_PROBLEMS[X.device.type]}; auto uses the uncompiled methods",
                    RuntimeWarning,
                    stacklevel=3,
                )
    started = time.perf_counter()
    Y = _run(uncompiled_method(X, K, stride, padding), X, K, stride, padding)
    if X.device.type == "cuda":
        torch.cuda.synchronize(X.device)  # large images only: the wait is small beside the work
    _uncompiled_s[key] = spent + time.perf_counter() - started
    return Y


def _run(method, X, K, stride, padding):
    if method == "conv2d":
        return F.conv2d(X, K, stride=stride, padding=padding)
    if padding != (0, 0):
        X = F.pad(X, (padding[1], padding[1], padding[0], padding[0]))
    return (shift_add if method == "shift_add" else unfold_matmul)(X, K, stride)


def _int_pair(fn: str, name: str, value: object, smallest: int) -> tuple[int, int]:
    """Normalise ``value`` (an int or a pair of ints) to a pair, each at least ``smallest``."""

    def is_int(v: object) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{fn} expects {name} to be an int or a pair of ints, got {value!r}")
    if min(pair) < smallest:
        raise ValueError(f"{fn} expects {name} >= {smallest}, got {value!r}")
    return pair


def check_corr2d_fast_inputs(fn, X, K, stride, padding, method):
    """Check the arguments of ``corr2d_fast``; return ``(stride, padding)`` as pairs."""
    check_float_tensor(fn, "input X", X, (2, 4))
    check_float_tensor(fn, "kernel K", K, X.dim())
    check_same_device_dtype(fn, ("X", "K"), X, K)
    if X.dim() == 4 and K.shape[1] != X.shape[1]:
        raise ValueError(
            f"{fn} expects K with as many input channels as X, got K of shape {shape_str(K)} "
            f"({K.shape[1]} channels) for X of shape {shape_str(X)} ({X.shape[1]} channels)"
        )
    stride = _int_pair(fn, "stride", stride, 1)
    padding = _int_pair(fn, "padding", padding, 0)
    if padding == (0, 0):
        check_kernel_fits(fn, X, K)
    else:
        (h, w), (kh, kw), (ph, pw) = X.shape[-2:], K.shape[-2:], padding
        if kh > h + 2 * ph or kw > w + 2 * pw:
            raise ValueError(
                f"{fn} expects a kernel no larger than the padded input, got kernel {(kh, kw)} "
                f"for input {(h, w)} padded to {(h + 2 * ph, w + 2 * pw)}"
            )
    if method != "auto" and method not in (*METHODS, COMPILED):
        allowed = ", ".join(repr(m) for m in ("auto", *METHODS, COMPILED))
        raise ValueError(f"{fn} expects method to be one of {allowed}, got {method!r}")
    if method == COMPILED and X.dim() == 4 and K.shape[0] * K.shape[1] > 1:
        raise ValueError(
            f"{fn} compiles one pass for one input and one output channel, got K of shape "
            f"{shape_str(K)} ({K.shape[1]} input and {K.shape[0]} output channels): use "
            "method='conv2d' or 'auto'"
        )
    return stride, padding


def corr2d_fast(
    X: torch.Tensor,
    K: torch.Tensor,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    method: str = "auto",
) -> torch.Tensor:
    """Compute the 2-D cross-correlation of ``X`` with ``K`` by the fastest method for the shape.

    Gives what ``corr2d`` gives for a 2-D image and kernel, and what
    ``torch.nn.functional.conv2d`` gives for a batch of multi-channel images,
    without the Python loop over output elements. ``choose_method`` picks
    shift-and-add, unfold and matrix product, ``F.conv2d``, or one pass compiled by
    ``torch.compile`` for large single-channel images (auto compiles a shape family
    only once its uncompiled calls have taken ``COMPILE_AFTER_S`` seconds); autograd
    works through each.

    Args:
        X: the input, a floating-point tensor ``(H, W)`` or ``(N, C, H, W)``.
        K: the kernel, ``(kh, kw)`` for a 2-D ``X`` or ``(O, C, kh, kw)`` for a
            4-D one, on ``X``'s device and with its dtype.
        stride: the step between windows, an int or a pair ``(sh, sw)``, at least 1.
        padding: zeros added on each side, an int or a pair ``(ph, pw)``, at least 0.
        method: ``"auto"`` (the default), one of ``METHODS`` to force it, or
            ``"compiled"`` for the compiled pass (one input and one output channel).

    Returns:
        A tensor ``(Ho, Wo)`` for a 2-D ``X`` or ``(N, O, Ho, Wo)`` for a 4-D one, where
        ``Ho = (H + 2 * ph - kh) // sh + 1`` and ``Wo = (W + 2 * pw - kw) // sw + 1``.

    Raises:
        TypeError: if ``X`` or ``K`` is not a tensor, or ``stride`` or ``padding`` is
            not an int or a pair of ints.
        ValueError: if ``X`` is not 2-D or 4-D or ``K`` has another number of
            dimensions, if either is empty or not floating point, if they differ in
            device or dtype or in input channels, if ``K`` is larger than the padded
            input, if ``stride < 1`` or ``padding < 0``, if ``method`` is unknown, or
            if ``method="compiled"`` meets several channels.
        RuntimeError: if ``method="compiled"`` and ``torch.compile`` has no compiler
            for the device here (a C++ compiler for a CPU, Triton for a GPU).

    Example:

    ```python
    import torch
    from convdocs.fast import corr2d_fast
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    print(corr2d_fast(X, K))
    batch, weights = torch.ones((2, 3, 5, 5)), torch.ones((4, 3, 3, 3))
    corr2d_fast(batch, weights, stride=2, padding=1).shape
    ```

    ```text
    tensor([[19., 25.],
            [37., 43.]])
    torch.Size([2, 4, 3, 3])
    ```

    Taught on the page [From loop to fast](loop-to-fast.md).
    """
    if (
        method == "auto"
        and stride.__class__ is int
        and stride == 1
        and padding.__class__ is int
        and padding == 0
        and X.__class__ is torch.Tensor
        and K.__class__ is torch.Tensor
    ):  # the common small case first, with the same checks in fewer steps: F.conv2d
        xs, ks = X.shape, K.shape
        if len(xs) == 2 and len(ks) == 2:  # anything else takes the long way
            (h, w), (kh, kw) = xs, ks
            if (
                0 < kh <= h
                and 0 < kw <= w
                and (h - kh + 1) * (w - kw + 1) < SMALL_PIXELS
                and X.dtype is K.dtype
                and X.dtype.is_floating_point
                and X.device == K.device
            ):
                Y = F.conv2d(X.view(1, 1, h, w), K.view(1, 1, kh, kw))
                return Y.view(h - kh + 1, w - kw + 1)
    fn = "corr2d_fast"
    stride_pair, padding_pair = check_corr2d_fast_inputs(fn, X, K, stride, padding, method)
    image = X.dim() == 2
    if image:
        X, K = X[None, None], K[None, None]  # (1, 1, H, W) and (1, 1, kh, kw)
    if method == "auto":
        method = choose_method(X, K, stride_pair, padding_pair)
        if method == COMPILED:
            Y = _auto_compiled(X, K, stride_pair, padding_pair)
            return Y[0, 0] if image else Y
        _warn_once_without_compiler(X, K, stride_pair, padding_pair)
    if method == COMPILED:
        Y = compiled_one_pass(X, K, stride_pair, padding_pair)
    else:
        Y = _run(method, X, K, stride_pair, padding_pair)
    return Y[0, 0] if image else Y
