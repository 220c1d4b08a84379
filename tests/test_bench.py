"""The benchmark: the CPU results that ship with the package time every method of corr2d_fast,
the compiled pass included, and a compile is recorded apart from the timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from convdocs.bench import format_table
from convdocs.fast import COMPILED, METHODS, compiler_problem

EVERY_METHOD = (*METHODS, COMPILED)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> dict:
    return json.loads((resources.files("convdocs") / "data" / "bench-cpu.json").read_text())


def one_channel(r: dict) -> bool:
    """Whether a case has one input and one output channel, where the pass can be compiled."""
    return r["kind"] == "image" or (r["input"][1] == 1 and r["kernel"][0] == 1)


def test_every_method_has_a_row_of_timings(bench):
    """Each of fast's methods and the compiled pass is timed, and is a column of the table."""
    for method in EVERY_METHOD:
        timed = [r["name"] for r in bench["results"] if method in r["min_s"]]
        assert timed, f"bench-cpu.json times {method!r} in no case"
    header = format_table(bench).splitlines()[0].split()
    for column in ("shift_add", "unfold", "conv2d", COMPILED, "auto", "F.conv2d"):
        assert column in header, f"the table has no column {column!r}: {header}"


def test_compiled_in_every_one_channel_case_with_its_compile_time(bench):
    for r in bench["results"] + bench["cold_results"]:
        if one_channel(r):
            assert COMPILED in r["min_s"], r["name"]
            assert r["compile_s"] > 0, r["name"]
            # a compile takes far longer than a compiled call: it was not timed with them
            assert r["max_s"][COMPILED] < r["compile_s"], r["name"]
        else:
            assert COMPILED not in r["min_s"] and r["compile_s"] is None, r["name"]
        for method in r["min_s"]:  # what the table shows is the fastest sample
            assert r["min_s"][method] <= r["median_s"][method] <= r["max_s"][method]


@pytest.mark.skipif(compiler_problem("cpu") is not None, reason="no C++ compiler for torch.compile")
def test_a_case_compiles_first_and_apart():
    """One small case, in a process of its own (it resets torch.compile's caches): the compile
    is measured once, before the checks and the timings, and auto reuses the compiled pass."""
    code = (
        "import json, torch\n"
        "from convdocs import bench\n"
        "r = bench.time_case({'kind': 'image', 'input': (600, 600), 'kernel': (3, 3)},"
        " torch.device('cpu'), 0.05, 5)\n"
        "print(json.dumps(r))\n"
    )
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": path},
    )
    r = json.loads(done.stdout.splitlines()[-1])
    assert r["auto_method"] == COMPILED
    assert set(EVERY_METHOD) <= set(r["min_s"])
    assert r["max_s"][COMPILED] < r["compile_s"]
    assert r["max_s"]["auto"] < r["compile_s"], "auto compiled again while it was timed"
