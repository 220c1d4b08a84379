"""corr2d_fast's compiled pass: one fused pass from torch.compile that agrees with F.conv2d,
compiles once per shape family, differentiates, and is chosen by auto only when it pays.

Compiling costs seconds, so these tests compile few families, on small shapes: float32 3x3
(forward), the same with gradients, and one with stride and padding.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import convdocs.fast as fast
from convdocs.fast import COMPILED, compiler_problem, corr2d_fast


def randn(*shape, seed=0, device="cpu", requires_grad=False):
    X = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(device)
    return X.requires_grad_(requires_grad)


@pytest.fixture
def compiler(device):
    """The device, where torch.compile can generate code for it; elsewhere, the test checks
    that asking for the compiled pass is refused with the reason (and nothing more)."""
    problem = compiler_problem(device)
    if problem is not None:
        with pytest.raises(RuntimeError, match="cannot compile here"):
            corr2d_fast(randn(8, 8, device=device), randn(3, 3, device=device), method=COMPILED)
        pytest.skip(f"no compiler for {device.type} here (checked that it is refused): {problem}")
    return device


def graphs() -> int:
    import torch._dynamo.utils

    return torch._dynamo.utils.counters["stats"]["unique_graphs"]


def test_at_most_two_compilations_for_every_image_size(compiler, float32_tolerance):
    """One for the first size exactly (the fastest code), one for every other size."""
    K = randn(3, 3, seed=1, device=compiler)
    before = graphs()
    corr2d_fast(randn(16, 16, device=compiler), K, method=COMPILED)  # the first size
    corr2d_fast(randn(16, 16, device=compiler), K, method=COMPILED)  # the same: no compiling
    assert graphs() - before <= 1
    corr2d_fast(randn(17, 19, device=compiler), K, method=COMPILED)  # any other size
    before = graphs()
    for shape in [(20, 30), (41, 17), (64, 64), (5, 200), (300, 7)]:
        X = randn(*shape, device=compiler)
        Y = corr2d_fast(X, K, method=COMPILED)
        expected = F.conv2d(X[None, None], K[None, None])[0, 0]
        torch.testing.assert_close(Y, expected, **float32_tolerance)
    assert graphs() == before, "a third image size compiled the pass again"


def test_batches_stride_and_padding(compiler, float32_tolerance):
    X, K = randn(3, 1, 19, 23, device=compiler), randn(1, 1, 3, 3, seed=1, device=compiler)
    Y = corr2d_fast(X, K, stride=2, padding=1, method=COMPILED)
    torch.testing.assert_close(Y, F.conv2d(X, K, stride=2, padding=1), **float32_tolerance)


def test_gradients_equal_conv2d_gradients(compiler):
    X = randn(12, 10, device=compiler, requires_grad=True)
    K = randn(3, 3, seed=1, device=compiler, requires_grad=True)
    (corr2d_fast(X, K, method=COMPILED) ** 2).sum().backward()
    grads = X.grad, K.grad
    X2, K2 = X.detach().clone().requires_grad_(), K.detach().clone().requires_grad_()
    (F.conv2d(X2[None, None], K2[None, None]) ** 2).sum().backward()
    torch.testing.assert_close(grads[0], X2.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(grads[1], K2.grad, rtol=1e-4, atol=1e-4)


def test_several_channels_are_refused(device):
    X, K = randn(1, 2, 8, 8, device=device), randn(3, 2, 3, 3, device=device)
    with pytest.raises(
        ValueError, match=r"one input and one output channel, got K of shape \(3, 2, 3, 3\)"
    ):
        corr2d_fast(X, K, method=COMPILED)


def test_auto_compiles_a_family_once_it_has_cost_enough(compiler, monkeypatch):
    """The ski-rental rule: uncompiled until the family's calls have taken COMPILE_AFTER_S."""
    monkeypatch.setitem(fast.COMPILE_PIXELS, compiler.type, fast.SMALL_PIXELS)
    monkeypatch.setattr(fast, "_uncompiled_s", {})
    monkeypatch.setattr(fast, "_compiled_families", {})
    monkeypatch.setattr(fast, "COMPILE_AFTER_S", 3600.0)
    X, K = randn(210, 212, device=compiler), randn(3, 3, seed=1, device=compiler)
    key = fast.family(X[None, None], K[None, None], (1, 1), (0, 0))
    assert fast.choose_method(X[None, None], K[None, None]) == COMPILED
    corr2d_fast(X, K)
    corr2d_fast(X, K)
    assert key not in fast._compiled_families and fast._uncompiled_s[key] > 0
    monkeypatch.setattr(fast, "COMPILE_AFTER_S", 0.0)  # its calls have now cost enough
    Y = corr2d_fast(X, K)
    assert key in fast._compiled_families
    torch.testing.assert_close(
        Y, F.conv2d(X[None, None], K[None, None])[0, 0], rtol=1e-5, atol=1e-5
    )


