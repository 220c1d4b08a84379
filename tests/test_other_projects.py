"""The checker on docs that other projects write: a table without a record, where a block shown
and not run is a skipped example (``unchecked = "skip"``), and sessions, docstrings and
notebooks are read as doctest, phmdoctest and nbval read them.

Each case is a form found in real projects' docs (READMEs with sessions and shell blocks,
docstrings with prose between examples, notebooks with nbval's markers), on which the peers
pass: convdocs passes it too, and still fails where the shown output is wrong. Documents are
judged in-process (``judged``), each still in processes of its own.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from convdocs.verify.config import ConfigError, load_project
from tests.conftest import counted, failure_lines, judged

pytest_plugins = ["pytester"]


def _project(tmp_path: Path, name: str, text: str, table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[tool.convdocs.verify]\npaths = ["{name}"]\n{table}')
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def judge(tmp_path: Path, name: str, text: str, table: str = "") -> list[tuple[str, str]]:
    return judged(tmp_path, _project(tmp_path, name, text, table))


def test_without_a_record_unchecked_blocks_are_skipped_and_with_one_they_fail(tmp_path):
    def unchecked(table: str = "") -> str:
        _project(tmp_path, "a.md", "", table)
        project = load_project(tmp_path)
        assert project is not None
        return project.unchecked

    assert unchecked() == "skip"
    assert unchecked('record = "record.json"\n') == "fail"
    assert unchecked('record = "record.json"\nunchecked = "skip"\n') == "skip"
    with pytest.raises(ConfigError, match="unchecked must be 'fail' or 'skip', got 'no'"):
        unchecked('unchecked = "no"\n')


README = """\
    # Demo

    ```bash
    pip install demo
    ```

    ```json
    {"a": 1}
    ```

        some indented text

    ```text
    a tree, not an output
    ```

    ```python
    print(21 * 2)
    ```

    Expected output:

    ```
    42
    ```

    ```python
    import warnings
    warnings.warn("old API", FutureWarning)
    print("stdout only")
    ```

    ```
    stdout only
    ```

    ```python
    print("printed, and no block shows it")
    ```

    <!--
    ```python
    raise RuntimeError("commented out")
    ```
    -->
    """


def test_a_readme_passes_with_its_other_blocks_skipped_saying_why(tmp_path):
    found = judge(tmp_path, "README.md", README)
    assert counted(found) == {"passed": 3, "skipped": 4}, found
    reasons = [reason for outcome, reason in found if outcome == "skipped"]
    assert reasons == [
        "not run: a `bash` block, not Python: shown, not run",
        "not run: a `json` block, not Python: shown, not run",
        "not run: a `text` block that follows no Python cell: shown, not compared",
        "not run: a `python` block inside an HTML comment: not shown, not run",
    ]


def test_a_readme_still_fails_where_its_output_is_wrong(tmp_path):
    found = judge(tmp_path, "README.md", README.replace("    42\n", "    41\n"))
    failure_lines(found, "*README.md:23: the output differs*", "*expected '41', got '42'*")


def test_the_same_readme_fails_in_a_project_that_checks_every_block(tmp_path):
    found = judge(tmp_path, "README.md", README, 'unchecked = "fail"\n')
    failure_lines(found, "*a `bash` block is shown as code, but nothing runs it*")


SESSIONS = """\
    Usage:

        >>> from fractions import Fraction
        >>> Fraction(1, 3) + Fraction(1, 6)
        Fraction(1, 2)

    ```python
    import fractions as Fraction
    ```

    ```
    >>> Fraction(1, 2) * 2
    Fraction(1, 1)
    ```

    ```pycon
    >>> for i in range(3):
    ...     i * i
    0
    1
    4

    # the next one documents an error
    >>> int("x")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ValueError
    ```
    """


def test_sessions_run_as_doctest_runs_them(tmp_path):
    """An indented session and one in a bare fence run; the sessions share a namespace of their
    own, apart from the python cell that rebinds a name they use; every expression in a loop
    shows its value; prose may stand between examples; an exception's detail may be ignored."""
    found = judge(tmp_path, "README.md", SESSIONS)
    assert counted(found) == {"passed": 4}, found
    wrong = SESSIONS.replace("Fraction(1, 1)", "Fraction(2, 1)")
    failure_lines(judge(tmp_path, "README.md", wrong), "*expected*2*got*1*")


