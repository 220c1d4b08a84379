"""Time every way of computing a 2-D cross-correlation, in one process, and save the timings.

Run ``python -m convdocs.bench [--device cpu|cuda] [--quick] [--out PATH]``. For each case
(an image size and a kernel, or a batch of multi-channel images) it calls every method once
per repetition, in a new random order each time, so that all of them see the same state of
the machine and none always follows the same neighbour:

* ``loop``: the book's double loop ``corr2d`` (small images only: it is slow);
* ``shift_add``, ``unfold_matmul``, ``conv2d``: ``corr2d_fast`` with the method forced;
* ``compiled``: ``corr2d_fast(method="compiled")``, for one input and one output channel
  where ``torch.compile`` has a compiler here; each case compiles it afresh, for its size,
  before anything is timed, and records how long that took as ``compile_s``, apart from the
  timings;
* ``shift_add_whole``: shift and add without strips, where ``shift_add`` uses them;
* ``auto``: ``corr2d_fast`` choosing for itself (once the case's pass is compiled: what
  ``auto`` runs after its first calls, without the wait before it compiles);
* ``F.conv2d``: PyTorch's convolution called directly, the reference for the ratios;
* ``copy`` and ``sum``: one pass over the image, the memory-bandwidth floor.

With ``--peers`` it times instead the compiled pass (``corr2d_fast(method="compiled")``)
against what a user would pick for one image: OpenCV's ``cv2.filter2D`` and SciPy's
``ndimage.correlate`` on a CPU (benchmark-only dependencies, used when installed),
``F.conv2d`` (cuDNN on a GPU), shift and add, and the memory floor, with glibc's defaults and
then with freed memory kept, and writes ``convdocs/data/peers-DEVICE.json``.

Each sample times enough calls in a row to last about ``SAMPLE_S`` (one for the slow ones).
It checks every result against ``F.conv2d`` before timing and writes a JSON file with the
machine it ran on and, for each method, the fastest sample (``min_s``, what the tables show)
and the median. The page "From loop to fast" reads that file.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import datetime
import functools
import gc
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch._dynamo
import torch.nn.functional as F

from convdocs import _memory, fast
from convdocs.correlation import corr2d
from convdocs.devices import device_name
from convdocs.fast import COMPILED, METHODS, STRIPS_ABOVE, add_shifted, choose_method, corr2d_fast

IMAGE_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
KERNELS = ((1, 2), (3, 3), (5, 5), (7, 7))
BATCHES = (  # (input shape, kernel shape)
    ((8, 16, 64, 64), (32, 16, 3, 3)),
    ((8, 3, 128, 128), (16, 3, 5, 5)),
    ((8, 1, 256, 256), (1, 1, 3, 3)),
)
LOOP_MAX_SIZE = 128  # the Python loop runs on images up to this size only
LOOP_REPS = 3
UNFOLD_MAX_BYTES = 256 * 2**20  # unfold copies kh * kw values per output pixel: cap its memory
REFERENCE = "F.conv2d"
SAMPLE_S = 2e-3  # each timed sample repeats a call until it lasts about this long
COLD_CASES = (  # timed again with glibc's defaults, to show what page faults cost
    {"kind": "image", "input": (2048, 2048), "kernel": (3, 3)},
    {"kind": "image", "input": (4096, 4096), "kernel": (3, 3)},
    {"kind": "batch", "input": BATCHES[0][0], "kernel": BATCHES[0][1]},
)


M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory in this process from now on; return whether it could.

    By default glibc gives big blocks back to the system when they are freed, so the next
    big tensor is fresh memory whose every page faults on first touch: a cost that falls on
    whichever method runs next, and depends on what ran before. Kept, every method reuses
    memory that is already mapped, and pays only for its own work.
    """
    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(name)
        no_mmap = libc.mallopt(M_MMAP_MAX, 0)  # big blocks come from the heap too
        no_trim = libc.mallopt(M_TRIM_THRESHOLD, -1)  # and the heap never shrinks
    except (OSError, AttributeError):
        return False
    return bool(no_mmap and no_trim)


