"""The pages as a whole: nothing shown goes uncollected, and moved numbers are caught.

These tests run the real pages in-process with a session of their own, on the device of the
run (``--device``), in checking mode even under ``--update-outputs``.
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path
from typing import Any

import pytest
from sybil.example import SybilFailure

from convdocs.verify import tolerances
from convdocs.verify.cells import Cell
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL
from convdocs.verify.config import Settings, load_project
from convdocs.verify.documents import read_source
from convdocs.verify.pytest_plugin import requested_device
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


@functools.cache
def _numbers_in_outputs(kind: str) -> list[tuple[Path, int, int, str, float, float]]:
    """Every number in the pages' output blocks for ``kind``, with the tolerance it is checked
    with (read once per process: do not change the list)."""
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


MOVED = 20
"""How many numbers are moved, each in a run of its page (several share a run, see below)."""


def _picks(kind: str) -> list[tuple[Path, int, int, str, float, float]]:
    return random.Random(2026).sample(_numbers_in_outputs(kind), MOVED)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per moved number; the numbers of one page stay on one xdist worker, which runs
    that page's mutations together (``_page_runs``)."""
    if metafunc.definition.name == "test_a_number_moved_beyond_tolerance_fails_its_page":
        picks = _picks(requested_device(metafunc.config).split(":")[0])
        metafunc.parametrize(
            "pick",
            [
                pytest.param(n, marks=pytest.mark.xdist_group(f"moved-numbers-{path.name}"))
                for n, (path, *_) in enumerate(picks)
            ],
        )


@functools.cache
def _page_runs(checking: Session, kind: str, path: Path) -> dict[int, tuple[str | None, list[str]]]:
    """Check ``path`` with its picked numbers moved, several in one run where they lie in the
    outputs of different examples (a moved output changes nothing that runs, and each example
    is judged on its own output alone). Each run stops after its last moved example, as
    ``first_failure`` stops at the first failure. Returns, for each pick of the page, the
    failure of its example (None if it passed) and the failures of the unmoved examples of
    its run before its own, which must be none."""
    picks = [(n, pick) for n, pick in enumerate(_picks(kind)) if pick[0] == path]
    text = path.read_text()
    examples = list(checking.document(path).examples())

    def example_of(offset: int, where: list[Any]) -> int:
        (index,) = [i for i, e in enumerate(where) if e.start <= offset < e.end]
        return index

    runs: list[dict[int, int]] = []  # each run: pick -> the index of its example
    for n, (_, start, *_) in picks:
        index = example_of(start, examples)
        run = next((r for r in runs if index not in r.values()), None)
        if run is None:
            runs.append(run := {})
        run[n] = index
    results: dict[int, tuple[str | None, list[str]]] = {}
    for run in runs:
        changed, shift, starts = text, 0, {}
        for n in sorted(run, key=lambda n: _picks(kind)[n][1]):
            _, start, end, token, rtol, atol = _picks(kind)[n]
            moved = _moved(token, rtol, atol)
            changed = changed[: start + shift] + moved + changed[end + shift :]
            starts[n] = start + shift
            shift += len(moved) - len(token)
        document = checking.document(path, changed)
        mutated = list(document.examples())
        assert len(mutated) == len(examples)
        at = {n: example_of(starts[n], mutated) for n in run}
        assert at == run  # the same examples, in the same order
        failures: dict[int, str] = {}
        try:
            for index, example in enumerate(mutated[: max(at.values()) + 1]):
                try:
                    example.evaluate()
                except SybilFailure as failure:
                    failures[index] = str(failure)
                except pytest.skip.Exception:
                    pass  # a visibly skipped example: the run goes on, as a pytest run does
        finally:
            checking.teardown_document(document.namespace)
        for n, index in at.items():
            others = [f for i, f in failures.items() if i < index and i not in at.values()]
            results[n] = (failures.get(index), others)
    return results


def test_a_number_moved_beyond_tolerance_fails_its_page(pick, checking, device):
    path, _, _, token, rtol, atol = _picks(device.type)[pick]
    moved = _moved(token, rtol, atol)
    assert float(moved) != float(token)
    failure, earlier = _page_runs(checking, device.type, path)[pick]
    assert earlier == [], f"{path.name} failed before the moved {token}: {earlier}"
    assert failure, f"moving {token} to {moved} in {path.name} went unnoticed"
    assert "differs from what the code prints" in failure
    assert f"expected '{moved}', got '{token}'" in failure