def test_an_indented_session_runs_on_a_strict_page_too(tmp_path):
    text = "Text.\n\n    >>> 1 + 1\n    3\n"
    found = judge(tmp_path, "page.md", text, 'unchecked = "fail"\n')
    failure_lines(found, "*page.md:3: the session's example >>> 1 + 1*", "*expected '3', got '2'*")


MODULE = '''\
    """A module."""

    import re


    def lines(text):
        """Split a text into lines (an escape in a plain docstring, as doctest reads it).

        >>> lines("a\\\\nb")
        ['a', 'b']

        It works on an empty text too:

        >>> lines("")
        []
        >>> __name__
        'mod'
        """
        def inner():
            """Never collected by doctest.

            >>> inner()
            'not run'
            """
        return text.splitlines()


    def first():
        """
        >>> second = 5
        >>> second
        5
        """


    def second():
        """
        >>> second()
        2
        >>> re.escape(".")  # doctest: +ALLOW_UNICODE
        '\\\\\\\\.'
        """
        return 2
    '''


def test_docstrings_run_as_doctest_runs_them(tmp_path):
    """Prose between examples, a plain docstring with escapes, the module's own names
    (``__name__`` too), a fresh namespace for each docstring, pytest's doctest flags, and no
    docstring inside a function's body."""
    found = judge(tmp_path, "mod.py", MODULE)
    assert counted(found) == {"passed": 3}, found
    wrong = MODULE.replace("    []\n", "    ['']\n")
    failure_lines(judge(tmp_path, "mod.py", wrong), '*mod.py:14:*>>> lines("")*')


def _notebook(tmp_path: Path, cells: list, table: str = "", **notebook_options) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells, **notebook_options)
    (tmp_path / "pyproject.toml").write_text(f'[tool.convdocs.verify]\npaths = ["nb"]\n{table}')
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "helper.py").write_text("VALUE = 42\n")
    path = tmp_path / "nb" / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    return path


def _out(text: str, count: int = 1) -> list:
    return [nbformat.v4.new_output("execute_result", {"text/plain": text}, execution_count=count)]


def test_a_notebook_runs_as_nbval_runs_it(tmp_path):
    """nbval's comment markers, a module beside the notebook, a temporary folder cleaned up, the
    pager's help, a cell never run, and a markdown cell with Python in it."""
    code = nbformat.v4.new_code_cell
    cells = [
        nbformat.v4.new_markdown_cell("Try:\n\n```python\nprint(1)\n```\n"),
        code("import helper\nhelper.VALUE", outputs=_out("42"), execution_count=1),
        code(
            "# NBVAL_IGNORE_OUTPUT\nimport time\ntime.time()",
            outputs=_out("0.5"),
            execution_count=2,
        ),
        code("# NBVAL_SKIP\nraise SystemExit", execution_count=3),
        code(
            "import tempfile, pathlib\n"
            "with tempfile.TemporaryDirectory() as d:\n"
            "    (pathlib.Path(d) / 'a.txt').write_text('x')\n"
            "len?",
            execution_count=4,
        ),
        code("print('never run in the notebook')"),
    ]
    found = judged(tmp_path, _notebook(tmp_path, cells))
    assert counted(found) == {"passed": 4, "skipped": 2}, found
    skipped = [reason for outcome, reason in found if outcome == "skipped"]
    assert skipped[0].startswith("not run: a python fence at line 3 of this markdown cell"), found
    assert skipped[1] == "not run: the cell is tagged nbval-skip", found


def test_a_notebook_write_beside_it_is_still_refused(tmp_path):
    cells = [nbformat.v4.new_code_cell("open('data.txt', 'w').write('x')", execution_count=1)]
    found = judged(tmp_path, _notebook(tmp_path, cells))
    failure_lines(found, "*examples may not change files of the project (nb/data.txt)*")
    assert not (tmp_path / "nb" / "data.txt").exists()