def page_faults() -> int:
    """Minor page faults this process has taken so far."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def machine_info(device: torch.device) -> dict:
    """Describe where the numbers come from: platform, CPU, cores, torch, device, threads, date."""
    cpu = device_name("cpu")
    info: dict[str, object] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    caches: dict[str, str] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind, size = ((index / f).read_text().strip() for f in ("level", "type", "size"))
        except OSError:
            continue
        caches[f"L{level} {kind.lower()}"] = size
    info["caches_per_cpu0"] = caches
    if device.type == "cuda":
        info["gpu"] = device_name(device)
    if hasattr(os, "getloadavg"):
        info["load_average_before"] = round(os.getloadavg()[0], 2)
    return info


def cpu_busy_s() -> float | None:
    """Seconds of CPU time all processes have used since boot (from /proc/stat), or None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """Seconds of CPU time this process (all its threads) has used."""
    t = os.times()
    return t.user + t.system


def make_timer(device: torch.device):
    """Return ``timer(fn, number) -> seconds per call`` over ``number`` calls in a row.

    CUDA events (after a synchronize) on a GPU, ``time.perf_counter`` on a CPU.
    """
    if device.type == "cuda":

        def timer(fn, number=1):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize(device)
            start.record()
            for _ in range(number):
                fn()
            end.record()
            torch.cuda.synchronize(device)
            return start.elapsed_time(end) / 1000 / number
    else:

        def timer(fn, number=1):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            return (time.perf_counter() - start) / number

    return timer


def cases(quick: bool) -> list[dict]:
    """The cases to time: single-channel images of every size and kernel, then the batches."""
    sizes = IMAGE_SIZES[:5] if quick else IMAGE_SIZES
    kernels = KERNELS[1:2] if quick else KERNELS
    found = [{"kind": "image", "input": (n, n), "kernel": k} for n in sizes for k in kernels]
    batches = BATCHES[:1] if quick else BATCHES
    found += [{"kind": "batch", "input": x, "kernel": k} for x, k in batches]
    return found


def case_name(case: dict) -> str:
    """A short label: ``1024x1024 k3x3`` or ``(8, 16, 64, 64) * (32, 16, 3, 3)``."""
    if case["kind"] == "image":
        return f"{case['input'][0]}x{case['input'][1]} k{case['kernel'][0]}x{case['kernel'][1]}"
    return f"{tuple(case['input'])} * {tuple(case['kernel'])}"


def callables(case: dict, X: torch.Tensor, K: torch.Tensor, device: torch.device) -> dict:
    """Every way to time for one case, by name; each returns its result."""
    X4, K4 = (X[None, None], K[None, None]) if X.dim() == 2 else (X, K)
    fns: dict[str, Callable[[], object]] = {}
    loop_max = LOOP_MAX_SIZE if device.type == "cpu" else 64  # a kernel launch per element
    if case["kind"] == "image" and max(X.shape) <= loop_max:
        fns["loop"] = lambda: corr2d(X, K)
    for method in METHODS:
        if method == "unfold_matmul" and unfold_bytes(X4, K4) > UNFOLD_MAX_BYTES:
            continue
        fns[method] = functools.partial(corr2d_fast, X, K, method=method)
    (N, C, H, W), (O, _, kh, kw) = X4.shape, K4.shape
    if C == O == 1 and fast.compiler_problem(device) is None:
        fns[COMPILED] = functools.partial(corr2d_fast, X, K, method=COMPILED)
    out_shape = (N, O, H - kh + 1, W - kw + 1)
    if C == 1 and math.prod(out_shape) > STRIPS_ABOVE:  # what the strips gain
        fns["shift_add_whole"] = lambda: add_shifted(X4.new_empty(out_shape), X4, K4, (1, 1))
    fns["auto"] = lambda: corr2d_fast(X, K)
    fns[REFERENCE] = lambda: F.conv2d(X4, K4)
    fns["copy"] = lambda: X.clone()
    fns["sum"] = lambda: X.sum()
    return fns


