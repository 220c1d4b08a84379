"""The update mode rewrites a ``>>>`` session's outputs, as ``--update-outputs`` does an output
block's: only the examples that print otherwise, indented like their prompts, in a fenced session
and in a docstring alike; never a traceback, and never under a hidden-seed difference.

In-process (``conftest.judged``: a session's ``judge_each``, then its queue's ``apply``):
each document still runs in its own child processes, and nothing here is about pytest's
integration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import judged


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))  # the project's module imports, as under pytest
    (tmp_path / "pyproject.toml").write_text('[tool.convdocs.verify]\npaths = ["docs", "mod.py"]\n')
    (tmp_path / "docs").mkdir()
    (tmp_path / "mod.py").write_text('"""A module."""\n')
    return tmp_path


def _update(root: Path, path: Path) -> list[str]:
    """Run ``path`` in update mode, write the edits, and return the failures of that run."""
    return [message for outcome, message in judged(root, path, update=True) if outcome == "failed"]


def _check(root: Path, path: Path) -> list[str]:
    return [message for outcome, message in judged(root, path) if outcome == "failed"]


def test_a_fenced_session_gets_what_its_examples_print(project):
    page = project / "docs" / "page.md"
    page.write_text(
        "Text.\n\n"
        "  ```pycon\n"
        "  >>> x = [1, 2]\n"
        "  >>> x\n"
        "  [1, 3]\n"
        "  >>> print('a...')  # ELLIPSIS holds: kept as written\n"
        "  a...\n"
        "  >>> for i in x:\n"
        "  ...     print(i)\n"
        "  >>> len(x)\n"
        "  5\n"
        "  ```\n"
    )
    assert _check(project, page), "the session differs before the update"
    assert _update(project, page) == []
    assert page.read_text() == (
        "Text.\n\n"
        "  ```pycon\n"
        "  >>> x = [1, 2]\n"
        "  >>> x\n"
        "  [1, 2]\n"
        "  >>> print('a...')  # ELLIPSIS holds: kept as written\n"
        "  a...\n"
        "  >>> for i in x:\n"
        "  ...     print(i)\n"
        "  1\n"
        "  2\n"
        "  >>> len(x)\n"
        "  2\n"
        "  ```\n"
    )
    assert _check(project, page) == []
    before = page.read_text()
    assert _update(project, page) == [] and page.read_text() == before  # idempotent


def test_a_docstring_session_is_rewritten_in_its_module(project):
    module = project / "mod.py"
    module.write_text(
        'def double(n):\n    """Twice n.\n\n    >>> double(2)\n    5\n    >>> double(3)\n    6\n    """\n'
        "    return 2 * n\n"
    )
    assert _update(project, module) == []
    assert module.read_text() == (
        'def double(n):\n    """Twice n.\n\n    >>> double(2)\n    4\n    >>> double(3)\n    6\n    """\n'
        "    return 2 * n\n"
    )
    assert _check(project, module) == []


@pytest.mark.parametrize(
    ("session", "message"),
    [
        (">>> int('x')\n7\n", "it raised, where the session shows no traceback"),
        (
            ">>> int('x')\nTraceback (most recent call last):\nValueError: no\n",
            "expected it to raise",
        ),
        (
            ">>> import random\n>>> random.random() < 2\nFalse\n>>> random.random()\n0.5\n",
            "hidden seed",
        ),
    ],
    ids=["unexpected-exception", "other-exception", "seed"],
)
def test_what_the_update_cannot_fix_still_fails_and_writes_nothing(project, session, message):
    page = project / "docs" / "page.md"
    page.write_text(f"```pycon\n{session}```\n")
    before = page.read_text()
    failures = _update(project, page)
    assert len(failures) == 1 and message in failures[0], failures
    assert page.read_text() == before


def test_evaluate_passes_over_a_skipped_example(project):
    """``Session.judge_each`` reports what follows a skipped example (pytest's skip is no failure
    and no end of the document)."""
    page = project / "docs" / "page.md"
    page.write_text(
        '<!-- convdocs: skip reason="shown only" -->\n```python\nprint(1)\n```\n\n'
        "```python\nprint(2)\n```\n\n```text\n3\n```\n"
    )
    failures = _check(project, page)
    assert len(failures) == 1 and "expected '3', got '2'" in failures[0], failures


def test_a_sessions_imports_are_its_documents_dependencies(project):
    """A ``>>>`` session that imports a project module depends on it, as a cell does: its run
    reports the module among the files the record's fingerprint covers, and the warm process
    imports third-party modules for it (not the standard library's, quick to import)."""
    from convdocs.verify.config import Settings, load_project
    from convdocs.verify.documents import read_source, third_party_imports
    from convdocs.verify.session import Session

    (project / "helper.py").write_text("import json\n\nVALUE = 1\n")
    page = project / "docs" / "page.md"
    page.write_text("```pycon\n>>> import helper\n>>> helper.VALUE\n1\n>>> import sybil\n```\n")
    settings = Settings(load_project(project))  # type: ignore[arg-type]
    session = Session(settings)
    try:
        assert session.judge_each(page) == [("passed", "")]
    finally:
        session.close()
    (observed,) = session.observed.values()
    assert observed["reads"] == ["helper.py"]
    assert "sybil" in third_party_imports(read_source(page), project)


def test_a_session_compares_stdout_and_values_not_stderr_as_doctest_does(
    project, monkeypatch, device
):
    """A warning goes to stderr, which doctest leaves to the terminal: a session that shows no
    warning passes, and the update mode never writes one into it; stdout is still compared."""
    monkeypatch.delenv("CI", raising=False)
    page = project / "docs" / "page.md"
    session = (
        "```pycon\n>>> import sys, warnings\n>>> warnings.warn('old')\n"
        ">>> print('out'); print('err', file=sys.stderr)\nout\n>>> 6 * 7\n42\n```\n"
    )
    page.write_text(session)

    def check() -> list[str]:
        found = judged(project, page, device=str(device))
        return [message for outcome, message in found if outcome == "failed"]

    assert check() == []
    page.write_text(session.replace("out\n>>>", "other\n>>>"))
    failures = check()
    assert len(failures) == 1 and "expected 'other', got 'out'" in failures[0], failures
    assert _update(project, page) == []
    assert page.read_text() == session
