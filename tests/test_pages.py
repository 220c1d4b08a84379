"""The pages as a whole: nothing shown goes uncollected, and moved numbers are caught."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from sybil import Document
from sybil.example import SybilFailure

from convdocs.verify.cells import read_cells
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL, _half_last_digit
from convdocs.verify.evaluate import parse_cells, reset_page

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
# An independent, deliberately naive count of Python fences: any fence line naming python or py.
NAIVE_PYTHON_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\{?[ \t]*\.?(python3?|py)\b", re.M)



@pytest.fixture(autouse=True)
def checking_not_updating(monkeypatch):
    """These tests check failures, so they run in checking mode even under --update-outputs."""
    from convdocs.verify import settings

    monkeypatch.setattr(settings.current, "update", False)

def document(path: Path, text: str | None = None) -> Document:
    doc = Document(path.read_text() if text is None else text, str(path))
    for region in parse_cells(doc):
        doc.add(region)
    return doc


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_python_fence_shown_is_collected(path):
    text = path.read_text()
    shown = len(NAIVE_PYTHON_FENCE.findall(re.sub(r"^(````+)[^\n]*\n.*?^\1[ \t]*$", "", text, flags=re.M | re.S)))
    cells = read_cells(text).cells
    assert len(cells) == shown, f"{path.name} shows {shown} Python fences but {len(cells)} cells are collected"
    assert len(list(document(path).examples())) >= len(cells)


def test_the_pages_have_at_least_25_examples():
    assert sum(len(read_cells(p.read_text()).cells) for p in PAGES) >= 25


def _numbers_in_outputs():
    number = re.compile(r"(?<![A-Za-z0-9_.])-?\d+(?:\.\d*)?(?:e[-+]?\d+)?(?![A-Za-z0-9_])")
    found = []
    for path in PAGES:
        text = path.read_text()
        for cell in read_cells(text).cells:
            if cell.output is None or cell.marker("skip"):
                continue
            for m in number.finditer(text, cell.output.body_start, cell.output.body_end):
                found.append((path, m.start(), m.end(), m.group()))
    return found


def _moved(token: str) -> str:
    """The number moved well beyond the site's tolerance, printed with the same precision."""
    if "." not in token and "e" not in token:
        return str(int(token) + 1)
    value = float(token)
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    step = 10.0 ** (int(exponent or 0) - decimals)
    delta = max(3 * step, 4 * (DEFAULT_ATOL + DEFAULT_RTOL * abs(value)) + 3 * _half_last_digit(token), 1.0 if mantissa.endswith(".") else 0)
    moved = value + delta
    if exponent:
        return f"{moved / 10.0 ** int(exponent):.{decimals}f}e{exponent}"
    return f"{moved:.{decimals}f}" + ("." if mantissa.endswith(".") else "")


@pytest.mark.parametrize("pick", range(20))
def test_a_number_moved_beyond_tolerance_fails_its_page(pick):
    numbers = _numbers_in_outputs()
    path, start, end, token = random.Random(2026).sample(numbers, 20)[pick]
    text = path.read_text()
    doc = document(path, text[:start] + _moved(token) + text[end:])
    namespace_failures = []
    reset_page(doc.namespace)
    for example in doc.examples():
        try:
            example.evaluate()
        except SybilFailure as failure:
            namespace_failures.append(str(failure))
            break
    assert namespace_failures, f"moving {token} to {_moved(token)} in {path.name} went unnoticed"
    assert "differs from what the code prints" in namespace_failures[0]