def unfold_bytes(X: torch.Tensor, K: torch.Tensor) -> int:
    """The memory unfold needs: one column of ``C * kh * kw`` values per output pixel."""
    (N, C, H, W), (_, _, kh, kw) = X.shape, K.shape
    return N * C * kh * kw * (H - kh + 1) * (W - kw + 1) * X.element_size()


def compile_afresh(fn: Callable[[], object], device: torch.device) -> float:
    """Forget every compiled pass, call ``fn`` (a compiled method) once and return how long
    that first call took: compiling the pass for this size, as in a program that filters
    images of one size, and running it once."""
    torch._dynamo.reset()
    fast._compiled_families.clear()
    started = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def time_case(case: dict, device: torch.device, budget_s: float, max_reps: int) -> dict:
    """Compile the pass for this case, check every method against ``F.conv2d``, then time them
    interleaved; return the record."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(case["input"], generator=generator).to(device)
    K = torch.randn(case["kernel"], generator=generator).to(device)
    fns = callables(case, X, K, device)
    timer = make_timer(device)
    # first, so that auto finds the pass compiled for this size; never part of a timing
    compile_s = compile_afresh(fns[COMPILED], device) if COMPILED in fns else None
    reference = fns[REFERENCE]()
    # cuDNN may use TF32 for float32 convolutions on recent GPUs: about 1e-3 relative
    tolerance = (1e-4 if device.type == "cpu" else 1e-2) * max(1.0, reference.abs().max().item())
    max_abs_diff = {}
    for name, fn in fns.items():
        if name not in ("copy", "sum"):
            max_abs_diff[name] = (fn().reshape(reference.shape) - reference).abs().max().item()
            if not max_abs_diff[name] <= tolerance:
                raise RuntimeError(
                    f"{name} disagrees with {REFERENCE} on {case_name(case)}: "
                    f"max abs difference {max_abs_diff[name]:.3g}"
                )
    first = {name: timer(fn) for name, fn in fns.items()}  # a second warm-up, and an estimate
    # Calls in a row per sample, so that a sample lasts about SAMPLE_S: a microsecond-long
    # call is not timed alone, and threads that fell asleep between samples weigh little.
    number = {
        name: 1 if name == "loop" else max(1, min(1000, round(SAMPLE_S / max(t, 1e-9))))
        for name, t in first.items()
    }
    round_s = sum(number[name] * t for name, t in first.items() if name != "loop")
    reps = max(5, min(max_reps, math.floor(budget_s / max(round_s, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in fns}
    faults = {name: 0 for name in fns}
    names = list(fns)
    rng = random.Random(0)
    busy_before, own_before, wall_before = cpu_busy_s(), own_cpu_s(), time.perf_counter()
    gc.disable()
    try:
        for _ in range(reps):
            order = rng.sample(names, len(names))  # a new order each time: no fixed neighbours
            for name in order:
                if name == "loop" and len(times[name]) >= LOOP_REPS:
                    continue
                before = page_faults()
                times[name].append(timer(fns[name], number[name]))
                faults[name] += page_faults() - before
    finally:
        gc.enable()
    busy_after, own_after, wall = cpu_busy_s(), own_cpu_s(), time.perf_counter() - wall_before
    others = None  # how many CPUs other processes kept busy, on average, while this case ran
    if busy_before is not None and busy_after is not None:
        others = max(0.0, (busy_after - busy_before) - (own_after - own_before)) / wall
    fastest = {name: min(ts) for name, ts in times.items()}
    X4, K4 = (X[None, None], K[None, None]) if X.dim() == 2 else (X, K)
    return {
        "name": case_name(case),
        "kind": case["kind"],
        "input": list(case["input"]),
        "kernel": list(case["kernel"]),
        "pixels": case["input"][-1] * case["input"][-2],
        "auto_method": choose_method(X4, K4),
        "compile_s": None if compile_s is None else round(compile_s, 2),
        "reps": {name: len(ts) for name, ts in times.items()},
        "min_s": fastest,
        "median_s": {name: statistics.median(ts) for name, ts in times.items()},
        "max_s": {name: max(ts) for name, ts in times.items()},
        "ratio_to_conv2d": {name: t / fastest[REFERENCE] for name, t in fastest.items()},
        "max_abs_diff": max_abs_diff,
        "calls_per_sample": number,
        "page_faults_per_call": {
            name: round(faults[name] / (len(ts) * number[name])) for name, ts in times.items()
        },
        "other_processes_cpus": None if others is None else round(others, 2),
    }


# --- the compiled pass against the tools a user would pick instead -----------------------

PEER_CASES = {  # (image side, kernel side)
    "cpu": ((1024, 3), (2048, 3), (4096, 3), (1024, 7), (4096, 7)),
    "cuda": ((1024, 3), (4096, 3), (4096, 7), (8192, 3)),
}
FLOOR = "memory floor"


def peer_callables(X: torch.Tensor, K: torch.Tensor) -> dict[str, Callable[[], torch.Tensor]]:
    """The compiled pass and its peers on one single-channel image, by name; each returns an
    (Ho, Wo) result or more (OpenCV and SciPy return the input's size, from which the valid
    part is compared). The memory floor is one read of ``X`` and one write of as much."""
    fns: dict[str, Callable[[], torch.Tensor]] = {
        "compiled": lambda: corr2d_fast(X, K, method="compiled"),
        "shift_add": lambda: corr2d_fast(X, K, method="shift_add"),
        REFERENCE: lambda: F.conv2d(X[None, None], K[None, None])[0, 0],
        # on a CPU, the copy is written into memory asked for as the compiled pass asks for it
        FLOOR: (lambda: _memory.empty(X.shape, X.dtype).copy_(X))
        if X.device.type == "cpu"
        else X.clone,
    }
    if X.device.type == "cpu":
        Xn, Kn = X.numpy(), K.numpy()
        try:
            import cv2

            # anchor (0, 0): output (i, j) is the window starting at (i, j), as in corr2d
            fns["cv2.filter2D"] = lambda: torch.from_numpy(
                cv2.filter2D(Xn, -1, Kn, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
            )
        except ImportError:
            pass
        try:
            from scipy import ndimage  # type: ignore[import-untyped]

            origin = tuple(-(k // 2) for k in Kn.shape)  # window (i, j) starts at (i, j)
            fns["scipy.ndimage.correlate"] = lambda: torch.from_numpy(
                ndimage.correlate(Xn, Kn, mode="constant", origin=origin)
            )
        except ImportError:
            pass
    else:
        fns["shift_add"] = lambda: corr2d_fast(X, K, method="shift_add")
        fns["cuDNN"] = fns.pop(REFERENCE)
    return fns


def time_peers(size: int, k: int, device: torch.device, reps: int) -> dict:
    """Compile, check every peer against F.conv2d, then time them interleaved (fastest and
    median of ``reps`` samples of each, in a new random order each repetition)."""
    generator = torch.Generator().manual_seed(0)
    X = torch.randn((size, size), generator=generator).to(device)
    K = torch.randn((k, k), generator=generator).to(device)
    timer = make_timer(device)
    fns = peer_callables(X, K)
    compile_s = compile_afresh(fns["compiled"], device)  # for this size, as a program would
    reference = F.conv2d(X[None, None], K[None, None])[0, 0]
    ho, wo = reference.shape
    tolerance = (1e-4 if device.type == "cpu" else 1e-2) * max(1.0, reference.abs().max().item())
    max_abs_diff = {}
    for name, fn in fns.items():
        if name != FLOOR:
            diff = (fn()[:ho, :wo].to(device) - reference).abs().max().item()
            if not diff <= tolerance:
                raise RuntimeError(
                    f"{name} disagrees with F.conv2d at {size}x{size} k{k}: {diff:.3g}"
                )
            max_abs_diff[name] = diff
    first = {name: timer(fn) for name, fn in fns.items()}
    number = {name: max(1, min(100, round(SAMPLE_S / max(t, 1e-9)))) for name, t in first.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    rng = random.Random(0)
    gc.disable()
    try:
        for _ in range(reps):
            for name in rng.sample(list(fns), len(fns)):
                times[name].append(timer(fns[name], number[name]))
    finally:
        gc.enable()
    fastest = {name: min(ts) for name, ts in times.items()}
    peer = (
        "cv2.filter2D" if "cv2.filter2D" in fastest else ("cuDNN" if "cuDNN" in fastest else None)
    )
    return {
        "name": f"{size}x{size} k{k}x{k}",
        "pixels": size * size,
        "kernel": [k, k],
        "compile_s": round(compile_s, 2),
        "min_s": fastest,
        "median_s": {name: statistics.median(ts) for name, ts in times.items()},
        "compiled_over": {name: fastest["compiled"] / t for name, t in fastest.items()},
        "peer": peer,
        "max_abs_diff": max_abs_diff,
        "reps": reps,
        "calls_per_sample": number,
    }


def generated_kernel(device: torch.device, size: int = 1024, k: int = 3) -> str:
    """The code inductor generates for the compiled pass of ``corr2d_fast`` on one ``size`` x
    ``size`` image and a ``k`` x ``k`` kernel: C++ on a CPU, Triton on a GPU (compiled afresh,
    without the cache, so that the code is generated and captured)."""
    import torch._inductor.config as inductor_config
    from torch._inductor.utils import run_and_get_code

    X = torch.zeros((size, size), device=device)
    K = torch.zeros((k, k), device=device)
    torch._dynamo.reset()
    fast._compiled_families.clear()
    with inductor_config.patch(fx_graph_cache=False):
        _, sources = run_and_get_code(corr2d_fast, X, K, method="compiled")
    return "\n".join(sources)


def run_peers(device: torch.device, quick: bool = False) -> dict:
    """Time the compiled pass and its peers: first with glibc's defaults (what an ordinary
    program gets: every big result is fresh memory), then with freed memory kept in the
    process. Returns ``{"machine", "settings", "plain", "kept"}``."""
    cases = PEER_CASES[device.type][:2] if quick else PEER_CASES[device.type]
    reps = 3 if quick else 9
    info = machine_info(device)
    plain, kept = [], []
    total = 2 * len(cases) if device.type == "cpu" else len(cases)
    for i, (size, k) in enumerate(cases):
        progress(i, total, f"{size}x{size} k{k}x{k}")
        plain.append(time_peers(size, k, device, reps))
    memory_kept = keep_freed_memory() if device.type == "cpu" else False
    if memory_kept:
        for i, (size, k) in enumerate(cases, start=len(cases)):
            progress(i, total, f"{size}x{size} k{k}x{k} (memory kept)")
            kept.append(time_peers(size, k, device, reps))
    progress(total, total, "done")
    versions: dict[str, str | None] = {"torch": str(torch.__version__)}
    for module in ("cv2", "scipy"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = None
    settings = {
        "quick": quick,
        "dtype": "float32",
        "timing": "cuda events" if device.type == "cuda" else "time.perf_counter",
        "statistic": "the fastest of reps samples, methods interleaved in a new random order",
        "compiling": "each case compiles afresh (torch._dynamo.reset()), for its size, as a "
        "program that filters images of one size",
        "floor": "X.clone(): one read of the image and one write of as much",
        "plain": "glibc's defaults: freed memory returns to the system",
        "kept": "glibc mallopt(M_MMAP_MAX=0, M_TRIM_THRESHOLD=-1)" if memory_kept else None,
        "versions": versions,
    }
    kernel = generated_kernel(device)
    return {"machine": info, "settings": settings, "plain": plain, "kept": kept, "kernel": kernel}


def format_peers(results: list[dict]) -> str:
    """The peers as a table of the fastest milliseconds, and the compiled pass's ratios."""
    if not results:
        return "(none)"
    names = [n for n in results[0]["min_s"]]
    order = [
        "compiled",
        "shift_add",
        "cv2.filter2D",
        "scipy.ndimage.correlate",
        REFERENCE,
        "cuDNN",
        FLOOR,
    ]
    names = [n for n in order if n in names]
    short = {
        "cv2.filter2D": "cv2",
        "scipy.ndimage.correlate": "scipy",
        FLOOR: "floor",
        REFERENCE: "F.conv2d",
    }
    peer = results[0]["peer"]
    header = ["case", *(short.get(n, n) for n in names), f"vs {short.get(peer, peer)}", "vs floor"]
    rows = [header]
    for r in results:
        rows.append(
            [
                r["name"],
                *(_ms(r["min_s"][n]) for n in names),
                f"{r['compiled_over'][peer]:.2f}",
                f"{r['compiled_over'][FLOOR]:.2f}",
            ]
        )
    return render_table(rows)


