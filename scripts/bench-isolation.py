"""What a process per document costs: the checker's overhead per document, against what else a
project could use to give each document a fresh interpreter.

Each method checks the same empty document (one cell, ``1 + 1``) many times:

* ``fork`` — the checker's way: a child forked from the warm zygote (which has imported torch,
  numpy and IPython), with its shadow (two children, as the checker runs every document), the
  cell run in both, and both ended;
* ``fork, one child`` — the same with the visible child alone;
* ``spawn`` — a new Python process per document that imports torch and runs the cell
  (``python -c``), which is what a pool of fresh processes costs;
* ``kernel`` — a Jupyter kernel per document (nbclient, as nbval does), started, running the
  cell, shut down.

The methods are alternated, repetition by repetition; each reports its fastest and median time
per document, and the ratio of each to ``fork``. The zygote's own start-up, paid once per test
process, is reported apart. Prints JSON, and writes it to ``--out`` (``benchmarks/isolation-cpu.json`` holds a run).

Usage: python scripts/bench-isolation.py [--repeat 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convdocs.verify.child import device_name  # noqa: E402
from convdocs.verify.runner import DocumentRun, Zygote  # noqa: E402

CELL = {"op": "run", "code": "1 + 1", "filename": "bench.md", "first_line": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--kernels", type=int, default=3, help="Jupyter kernels to start")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    started = time.perf_counter()
    zygote = Zygote(["torch", "numpy", "IPython"])
    first = DocumentRun(zygote, root=ROOT, device="cpu", timeout=60)
    assert first.request(CELL)["value"] == "2"
    first.close()
    zygote_start = time.perf_counter() - started

    def fork_both() -> None:
        run = DocumentRun(zygote, root=ROOT, device="cpu", timeout=60)
        replies = run.request_both(CELL)
        assert all(isinstance(r, dict) and r["value"] == "2" for r in replies), replies
        run.close()

    def fork_one() -> None:
        process = zygote.fork(
            root=ROOT, device="cpu", seed=0, environment={"CONVDOCS_DEVICE": "cpu"}, timeout=60
        )
        assert process.request(CELL)["value"] == "2"
        process.close()

    def spawn() -> None:
        out = subprocess.run(
            [sys.executable, "-c", "import torch, numpy, IPython; print(1 + 1)"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == "2"

    def kernel() -> None:
        import nbformat
        from nbclient import NotebookClient

        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
        assert notebook.cells[0].outputs[0]["data"]["text/plain"] == "2"

    methods: dict[str, tuple[Callable[[], None], int]] = {
        "fork": (fork_both, args.repeat),
        "fork, one child": (fork_one, args.repeat),
        "spawn": (spawn, max(3, args.repeat // 3)),
        "kernel": (kernel, args.kernels),
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    for repetition in range(args.repeat):
        for name, (method, count) in methods.items():
            if repetition < count:
                start = time.perf_counter()
                method()
                times[name].append(time.perf_counter() - start)
    zygote.close()

    fastest = {name: min(values) for name, values in times.items()}
    result = {
        "what": "seconds per document for an empty document (one cell), fastest and median",
        "machine": {
            "cpu": device_name("cpu"),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "zygote_start_s": round(zygote_start, 4),
        "methods": {
            name: {
                "fastest_s": round(fastest[name], 4),
                "median_s": round(statistics.median(values), 4),
                "runs": len(values),
                "vs_fork": round(fastest[name] / fastest["fork"], 2),
            }
            for name, values in times.items()
        },
    }
    text = json.dumps(result, indent=2) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")


if __name__ == "__main__":
    main()
