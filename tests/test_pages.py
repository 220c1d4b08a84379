"""The pages as a whole: nothing shown goes uncollected, and moved numbers are caught.

These tests run the real pages in-process with a session of their own, on the device of the
run (``--device``), in checking mode even under ``--update-outputs``.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from convdocs.verify import tolerances
from convdocs.verify.cells import Cell
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL
from convdocs.verify.config import Settings, load_project
from convdocs.verify.documents import read_source
from convdocs.verify.session import Session
from convdocs.verify.translations import original_of

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
# An independent, deliberately naive count of Python fences: any fence line naming python or py.
NAIVE_PYTHON_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\{?[ \t]*\.?(python3?|py)\b", re.M)
# How many examples each page has; a change here is a change to the site, made on purpose. A
# translation (``pooling.zh.md``) has as many as its original (tests/test_translations.py).
EXPECTED_EXAMPLES = {
    "api.md": 0,
    "channels.md": 43,
    "conv2d-layer.md": 6,
    "convolution.md": 14,
    "cross-correlation.md": 10,
    "edge-detection.md": 8,
    "exercises.md": 27,
    "fc-to-conv.md": 25,
    "get-started.md": 1,
    "index.md": 1,
    "learning-a-kernel.md": 13,
    "lenet.md": 59,
    "loop-to-fast.md": 38,
    "padding-and-stride.md": 40,
    "pooling.md": 41,
    "receptive-field.md": 11,
    "summary.md": 1,
    "verification.md": 4,
}


@pytest.fixture(scope="module")
def checking(device) -> Session:
    """A session on this run's device that checks and never rewrites; without the shadow run
    under the hidden seed, which no test of this module is about (the pages' own run has it)."""
    project = load_project(ROOT)
    assert project is not None
    return Session(Settings(project, str(device), update=False, shadow=False))


def test_every_page_is_counted():
    assert sorted(p.name for p in PAGES if original_of(p) is None) == sorted(EXPECTED_EXAMPLES)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_python_fence_shown_is_collected(path, checking):
    text = path.read_text()
    without_nested = re.sub(r"^(````+)[^\n]*\n.*?^\1[ \t]*$", "", text, flags=re.M | re.S)
    shown = len(NAIVE_PYTHON_FENCE.findall(without_nested))
    source = read_source(path)
    assert len(source.cells()) == shown, (
        f"{path.name} shows {shown} Python fences but {len(source.cells())} cells"
    )
    expected = EXPECTED_EXAMPLES[(original_of(path) or path).name]
    assert source.example_count == expected  # cells and prose claims
    assert len(list(checking.document(path).examples())) == expected


def _numbers_in_outputs(kind: str):
    """Every number in the pages' output blocks for ``kind``, with the tolerance it is checked with."""
    project = load_project(ROOT)
    assert project is not None
    number = re.compile(r"(?<![A-Za-z0-9_.])-?\d+(?:\.\d*)?(?:e[-+]?\d+)?(?![A-Za-z0-9_.])")
    found = []
    for path in PAGES:
        text = path.read_text()
        for cell in read_source(path).cells():
            assert isinstance(cell, Cell)
            output = cell.output_for(kind)
            if output is None or cell.marker("skip"):
                continue
            rule = tolerances.for_cell(cell, kind, project)
            for m in number.finditer(text, output.body_start, output.body_end):
                found.append((path, m.start(), m.end(), m.group(), rule.rtol, rule.atol))
    return found


def _moved(token: str, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL) -> str:
    """The number moved well beyond its tolerance, printed with the same precision."""
    if "." not in token and "e" not in token:
        return str(int(token) + 1)
    value = float(token)
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    step = 10.0 ** (int(exponent or 0) - decimals)
    delta = max(
        3 * step,
        4 * (atol + rtol * abs(value)) + 3 * step,
        1.0 if mantissa.endswith(".") else 0,
    )
    moved = value + delta
    if exponent:
        return f"{moved / 10.0 ** int(exponent):.{decimals}f}e{exponent}"
    return f"{moved:.{decimals}f}" + ("." if mantissa.endswith(".") else "")


def test_there_are_enough_numbers_to_move(device):
    assert (
        len(_numbers_in_outputs(device.type)) >= 100
    )  # a floor on purpose: 20 are picked from them


@pytest.mark.parametrize("pick", range(20))
def test_a_number_moved_beyond_tolerance_fails_its_page(pick, checking, device):
    numbers = _numbers_in_outputs(device.type)
    path, start, end, token, rtol, atol = random.Random(2026).sample(numbers, 20)[pick]
    text = path.read_text()
    moved = _moved(token, rtol, atol)
    assert float(moved) != float(token)
    changed = text[:start] + moved + text[end:]
    failures = checking.evaluate(path, changed, first_failure=True)
    assert failures, f"moving {token} to {moved} in {path.name} went unnoticed"
    assert "differs from what the code prints" in failures[0]
    assert f"expected '{moved}', got '{token}'" in failures[0]