def progress(done: int, total: int, label: str, stream=sys.stderr) -> None:
    """Draw a one-line progress bar on ``stream`` (stderr)."""
    width = 30
    filled = width * done // total
    stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<40}")
    if done == total:
        stream.write("\n")
    stream.flush()


def run(device: torch.device, quick: bool = False, keep_memory: bool = True) -> dict:
    """Time every case on ``device``; return ``{"machine", "settings", "results", "cold_results"}``.

    With ``keep_memory`` (and glibc), freed memory stays in the process for the main results,
    and a full run first times ``COLD_CASES`` with glibc's defaults, as ``cold_results``.
    """
    todo = cases(quick)
    cold = [] if quick or not keep_memory or device.type != "cpu" else list(COLD_CASES)
    budget_s, max_reps = (0.3, 7) if quick else (3.0, 61)
    info = machine_info(device)
    results, cold_results = [], []
    started = time.perf_counter()
    total = len(todo) + len(cold)
    for i, case in enumerate(cold):  # first, while glibc still has its defaults
        progress(i, total, case_name(case) + " (glibc defaults)")
        cold_results.append(time_case(case, device, budget_s / 2, 7))
    kept = keep_freed_memory() if keep_memory else False
    for i, case in enumerate(todo, start=len(cold)):
        progress(i, total, case_name(case))
        results.append(time_case(case, device, budget_s, max_reps))
    progress(total, total, "done")
    if hasattr(os, "getloadavg"):
        info["load_average_after"] = round(os.getloadavg()[0], 2)
    info["wall_s"] = round(time.perf_counter() - started, 1)
    others = [r["other_processes_cpus"] for r in results if r["other_processes_cpus"] is not None]
    info["other_processes_cpus_max"] = max(others) if others else None
    settings = {
        "quick": quick,
        "dtype": "float32",
        "budget_per_case_s": budget_s,
        "max_reps": max_reps,
        "loop_max_size": LOOP_MAX_SIZE,
        "unfold_max_bytes": UNFOLD_MAX_BYTES,
        "reference": REFERENCE,
        "timing": "cuda events" if device.type == "cuda" else "time.perf_counter",
        "order": "every method once per repetition, in a new random order each repetition (seeded)",
        "statistic": "min_s, the fastest sample of each method (what the tables show); "
        "median_s and max_s too; ratio_to_conv2d divides the fastest samples",
        "compiling": "each case compiles the pass afresh (torch._dynamo.reset()), for its size, "
        "before anything is timed; compile_s is that first call, apart from the timings",
        "sample_s": SAMPLE_S,
        "sample": "calls_per_sample calls in a row, timed together, divided by their number",
        "freed_memory_kept": kept,
        "allocator": (
            "glibc mallopt(M_MMAP_MAX=0, M_TRIM_THRESHOLD=-1): freed memory stays in the process"
            if kept
            else "the system's defaults"
        ),
    }
    return {"machine": info, "settings": settings, "results": results, "cold_results": cold_results}