def test_the_peer_skip_markers_skip_the_next_block(tmp_path):
    text = "<!--phmdoctest-skip-->\n```python\nraise RuntimeError\n```\n\n<!-- skip: next -->\n```python\nraise RuntimeError\n```\n"
    found = judge(tmp_path, "page.md", text)
    assert found == [
        ("skipped", "not run: <!--phmdoctest-skip-->"),
        ("skipped", "not run: <!-- skip: next -->"),
    ]


def test_a_marker_between_a_cell_and_a_fence_leaves_the_fence_apart(tmp_path):
    """A skip marker right before what would be a cell's output block: the block is not its
    output, and the document is read (no overlapping examples stop the collection)."""
    text = "```python\nimport random\nrandom.random()\n```\n\n<!--phmdoctest-skip-->\n```\n0.123\n```\n"
    assert judge(tmp_path, "page.md", text) == [("passed", "")]
    text = '```python\nprint(1)\n```\n\n<!-- convdocs: skip reason="x" -->\n```\n1\n```\n'
    strict = judge(tmp_path, "page.md", text, 'unchecked = "fail"\n')
    failure_lines(strict, "*page.md:1: the output differs*", "*(no output block)*")


def test_prompts_inside_a_python_fence_s_docstring_run_as_code(tmp_path):
    """IPython strips prompts only from a cell's first two lines: a docstring's further down is
    code, as phmdoctest runs it."""
    text = '```python\ndef f():\n    """\n    >>> f()\n    1\n    """\n    return 1\nprint(f())\n```\n\n```\n1\n```\n'
    assert judge(tmp_path, "page.md", text, 'unchecked = "fail"\n') == [("passed", "")]
    stripped = "```python\nx = 1\n>>> x\n```\n"
    failure_lines(
        judge(tmp_path, "page.md", stripped, 'unchecked = "fail"\n'),
        "*this python fence has `>>>` or `In [[]n]:` prompts after its first line*",
    )


def test_a_fence_in_a_note_is_no_output_of_the_cell_before_it(tmp_path):
    text = "```python\nprint(2)\n```\n\n!!! note\n\n    A warning:\n\n    ```\n    UserWarning\n    ```\n"
    found = judge(tmp_path, "page.md", text)
    assert found[0] == ("passed", ""), found


def test_a_project_s_cells_run_in_its_root(tmp_path):
    (tmp_path / "data.txt").write_text("42\n")
    text = "```python\nprint(open('data.txt').read())\n```\n\n```\n42\n```\n"
    assert judge(tmp_path, "page.md", text) == [("passed", "")]


def test_a_docstring_continued_with_backslashes_runs_as_python_reads_it(tmp_path):
    module = 'def f():\n    """\\\n    >>> f() == \\\n    2\n    True\n    >>> f()\n    3\n    """\n    return 2\n'
    found = judge(tmp_path, "mod.py", module)
    # (the line is counted in the docstring as Python reads it: one continuation less)
    failure_lines(found, "*mod.py:5: the session's example >>> f()*", "*expected '3', got '2'*")


def test_a_docstring_assigned_to_doc_is_collected(tmp_path):
    module = 'def double(x):\n    return 2 * x\n\n\ndouble.__doc__ = """Twice x.\n\n>>> double(2)\n5\n"""\n'
    failure_lines(judge(tmp_path, "mod.py", module), "*expected '5', got '4'*")


def test_an_option_doctest_does_not_know_is_one_failure_not_a_crash(tmp_path):
    text = "```python\nprint(1)\n```\n\n```\n1\n```\n\n    >>> 1 + 1  # doctest: +BOGUS\n    2\n"
    found = judge(tmp_path, "page.md", text)
    assert found[0] == ("passed", "")
    failure_lines(found, "*page.md:9: doctest cannot read the `>>>` examples here*'+BOGUS'*")


def test_a_notebook_goes_on_after_a_cell_that_only_printed_otherwise(tmp_path):
    """A cell whose output varies fails, and the notebook goes on, as nbval's does; a module
    that prints as it is imported prints in its cell; a display updated in place adds no
    output to the cell that updates it."""
    code = nbformat.v4.new_code_cell
    cells = [
        code("import random\nx = random.random()\nx", outputs=_out("0.5"), execution_count=1),
        code("y = 2\ny", outputs=_out("2", 2), execution_count=2),
        code("import this", execution_count=3),
        code("h = display('a', display_id=True)\nh.update('b')", execution_count=4),
    ]
    path = _notebook(tmp_path, cells)
    found = judged(tmp_path, path)
    assert [outcome for outcome, _ in found] == ["failed", "passed", "failed", "failed"], found
    failure_lines(found, "*the cell prints something else when the document runs a second time*")
    assert "The Zen of Python" in found[2][1]  # imported here, not ahead of the notebook
    assert "'b'" not in found[3][1] and "'a'" in found[3][1], found[3][1]


