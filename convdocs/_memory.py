"""Fresh CPU memory for large results, in huge pages where Linux offers them.

A fresh 64 MiB result is 16,384 pages of 4 KiB, and the first write to each page stops the
program while the kernel maps and clears it: on a 2-core machine that took longer (17 ms at
4096x4096 float32) than the compiled pass that fills it. Asking for transparent huge pages
(2 MiB) before the first write cuts the stops 512-fold; it took 7 ms. NumPy asks for them for
every array of 4 MiB or more (which is why ``cv2.filter2D``, whose results are NumPy arrays, does
not pay this), and PyTorch only when ``THP_MEM_ALLOC_ENABLE=1`` is set before its first
allocation, which a library cannot arrange. ``empty`` asks as NumPy does.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import torch

HUGE_FROM_BYTES = 1 << 22  # NumPy's threshold: 4 MiB
_HUGE_PAGE = 1 << 21  # 2 MiB, x86-64's and arm64's transparent huge page
_MADV_HUGEPAGE = 14  # from <sys/mman.h> on Linux

_madvise: Any = None  # libc's madvise, once looked up; False where there is none


def _libc_madvise():
    global _madvise
    if _madvise is None:
        _madvise = False
        if sys.platform.startswith("linux"):
            try:
                function = ctypes.CDLL(None, use_errno=True).madvise
                function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                function.restype = ctypes.c_int
                _madvise = function
            except (OSError, AttributeError):
                pass
    return _madvise


def empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """``torch.empty(shape, dtype=dtype)`` on the CPU; from ``HUGE_FROM_BYTES`` on, the whole
    2 MiB pages inside it are asked for as transparent huge pages before anything is written.
    Where that cannot be asked (not Linux, THP off), it is ``torch.empty`` and nothing else."""
    tensor = torch.empty(shape, dtype=dtype)
    size = tensor.numel() * tensor.element_size()
    madvise = _libc_madvise() if size >= HUGE_FROM_BYTES else None
    if madvise:
        start = tensor.data_ptr()
        first = -(-start // _HUGE_PAGE) * _HUGE_PAGE  # the first whole huge page inside
        end = (start + size) // _HUGE_PAGE * _HUGE_PAGE
        if end > first:
            madvise(first, end - first, _MADV_HUGEPAGE)  # a hint: its failure changes nothing
    return tensor
