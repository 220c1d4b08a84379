"""Time verifying the examples in-process against running the lecture notebook in a Jupyter kernel.

    .venv/bin/python scripts/time-verification.py

In one process: (1) every example of docs/ evaluated in-process by the machinery (as
`pytest docs` does, without pytest), (2) the notebook's cells alone in-process, and (3) the
same notebook executed in a real Jupyter kernel with nbclient (kernel start included). Each is
repeated and the median printed.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from convdocs.verify.config import Settings, load_project
from convdocs.verify.documents import read_source
from convdocs.verify.session import Session

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("CONVDOCS_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
LOADED = load_project(ROOT)
assert LOADED is not None, "pyproject.toml has no [tool.convdocs.verify] table"
PROJECT = LOADED


def in_process(paths: list[Path]) -> int:
    session = Session(Settings(PROJECT, "cpu"))
    count = 0
    for path in paths:
        failures = [m for outcome, m in session.judge_each(path) if outcome == "failed"]
        if failures:
            raise SystemExit(f"{path}: {failures[0]}")
        count += read_source(path).example_count
    return count


def in_kernel(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=False).execute()


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


pages = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "docs" / "notebook.ipynb"]
notebook = ROOT / "docs" / "notebook.ipynb"
in_process(pages)  # warm up imports once, as a test session would
n_all = in_process(pages)
t_all = median_seconds(lambda: in_process(pages), 5)
t_nb = median_seconds(lambda: in_process([notebook]), 5)
t_kernel = median_seconds(lambda: in_kernel(notebook), 5)
print(f"all {n_all} doc examples in-process:     {t_all:7.3f} s (median of 5)")
print(f"the notebook's cells in-process:        {t_nb:7.3f} s")
print(
    f"the notebook in a Jupyter kernel:       {t_kernel:7.3f} s (nbclient, kernel start included)"
)
print(f"kernel / in-process, same notebook:     {t_kernel / t_nb:7.1f}x")