def render_table(rows: list[list[str]]) -> str:
    """Rows of cells as text: the first column left-aligned, the others right-aligned, and a
    rule under the first row (the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        " ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 1000 else f"{ms:.0f}"


def short_name(r: dict) -> str:
    """A compact label for a table row: ``1024x1024 k3x3`` or ``8x16x64x64 * 32x16x3x3``."""
    if r["kind"] == "image":
        return r["name"]
    return " * ".join("x".join(str(n) for n in shape) for shape in (r["input"], r["kernel"]))


def format_table(data: dict, key: str = "results") -> str:
    """The results as a text table of the fastest milliseconds, one row per case.

    Columns: the loop; ``corr2d_fast`` forced to each method (``unfold`` is
    ``unfold_matmul``, ``conv2d`` is ``F.conv2d`` through ``corr2d_fast``, ``compiled`` the
    compiled pass, once compiled) and left to choose (``auto``, with the method it picks);
    ``F.conv2d`` called directly; ``auto/F``, auto's time over F.conv2d's; ``others``, how
    many CPUs other processes kept busy.
    """
    columns = {
        "loop": "loop",
        "shift_add": "shift_add",
        "unfold_matmul": "unfold",
        "conv2d": "conv2d",
        COMPILED: COMPILED,
        "auto": "auto",
        REFERENCE: REFERENCE,
    }
    header = ["case", *columns.values(), "picks", "auto/F", "others"]
    rows = [header]
    for r in data[key]:
        fastest = r["min_s"]
        others = r.get("other_processes_cpus")
        rows.append(
            [
                short_name(r),
                *(_ms(fastest.get(c)) for c in columns),
                r["auto_method"],
                f"{r['ratio_to_conv2d']['auto']:.3f}",
                "-" if others is None else f"{others:.2f}",
            ]
        )
    return render_table(rows)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the benchmark, print the table and save the JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m convdocs.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="where to run (default: cpu)"
    )
    parser.add_argument("--quick", action="store_true", help="a few small cases, for a smoke test")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="the compiled pass against OpenCV, SciPy, F.conv2d/cuDNN and the memory floor "
        "(default output: convdocs/data/peers-DEVICE.json)",
    )
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="leave glibc's defaults (freed memory goes back to the system)",
    )
    parser.add_argument(
        "--out",
        help="where to write the JSON (default: convdocs/data/bench-DEVICE.json; none for --quick unless given)",
    )
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device cuda, but this torch ({torch.__version__}) has no CUDA device")
    device = torch.device(args.device)
    if args.peers:
        peers = run_peers(device, quick=args.quick)
        print("with glibc's defaults (an ordinary program):")
        print(format_peers(peers["plain"]))
        if peers["kept"]:
            print("\nwith freed memory kept in the process:")
            print(format_peers(peers["kept"]))
        save(peers, args.out or (None if args.quick else f"convdocs/data/peers-{args.device}.json"))
        return 0
    data = run(device, quick=args.quick, keep_memory=not args.system_malloc)
    print(format_table(data))
    if data["cold_results"]:
        print("\nwith glibc's defaults (freed memory returned to the system):")
        print(format_table(data, "cold_results"))
    save(data, args.out or (None if args.quick else f"convdocs/data/bench-{args.device}.json"))
    return 0


def save(data: dict, out: str | None) -> None:
    """Write ``data`` as JSON to ``out`` (nothing when ``out`` is None) and say so on stderr."""
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(data, indent=1) + "\n")
        print(f"saved {out}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