def test_without_a_compiler_auto_warns_once_and_compiled_is_refused(device, monkeypatch):
    monkeypatch.setitem(fast._PROBLEMS, device.type, "no C++ compiler found (test)")
    monkeypatch.setitem(fast.COMPILE_PIXELS, device.type, fast.SMALL_PIXELS)
    monkeypatch.setattr(fast, "_warned_no_compiler", False)
    X, K = randn(210, 212, device=device), randn(3, 3, seed=1, device=device)
    with pytest.warns(
        RuntimeWarning, match=r"no C\+\+ compiler found \(test\); auto uses the uncompiled"
    ):
        Y = corr2d_fast(X, K)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: silent
        corr2d_fast(X, K)
    torch.testing.assert_close(
        Y, F.conv2d(X[None, None], K[None, None])[0, 0], rtol=1e-5, atol=1e-5
    )
    with pytest.raises(
        RuntimeError, match=r"compiled.*cannot compile here: no C\+\+ compiler found"
    ):
        corr2d_fast(X, K, method=COMPILED)


def test_auto_on_small_images_takes_the_short_way_to_the_same_checks(device):
    """The fast path for small 2-D images refuses what the long way refuses."""
    X = randn(8, 8, device=device)
    with pytest.raises(ValueError, match="no larger than the input"):
        corr2d_fast(X, randn(9, 2, device=device))
    with pytest.raises(ValueError, match="same dtype"):
        corr2d_fast(X, randn(2, 2, device=device).double())
    with pytest.raises(ValueError, match="floating-point"):
        corr2d_fast(X.long(), randn(2, 2, device=device).long())
    with pytest.raises(TypeError, match="stride to be an int or a pair of ints, got True"):
        corr2d_fast(X, randn(2, 2, device=device), stride=True)


def vm_flags(address: int) -> set[str]:
    """The flags Linux keeps for the mapping of this process that holds ``address``."""
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            start, end = (int(part, 16) for part in line.split()[0].split("-"))
            inside = start <= address < end
        elif inside and line.startswith("VmFlags:"):
            return set(line.split()[1:])
    raise AssertionError(f"no mapping of this process holds {address:#x}")


@pytest.mark.skipif(
    not Path("/sys/kernel/mm/transparent_hugepage").is_dir(),
    reason="huge pages are asked of Linux, and this system has no transparent huge pages",
)
def test_a_large_result_on_the_cpu_is_asked_for_in_huge_pages():
    """Without gradients, the compiled pass on a CPU writes a result of 4 MiB or more into memory
    asked for in transparent huge pages, as NumPy does for its arrays (``convdocs._memory``).
    Pinned to the CPU whatever ``--device`` says: it is about the CPU's memory."""
    cpu = torch.device("cpu")
    problem = compiler_problem(cpu)
    if problem is not None:
        pytest.skip(f"no compiler for the CPU here: {problem}")
    X, K = randn(1100, 1100), randn(3, 3, seed=1)
    Y = corr2d_fast(X, K, method=COMPILED)
    assert Y.numel() * Y.element_size() >= fast._memory.HUGE_FROM_BYTES
    expected = F.conv2d(X[None, None], K[None, None])[0, 0]
    torch.testing.assert_close(Y, expected, rtol=1e-5, atol=1e-5)
    huge = 1 << 21
    first_whole_huge_page = -(-Y.data_ptr() // huge) * huge
    assert "hg" in vm_flags(first_whole_huge_page), "the result was not asked for in huge pages"