def test_a_stored_error_ends_a_strict_notebook_visibly(tmp_path):
    code = nbformat.v4.new_code_cell
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])
    cells = [
        code("raise ValueError('x')", outputs=[error], execution_count=1),
        code("1", outputs=_out("1", 2), execution_count=2),
    ]
    found = judged(tmp_path, _notebook(tmp_path, cells, 'unchecked = "fail"\n'))
    assert [outcome for outcome, _ in found] == ["failed", "skipped"], found
    assert "a notebook's later cells build on it" in found[1][1]


def test_a_projects_notebook_may_show_an_error_on_purpose(tmp_path):
    """A stored error is one the cell must raise again, as if tagged raises-exception; one that
    the cell no longer raises, or raises otherwise, fails, and the notebook goes on, as nbval's."""
    code = nbformat.v4.new_code_cell
    error = nbformat.v4.new_output("error", ename="KeyError", evalue="'b'", traceback=[])
    cells = [
        code("d = {'a': 1}\nd['b']", outputs=[error], execution_count=1),
        code("d['a']", outputs=_out("1", 2), execution_count=2),
        code("d.get('b')", outputs=[error], execution_count=3),
        code("d['c']", outputs=[error], execution_count=4),
        code("len(d)", outputs=_out("1", 5), execution_count=5),
    ]
    found = judged(tmp_path, _notebook(tmp_path, cells))
    assert [o for o, _ in found] == ["passed", "passed", "failed", "failed", "passed"], found
    assert "raises-exception, but it raised nothing" in found[2][1]
    assert "the cell raised KeyError: 'c'; its stored error is KeyError: 'b'" in found[3][1]


DISPLAY_HOOKS = """\
A mapping that makes a key of every name asked for, and a display hook of the session's own:

```pycon
>>> class Auto(dict):
...     def __getattr__(self, name):
...         return self.setdefault(name, {})
>>> a = Auto()
>>> a.foo
{}
>>> a
{'foo': {}}
>>> import sys
>>> sys.displayhook = lambda value: print("value:", repr(value))
>>> 1 + 1
value: 2
```
"""


def test_a_session_shows_each_value_as_doctest_shows_it(tmp_path):
    """A value is shown by ``sys.displayhook`` alone, as doctest shows it: nothing probes it for
    IPython's display methods (which ``Auto`` would answer by making keys), and a hook that the
    session installs shows the values after it."""
    for strict in ("", 'unchecked = "fail"\n'):
        found = judge(tmp_path, "README.md", DISPLAY_HOOKS, strict)
        assert counted(found) == {"passed": 1}, found
    wrong = DISPLAY_HOOKS.replace("value: 2", "2")
    failure_lines(judge(tmp_path, "README.md", wrong), "*expected '2', got 'value'*")


def test_sessions_see_the_doctest_namespace_of_the_projects_conftest(pytester):
    """pytest's ``doctest_namespace``, filled by an autouse fixture of the project's conftest.py:
    a module is imported in the document's process, another value sent there pickled."""
    pytester.makeconftest(
        """
        import math
        import pytest

        @pytest.fixture(autouse=True)
        def names(doctest_namespace):
            doctest_namespace["M"] = math
            doctest_namespace["limits"] = {"low": 1}
        """
    )
    pytester.makepyprojecttoml('[tool.convdocs.verify]\npaths = ["README.md"]\n')
    readme = ">>> M.floor(2.5)\n2\n>>> limits['low']\n1\n"
    pytester.makefile(".md", README=f"```pycon\n{readme}```\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    wrong = readme.replace("(2.5)\n2", "(2.5)\n3")
    pytester.makefile(".md", README=f"```pycon\n{wrong}```\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected '3', got '2'*"])
