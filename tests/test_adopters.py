"""Another project adopts the checker through a Sybil of its own (``examples/sybil-conftest``):
its conftest.py adds convdocs's parsers beside sybil's own, with no [tool.convdocs.verify] table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from convdocs.verify.cells import Cell
from convdocs.verify.documents import read_source
from tests.conftest import counted, judged

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sybil-conftest"


@pytest.fixture
def adopter(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(EXAMPLE, pytester.path, dirs_exist_ok=True)
    return pytester


def test_the_example_project_passes_with_both_sybils(adopter):
    result = adopter.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)  # the page's cell and session, and README.rst's doctest
    assert not list(adopter.path.rglob("*.json"))  # no table: no record


def test_the_example_project_finds_a_changed_output(adopter):
    page = adopter.path / "docs" / "page.md"
    page.write_text(page.read_text().replace("0.6000000000000001", "0.7"))
    result = adopter.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*docs/page.md:8: the output differs from what the code prints*"])


def test_the_runs_device_reaches_the_parsers(adopter, monkeypatch):
    """``parsers()`` without a device runs the documents where the pytest run asks: a device
    that cannot start (no machine has a 100th GPU) fails the page's example, saying which."""
    monkeypatch.delenv("CONVDOCS_DEVICE", raising=False)
    result = adopter.runpytest_subprocess("-p", "no:cacheprovider", "--device", "cuda:99")
    result.assert_outcomes(passed=1, failed=1, skipped=1)  # README's doctest; the page's two
    result.stdout.fnmatch_lines(["*docs/page.md:*the device cuda:99 cannot be used*"])


def test_the_docs_show_the_example_conftest_as_it_is():
    """The guide's conftest.py is a cell of its page (so it runs), and it is the example's file."""
    bodies = [
        cell.code.body
        for cell in read_source(ROOT / "docs" / "verification.md").cells()
        if isinstance(cell, Cell) and "pytest_collect_file" in cell.code.body
    ]
    assert bodies == [(EXAMPLE / "conftest.py").read_text()]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rtol": 1.0}, "parsers(): rtol must be at most 0.01, got 1.0"),
        ({"atol": "0"}, "parsers(): atol must be a number, got '0'"),
        ({"timeout": 0}, "parsers(): timeout must be more than 0 seconds, got 0"),
        ({"device": "tpu"}, "parsers() device expects cpu, cuda or cuda:N, got 'tpu'"),
        ({"unchecked": "no"}, "parsers(): unchecked must be 'fail' or 'skip', got 'no'"),
    ],
)
def test_bad_parser_options_are_clear_errors(options, message):
    from fnmatch import fnmatchcase

    from convdocs.verify import parsers

    with pytest.raises(ValueError) as error:
        parsers(**options)
    assert fnmatchcase(str(error.value), message), str(error.value)


def test_the_peer_comparison_covers_every_case_and_tool(tmp_path):
    """``convdocs/data/checkers.json`` (``scripts/compare-peers.py``) holds a run of every tool on
    every case of the corpus, and convdocs's own row says what this checker does now: each case
    judged again, as written and with 42 changed to 41, as the script runs it."""
    import json

    data = json.loads((ROOT / "convdocs" / "data" / "checkers.json").read_text())
    cases = sorted(p for p in (ROOT / "benchmarks" / "peer-corpus").iterdir() if p.is_dir())
    assert sorted(data["cases"]) == [case.name for case in cases]
    tools = {"convdocs", "doctest", "sybil", "phmdoctest", "pytest-examples", "nbval"}
    assert all(set(seen) == tools for seen in data["cases"].values())
    outcomes = {"passes", "fails", "catches", "misses", "-"}
    assert all(
        set(result.values()) <= outcomes and set(result) == {"right", "changed"}
        for seen in data["cases"].values()
        for result in seen.values()
    )
    for case in cases:
        seen = {}
        for variant, (ok, bad) in {
            "right": ("passes", "fails"),
            "changed": ("misses", "catches"),
        }.items():
            folder = tmp_path / variant / case.name
            shutil.copytree(case, folder)
            (folder / "pyproject.toml").write_text('[tool.convdocs.verify]\npaths = ["."]\n')
            found = []
            for path in sorted(folder.iterdir()):
                if path.name == "pyproject.toml":
                    continue
                if variant == "changed":
                    path.write_text(path.read_text().replace("42", "41"))
                found += judged(folder, path)
            outcome = counted(found)
            seen[variant] = bad if outcome.get("failed") else ok if outcome.get("passed") else "-"
        assert seen == data["cases"][case.name]["convdocs"], case.name
