"""The verification machinery run on small projects of its own, through pytest (pytester).

Each project is what another project would write: a pyproject.toml with a
``[tool.convdocs.verify]`` table and some Markdown, and no conftest.py. These tests describe
the checker's behaviour on the CPU, so every run says ``--device cpu``; the GPU side is
simulated in-process with a ``Session`` whose settings name ``cuda:0``. Rules checked as a page
is read, before anything runs, are checked in-process on ``read_source`` (the ``docs`` fixture),
and so is a page's verdict (``judged``: a ``Session`` of the test's own, each document still in
processes of its own); pytest runs the project where a test is about pytest itself: its reports
and exit codes, collection, xdist, the options, the record and the update mode's writes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import torch

from convdocs.verify import record
from convdocs.verify.cells import Problem
from convdocs.verify.config import Settings, load_project
from convdocs.verify.documents import fingerprint, read_source
from convdocs.verify.session import Session
from tests.conftest import (
    assert_refused,
    counted,
    failure_lines,
    failures_of,
    judged,
    parse_problems,
    runs_in_a_fresh_process,
    stamp_text,
)

NEEDS_CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="a GPU run's document process starts CUDA itself: this needs a CUDA device",
)

pytest_plugins = ["pytester"]

RECORD = "verification-record.json"
PYPROJECT = f"""\
[tool.convdocs.verify]
paths = ["docs"]
record = "{RECORD}"
"""

GOOD_PAGE = """\
# A page

```python
x = 6 * 7
print("x is", x)
x / 10
```

```text
x is 42
4.2
```

A shell command is shown, not run, and says why:

<!-- convdocs: skip reason="a shell command" -->
```console
$ echo hi
```

```python
import torch
torch.tensor([1.0, 2.5]) * x
```

```text
tensor([ 42., 105.])
```
"""

TABS_PAGE = """\
```python
print("same everywhere")
```

```text
same everywhere
```

```python
import os
print("running on", os.environ["CONVDOCS_DEVICE"])
```

=== "CPU"

    ```text
    running on cpu
    ```

=== "GPU"

    ```text
    running on the moon
    ```
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A throw-away project that opts in with its pyproject.toml table (no conftest.py)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CONVDOCS_DEVICE", raising=False)
    pytester.makepyprojecttoml(PYPROJECT)
    (pytester.path / "docs").mkdir()
    return pytester


def page(project: pytest.Pytester, text: str, name: str = "page.md") -> Path:
    path = project.path / "docs" / name
    path.write_text(textwrap.dedent(text))
    return path


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", "no:cacheprovider", "--device", "cpu", *args)


def session(root: Path, device: str = "cpu", update: bool = False) -> Session:
    """A session made by hand, as the plugin makes one, for in-process checks."""
    project = load_project(root)
    assert project is not None
    return Session(Settings(project, device, update))


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """For rules checked as a page is read, with nothing run: the docs/ folder of a project
    made as ``project`` makes one (its pyproject.toml marks the root the cross-check renders in)."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "docs").mkdir()
    return tmp_path / "docs"


def checked(docs: Path, text: str, name: str = "page.md") -> list[tuple[str, str]]:
    """Write ``text`` as ``docs/name`` and judge each of its examples in-process (``judged``)."""
    path = docs / name
    path.write_text(textwrap.dedent(text))
    return judged(docs.parent, path)


def the_only_problem(path: Path, text: str) -> str:
    """Read ``text`` as ``path``: its one example must be a problem (the one test of the page,
    failed), returned as that test reports it: ``docs/page.md:3: message``."""
    examples = read_source(path, text).examples
    assert len(examples) == 1 and isinstance(examples[0], Problem), examples
    (problem,) = parse_problems(path, text)
    return problem


def test_good_page_passes(project):
    page(project, GOOD_PAGE)
    result = run(project)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["convdocs: device cpu, torch *, tolerance rtol=1e-06 atol=1e-08, paths docs"]
    )


def test_wrong_number_fails_with_page_line_and_both_outputs(docs):
    found = checked(docs, GOOD_PAGE.replace("4.2\n", "4.3\n"))
    assert counted(found) == {"passed": 1, "failed": 1}
    failure_lines(
        found,
        *[
            "*docs/page.md:9: the output differs from what the code prints (the project's default rtol/atol)*",
            "*line 2, column 1: expected '4.3', got '4.2' (beyond tolerance rtol=1e-06, atol=1e-08)*",
            "--- shown in the document",
            "x is 42",
            "4.3",
            "--- printed now",
            "x is 42",
            "4.2",
        ],
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("x is 42", "x was 42"),
            "*line 1, column 3: expected 'was', got 'is' (text must match exactly)*",
        ),
        (
            ("tensor([ 42., 105.])", "tensor([ 42., 105., 1.])"),
            "*line 1, column 19: expected ',', got ']' (text must match exactly)*",
        ),
        (
            ("x is 42\n4.2\n", "x is 42\n"),
            "*line 1, column 8: expected 'end of output', got 'a line break' (expected 1 line, got 2 lines)*",
        ),
        (
            ("4.2\n", "4.2\nmore\n"),
            "*line 2, column 4: expected 'a line break', got 'end of output' (expected 3 lines, got 2 lines)*",
        ),
        (("4.2\n", "4.21\n"), "*line 2, column 1: expected '4.21', got '4.2' (beyond tolerance*"),
    ],
    ids=["word", "element-count", "missing-line", "extra-line", "more-digits-than-printed"],
)
def test_other_changes_fail_and_name_the_difference(docs, edit, message):
    found = checked(docs, GOOD_PAGE.replace(*edit))
    assert counted(found) == {"passed": 1, "failed": 1}
    failure_lines(found, message)


def test_float_noise_and_device_suffix_pass(docs):
    found = checked(
        docs,
        """\
        ```python
        class Fake:
            def __repr__(self):
                return "tensor([0.33333334, 2.0000], device='cuda:0')"
        Fake()
        ```

        ```text
        tensor([0.3333333, 2.0000])
        ```
        """,
    )
    assert counted(found) == {"passed": 1}, found


def test_raising_cell_points_at_page_line(docs):
    found = checked(
        docs,
        """\
        # Raises

        ```python
        a = 1
        b = [][a]
        ```
        """,
    )
    assert counted(found) == {"failed": 1}
    failure_lines(
        found,
        "*the cell raised at docs/page.md:5*",
        '*File "docs/page.md", line 5, in <module>*',
        "*IndexError: list index out of range*",
    )


def test_syntax_error_points_at_page_line(docs):
    found = checked(docs, "text\n\n```python\nok = 1\ndef broken(:\n```\n")
    assert counted(found) == {"failed": 1}
    failure_lines(found, "*does not compile at docs/page.md:5*")


@pytest.mark.parametrize(
    "opening", ['```python title="demo.py"', "```py", "```{.python .numberLines}", "```python3"]
)
def test_every_python_fence_is_run(docs, opening):
    found = checked(docs, f"{opening}\nraise RuntimeError('ran')\n```\n")
    assert counted(found) == {"failed": 1}
    failure_lines(found, "*RuntimeError: ran*")


def test_cell_without_output_block_must_print_nothing(docs):
    found = checked(docs, "```python\nprint('surprise')\n```\n")
    assert counted(found) == {"failed": 1}
    failure_lines(found, "*(no output block)*", "*surprise*")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "Some prose.\n\n```text\norphan\n```\n",
            "*docs/page.md:3: a `text` block is an output block, but no Python cell*",
            id="output-block-without-a-cell",
        ),
        pytest.param(
            "```console\n$ python\n>>> 1 + 1\n2\n```\n",
            "*looks like a Python example but is not a `python` cell*",
            id="console-fence-doctest",
        ),
    ],
)
def test_blocks_that_are_not_cells_are_reported(docs, text, message):
    assert fnmatchcase(the_only_problem(docs / "page.md", text), message)


def test_skip_needs_a_marker_with_a_reason_and_is_reported(project):
    page(
        project,
        """\
        <!-- convdocs: skip reason="needs a webcam" -->
        ```python
        raise RuntimeError("never run")
        ```

        <!-- convdocs: skip -->
        ```python
        pass
        ```
        """,
    )
    result = run(project, "-rs")
    result.assert_outcomes(skipped=1, failed=1, passed=1)  # the marker fails; its cell runs
    result.stdout.fnmatch_lines(
        [
            '*docs/page.md:6: a skip marker needs a reason: <!-- convdocs: skip reason="..." -->*',
            "SKIPPED*docs/page.md:*: not run: needs a webcam*",
        ]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<!-- convdocs: skipp reason='x' -->\n```python\npass\n```\n",
            "*unknown convdocs marker 'skipp'*",
        ),
        ("<!-- convdocs: skip reason='x' -->\n\nprose\n", "*is not followed by a Python cell*"),
        (
            "<!-- convdocs: tolerance rtol=1e-3 -->\n```console\n$ ls\n```\n",
            "*must come right before a Python cell*",
        ),
    ],
    ids=["unknown", "dangling", "not-python"],
)
def test_bad_markers_fail(docs, text, message):
    assert_refused(docs / "page.md", text, message)


def test_source_marker_checks_the_package(docs):
    found = checked(
        docs,
        """\
        <!-- convdocs: source convdocs.correlation.corr2d -->
        ```python
        def corr2d(X, K):
            return "not the real code"
        ```
        """,
    )
    assert counted(found) == {"failed": 1}
    failure_lines(found, "*the code shown is not the source of convdocs.correlation.corr2d*")


def test_block_and_page_tolerance_markers(docs):
    body = "```python\nprint(1.0 + 0.004)\n```\n\n```text\n1.000\n```\n"
    pages = {
        "strict.md": body,
        "block.md": "<!-- convdocs: tolerance rtol=1e-2 -->\n" + body,
        "whole.md": "<!-- convdocs: page-tolerance atol=0.01 -->\n\n" + body,
        "gpu-only.md": "<!-- convdocs: page-tolerance rtol=1e-2 device=cuda -->\n\n" + body,
    }
    verdicts = {name: counted(checked(docs, text, name)) for name, text in pages.items()}
    assert verdicts == {
        "strict.md": {"failed": 1},
        "block.md": {"passed": 1},
        "whole.md": {"passed": 1},
        "gpu-only.md": {"failed": 1},
    }


def test_examples_of_a_page_share_a_namespace_and_pages_do_not(docs):
    found = checked(
        docs,
        "```python\nshared = 1\n```\n\n```python\nshared + 1\n```\n\n```text\n2\n```\n",
        "a.md",
    )
    found += checked(docs, "```python\n'shared' in globals()\n```\n\n```text\nFalse\n```\n", "b.md")
    assert counted(found) == {"passed": 3}, found


def test_print_options_and_seed_are_reset_per_page(docs):
    found = checked(
        docs, "```python\nimport torch\ntorch.set_printoptions(precision=1)\n```\n", "a.md"
    )
    found += checked(
        docs,
        "```python\nimport torch\ntorch.manual_seed(0)\nprint(torch.tensor([1/3]), torch.rand(1))\n```\n\n"
        "```text\ntensor([0.3333]) tensor([0.4963])\n```\n",
        "b.md",
    )
    assert counted(found) == {"passed": 2}, found


def test_update_mode_rewrites_only_what_differs_and_is_idempotent(project):
    original = GOOD_PAGE.replace("4.2\n", "4.5\n").replace("105.", "105.0000001")
    path = page(project, original)
    result = run(project, "--update-outputs")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*convdocs --update-outputs: rewrote 1 file(s)*", "  docs/page.md"]
    )
    updated = path.read_text()
    assert updated == original.replace("4.5\n", "4.2\n")  # the block within tolerance is untouched
    assert [p.name for p in path.parent.iterdir()] == ["page.md"]  # no temporary files left
    run(project, "--update-outputs").assert_outcomes(passed=2)
    assert path.read_text() == updated
    assert counted(judged(project.path, path)) == {"passed": 2}


def test_update_mode_adds_and_removes_blocks(project):
    path = page(
        project, "```python\nprint('hi')\n```\n\n```python\npass\n```\n\n```text\nstale\n```\n"
    )
    run(project, "--update-outputs").assert_outcomes(passed=2)
    assert (
        path.read_text()
        == "```python\nprint('hi')\n```\n\n```text\nhi\n```\n\n```python\npass\n```\n"
    )


def test_update_mode_keeps_crlf_line_endings(project):
    path = project.path / "docs" / "page.md"
    path.write_bytes(
        b"# CRLF\r\n\r\n```python\r\nprint('a')\r\nprint('b')\r\n```\r\n\r\n```text\r\nz\r\n```\r\n"
    )
    run(project, "--update-outputs").assert_outcomes(passed=1)
    assert (
        path.read_bytes()
        == b"# CRLF\r\n\r\n```python\r\nprint('a')\r\nprint('b')\r\n```\r\n\r\n```text\r\na\r\nb\r\n```\r\n"
    )
    assert counted(judged(project.path, path)) == {"passed": 1}


def test_update_mode_refuses_in_ci(project, monkeypatch):
    page(project, GOOD_PAGE)
    monkeypatch.setenv("CI", "true")
    result = run(project, "--update-outputs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refuses to run when CI is set*"])


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("tpu", "*--device expects cpu, cuda or cuda:N, got 'tpu'*"),
        ("meta", "*--device expects cpu, cuda or cuda:N, got 'meta'*"),
    ],
)
def test_unknown_device_is_a_usage_error_naming_it(project, device, message):
    page(project, GOOD_PAGE)
    result = project.runpytest("-p", "no:cacheprovider", "--device", device)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_passing_pages_are_recorded_and_an_edit_unverifies_the_stamp(project):
    path = page(project, GOOD_PAGE)
    page(project, GOOD_PAGE.replace("4.2\n", "4.3\n"), "broken.md")
    run(project).assert_outcomes(passed=3, failed=1)
    record_data = record.load(project.path / RECORD)
    assert set(record_data["documents"]) == {"docs/page.md"}  # the failing page is not recorded
    entry = record_data["documents"]["docs/page.md"]["cpu"]
    assert (entry["examples"], entry["passed"], entry["skipped"]) == (2, 2, 0)
    assert entry["outputs"] == ["x is 42\n4.2\n", "tensor([ 42., 105.])\n"]
    assert entry["fingerprint"] == fingerprint(
        read_source(path),
        "cpu",
        record.context(session(project.path).settings.project, entry["versions"]),
        root=project.path,
        files=entry["data_files"],
    )
    stamp = stamp_text(project.path, ["docs/page.md"])
    assert "2 examples · verified on CPU with torch" in stamp and "GPU: not run on one yet" in stamp
    path.write_text(GOOD_PAGE.replace("x / 10", "x / 10.0"))
    assert "CPU: not yet verified for this version of the page" in stamp_text(
        project.path, ["docs/page.md"]
    )


def test_changing_the_site_tolerance_unverifies_the_stamp(project):
    page(project, GOOD_PAGE)
    run(project).assert_outcomes(passed=2)
    assert "verified on CPU" in stamp_text(project.path, ["docs/page.md"])
    project.makepyprojecttoml(PYPROJECT + "rtol = 1e-3\n")
    assert "CPU: not yet verified" in stamp_text(project.path, ["docs/page.md"])


# --- outputs that differ by device ---------------------------------------------------------------


def test_device_tabs_on_the_cpu_check_the_cpu_tab_only(docs):
    found = checked(docs, TABS_PAGE)
    assert counted(found) == {"passed": 2}, found  # the GPU tab's text is never compared on the CPU
    found = checked(docs, TABS_PAGE.replace("running on cpu", "running on cuda"))
    assert counted(found) == {"passed": 1, "failed": 1}
    failure_lines(
        found, "*docs/page.md:16: the output (CPU tab) differs from what the code prints*"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('=== "GPU"', '=== "TPU"'), "*the device tabs after the cell at line 9 lack GPU*"),
        (
            ("    ```text\n    running on the moon\n    ```\n", "    Nothing here.\n"),
            '*the device tab "GPU" must hold one `text` output block*',
        ),
    ],
    ids=["missing-gpu-tab", "empty-gpu-tab"],
)
def test_incomplete_device_tabs_fail(docs, edit, message):
    assert_refused(docs / "page.md", TABS_PAGE.replace(*edit), message)


def test_cpu_update_rewrites_the_cpu_tab_and_leaves_the_gpu_tab(project):
    stale = TABS_PAGE.replace("running on cpu", "stale")
    path = page(project, stale)
    run(project, "--update-outputs").assert_outcomes(passed=2)
    assert path.read_text() == TABS_PAGE


@NEEDS_CUDA
def test_a_gpu_run_checks_and_updates_only_its_own_tabs(project):
    """The GPU side, simulated: a session on cuda:0 runs the same page on this CPU machine."""
    path = page(project, TABS_PAGE)
    assert failures_of(session(project.path, "cpu"), path) == []
    gpu_failures = failures_of(session(project.path, "cuda:0"), path)
    assert len(gpu_failures) == 1
    assert "docs/page.md:22: the output (GPU tab) differs" in gpu_failures[0]
    assert "first difference: line 1, column 12: expected 'the', got 'cuda'" in gpu_failures[0]

    updating = session(project.path, "cuda:0", update=True)
    assert failures_of(updating, path) == []
    assert updating.queue.apply() == [str(path)]
    assert path.read_text() == TABS_PAGE.replace("running on the moon", "running on cuda:0")
    assert failures_of(session(project.path, "cuda:0"), path) == []
    assert failures_of(session(project.path, "cpu"), path) == []


@NEEDS_CUDA
def test_a_gpu_update_does_not_rewrite_shared_outputs(project):
    text = TABS_PAGE.replace("same everywhere\n```", "shown wrong\n```")
    path = page(project, text)
    updating = session(project.path, "cuda:0", update=True)
    failures = failures_of(updating, path)
    assert len(failures) == 1  # the shared block; the GPU tab is rewritten
    assert "a run on cuda:0 rewrites only the blocks of its own device tab" in failures[0]
    updating.queue.apply()
    assert "shown wrong" in path.read_text() and "running on cuda:0" in path.read_text()


def test_a_gpu_tab_update_keeps_the_cpu_fingerprint(project):
    path = page(project, TABS_PAGE)
    context = {"rtol": 1e-6, "atol": 1e-8}
    before = {kind: fingerprint(read_source(path), kind, context) for kind in ("cpu", "cuda")}
    path.write_text(TABS_PAGE.replace("running on the moon", "running on cuda:0"))
    after = {kind: fingerprint(read_source(path), kind, context) for kind in ("cpu", "cuda")}
    assert after["cpu"] == before["cpu"] and after["cuda"] != before["cuda"]
    path.write_text(TABS_PAGE.replace("running on cpu", "running on a cpu"))
    assert fingerprint(read_source(path), "cpu", context) != before["cpu"]


# --- the installed checker ------------------------------------------------------------------------


def test_a_project_with_only_the_table_is_checked_and_fixed_byte_for_byte(project):
    """The entry point loads the plugin in a fresh process: no conftest.py anywhere. The three
    runs share that process (each its own pytest, loading the plugin from its entry point)."""
    right = GOOD_PAGE
    wrong = GOOD_PAGE.replace("x is 42\n4.2", "x is 41\n4.25").replace("105.]", "106.]")
    path = page(project, wrong)
    assert not list(project.path.rglob("conftest.py"))
    runs, _ = runs_in_a_fresh_process(
        project, ["--device", "cpu"], ["--device", "cpu", "--update-outputs"], []
    )
    assert runs == [
        (pytest.ExitCode.TESTS_FAILED, {"failed": 2}),  # checked
        (pytest.ExitCode.OK, {"passed": 2}),  # fixed
        (pytest.ExitCode.OK, {"passed": 2}),  # checked again, on the default device
    ]
    assert path.read_bytes() == right.encode()


def test_a_project_without_the_table_gets_nothing_collected(pytester):
    pytester.makepyprojecttoml("[tool.other]\nx = 1\n")
    (pytester.path / "docs").mkdir()
    (pytester.path / "docs" / "page.md").write_text(GOOD_PAGE.replace("4.2", "9.9"))
    (pytester.path / "README.md").write_text(GOOD_PAGE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*no tests ran*"])
    assert not (pytester.path / RECORD).exists()


def test_without_the_table_pytest_imports_no_torch_ipython_or_numpy(pytester):
    """Installed, the plugin costs a project without the table nothing heavy: pytest starts,
    loads the entry point and collects, and neither torch, IPython nor numpy is imported."""
    pytester.makepyprojecttoml("[tool.other]\nx = 1\n")
    pytester.makepyfile(test_one="def test_one():\n    assert True\n")
    result = pytester.runpython_c(
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider'])\n"
        "assert 'convdocs.verify.pytest_plugin' in sys.modules, 'the plugin was not loaded'\n"
        "print('heavy:', [m for m in ('torch', 'IPython', 'numpy') if m in sys.modules], code)\n"
    )
    result.stdout.fnmatch_lines(["*1 passed*", "heavy: [] 0"])


def test_a_table_without_a_record_file_writes_no_record(project):
    project.makepyprojecttoml(PYPROJECT.replace(f'record = "{RECORD}"\n', ""))
    page(project, GOOD_PAGE)
    run(project).assert_outcomes(passed=2)
    assert list(project.path.rglob("*.json")) == []


def test_only_the_listed_paths_are_collected(project):
    page(project, GOOD_PAGE)
    (project.path / "NOTES.md").write_text("```python\nraise RuntimeError\n```\n")
    run(project).assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'paths = ["docs"]\nrtl = 1e-3\n',
            "*accepts atol, outputs, paths, record, rtol, timeout, unchecked; got unknown key(s) rtl*",
        ),
        ('paths = ["nowhere"]\n', "*paths lists 'nowhere', which does not exist*"),
        ("paths = []\n", "*paths must be a non-empty list of file or folder names, got []*"),
        ('paths = ["docs"]\nrtol = "abc"\n', "*rtol must be a number, got 'abc'*"),
        ('paths = ["docs"]\natol = -1\n', "*atol must be a finite number >= 0, got -1*"),
        (
            'paths = ["docs"]\nrecord = "../record.json"\n',
            "*record must name a .json file inside the project*got '../record.json'*",
        ),
    ],
    ids=["unknown-key", "missing-path", "no-paths", "text-rtol", "negative-atol", "outside-record"],
)
def test_a_bad_table_is_a_usage_error(pytester, table, message):
    pytester.makepyprojecttoml("[tool.convdocs.verify]\n" + table)
    (pytester.path / "docs").mkdir()
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


# --- numbers in prose -----------------------------------------------------------------------------

PROSE_PAGE = """\
```python
losses = [19.1577, 0.13252566]
```

The loss falls from 19.16 to 0.133 in 20 epochs.
<!-- convdocs: prose 19.16=losses[0] 0.133=losses[-1] 20=len(losses)*10 -->
"""


def test_numbers_in_prose_are_checked_as_written(docs):
    assert counted(checked(docs, PROSE_PAGE)) == {"passed": 2}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("0.133 in", "0.132 in"),
            "*the prose marker checks 0.133, but the paragraph above it does not say that number*",
        ),
        (("len(losses)*10", "__import__('os')"), "*calls __import__, which a prose claim may not*"),
        (("19.16=", "nineteen="), "*the prose marker checks numbers, and 'nineteen' is not one*"),
    ],
    ids=["number-changed-in-prose", "hidden-code", "not-a-number-literal"],
)
def test_prose_markers_that_cannot_hold_fail(docs, edit, message):
    assert_refused(docs / "page.md", PROSE_PAGE.replace(*edit), message)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("0.133 in", "0.132 in", "0.133=", "0.132="),
            "*the paragraph above says 0.132, but losses[[]-1] is 0.13252566 (0.133 when written with the same digits)*",
        ),
        (("len(losses)*10", "losses"), "*the prose claim 20=losses is not a number*"),
    ],
    ids=["claim-changed-with-it", "not-a-number"],
)
def test_wrong_prose_numbers_fail(docs, edit, message):
    text = PROSE_PAGE
    for old, new in zip(edit[::2], edit[1::2], strict=True):
        text = text.replace(old, new)
    failure_lines(checked(docs, text), message)


def test_under_xdist_each_page_stays_on_one_worker_and_is_recorded(project):
    # Each cell uses what the one before it defined: a page split over workers would fail.
    chain = "".join(
        f"```python\nv{n} = {'v' + str(n - 1) + ' + 1' if n else '0'}\nprint(v{n})\n```\n\n"
        f"```text\n{n}\n```\n\n"
        for n in range(6)
    )
    for name in ("a.md", "b.md", "c.md"):
        page(project, "# A chain\n\n" + chain, name)
    # A plain subprocess: pytester's would write its stdout file into the project meanwhile.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--device", "cpu", "-n", "2"],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "18 passed" in result.stdout, result.stdout[-3000:]
    assert set(record.load(project.path / RECORD)["documents"]) == {
        "docs/a.md",
        "docs/b.md",
        "docs/c.md",
    }


# --- >>> sessions, as doctest runs them ------------------------------------------------------------

SESSIONS = """\
# Sessions

```pycon
>>> import torch
>>> x = torch.tensor([1.0, 2.0])
>>> x * 2
tensor([2., 4.])
>>> print("a", end=",")
a,
>>> list(range(30))
[0, 1, 2, ..., 29]
>>> {"b": 1, "a": 2}
{'b': 1, 'a': 2}
>>> 1 / 0
Traceback (most recent call last):
  ...
ZeroDivisionError: division by zero
```

A `python` fence that starts with `>>>` is a session too, in the same namespace:

```python
>>> x.sum()
tensor(3.)
>>> int("x")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
ValueError: another message
```
"""


def test_sessions_run_as_doctest_reads_them(docs):
    """pycon fences and python fences of >>> lines run example by example in the document's
    process: values as repr shows them, ELLIPSIS, exceptions by their last line, the tolerant
    and device-neutral comparison of floats."""
    found = checked(docs, SESSIONS)
    assert counted(found) == {"passed": 2}, found


def test_a_session_fails_once_at_its_first_difference(docs):
    found = checked(docs, "```pycon\n>>> y = 3\n>>> y\n4\n>>> y + 1\n5\n>>> 1 / 0\n2\n```\n")
    assert counted(found) == {"failed": 1}
    text = failure_lines(
        found,
        "*docs/page.md:3: the session's example >>> y",
        "*first difference: line 1, column 1: expected '4', got '3'*",
    )
    assert "y + 1" not in text  # one failure, at the first difference


@pytest.mark.parametrize(
    ("session", "message"),
    [
        (">>> 1 + 1\n3\n", ["*expected '3', got '2'*"]),
        (
            ">>> int('x')\n7\n",
            ["*it raised, where the session shows no traceback:", "ValueError: invalid literal*"],
        ),
        (
            ">>> 1 + 1\nTraceback (most recent call last):\nValueError: no\n",
            ["*expected it to raise ValueError: no; it raised nothing and printed:", "2"],
        ),
        (
            ">>> int('x')\nTraceback (most recent call last):\nValueError: no\n",
            ["*expected it to raise:", "ValueError: no", "it raised:", "*invalid literal*"],
        ),
        (
            ">>> print('abc')\na...d\n",
            ["--- shown in the session", "a...d", "--- printed now", "abc"],
        ),
    ],
    ids=["value", "unexpected-exception", "no-exception", "other-exception", "ellipsis"],
)
def test_a_session_that_prints_otherwise_fails(docs, session, message):
    found = checked(docs, f"```pycon\n{session}```\n")
    assert counted(found) == {"failed": 1}
    failure_lines(found, *message)


def test_a_docstring_session_sees_its_module_and_fails_once(docs, monkeypatch):
    """A docstring's >>> lines run as doctest runs them, with the module's names, and fail
    once per docstring, at the first example that differs."""
    root = docs.parent
    (root / "pyproject.toml").write_text(
        PYPROJECT.replace('paths = ["docs"]', 'paths = ["docs", "mod.py"]')
    )
    (root / "mod.py").write_text(
        'def double(x):\n    """Twice x.\n\n    >>> double(2)\n    4\n    >>> double(2.5)\n'
        '    5.0\n    """\n    return 2 * x\n\n\n'
        'def half(x):\n    """Half x.\n\n    >>> half(4)\n    2.0\n    >>> half(1)\n    0.4\n'
        '    >>> half(2)\n    9\n    """\n    return x / 2\n'
    )
    monkeypatch.syspath_prepend(str(root))
    found = judged(root, root / "mod.py")
    assert counted(found) == {"passed": 1, "failed": 1}
    text = failure_lines(found, "*mod.py:17: the session's example >>> half(1)*")
    assert "half(2)" not in text


# --- notebooks, as Jupyter runs them -------------------------------------------------------------


def _notebook(docs: Path, *cells: tuple[str, str, list[dict], list[str]]) -> Path:
    """A notebook in ``docs`` of ``(cell_type, source, outputs, tags)`` cells, written by nbformat."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    for kind, source, outputs, tags in cells:
        if kind == "markdown":
            notebook.cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        notebook.cells.append(cell)
    path = docs / "nb.ipynb"
    nbformat.write(notebook, str(path))
    return path


def _out(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_a_notebook_runs_as_jupyter_runs_it(docs):
    """Magics, a display formatter the notebook sets, the notebook's folder as the working
    directory (a file beside it reads), stderr as a stream of its own, nbval's tags, and a skip
    marker before a python fence of a markdown cell."""
    (docs / "data.txt").write_text("beside the notebook\n")
    path = _notebook(
        docs,
        (
            "code",
            "%matplotlib inline\n%timeit -n 1 -r 1 sum(range(10))\nx = 1",
            [],
            ["nbval-ignore-output"],
        ),
        ("code", "print(open('data.txt').read(), end='')", [_out("beside the notebook\n")], []),
        (
            "code",
            "import sys\nprint('warn', file=sys.stderr)\nprint('out')",
            [_out("out\n"), _out("warn\n", "stderr")],
            [],
        ),
        (
            "code",
            "ip = get_ipython()\nip.display_formatter.formatters['text/plain'].for_type(int, lambda n, p, c: p.text(f'int {n}'))\n7",
            [
                {
                    "output_type": "execute_result",
                    "data": {"text/plain": "int 7"},
                    "metadata": {},
                    "execution_count": 4,
                }
            ],
            [],
        ),
        ("code", "raise ValueError('expected')", [], ["raises-exception"]),
        ("code", "print('never')", [], ["nbval-skip"]),
        (
            "markdown",
            '<!-- convdocs: skip reason="shown for reading" -->\n```python\nimport this\n```\n\n```bash\nls\n```',
            [],
            [],
        ),
    )
    found = judged(docs.parent, path)
    assert counted(found) == {"passed": 4, "skipped": 2}, found
    assert any(
        fnmatchcase(reason, "*not run: the cell is tagged nbval-skip*")
        for outcome, reason in found
        if outcome == "skipped"
    ), found


def test_a_notebook_cell_cannot_write_beside_it(docs):
    path = _notebook(docs, ("code", "open('new.txt', 'w').write('x')", [], []))
    found = judged(docs.parent, path)
    assert counted(found) == {"failed": 1}
    failure_lines(found, "*examples may not change files of the project (docs/new.txt)*")
    assert not (docs / "new.txt").exists()


def test_after_a_failing_notebook_cell_the_rest_is_skipped_visibly(docs):
    path = _notebook(
        docs,
        ("code", "y = undefined_name", [], []),
        ("code", "print(y)", [_out("1\n")], []),
        ("code", "print(2)", [_out("2\n")], []),
    )
    found = judged(docs.parent, path)
    assert [outcome for outcome, _ in found] == ["failed", "skipped", "skipped"]
    for _, reason in found[1:]:
        assert fnmatchcase(
            reason,
            "*not run: the example at docs/nb.ipynb:* failed, and a notebook's later cells build on it*",
        ), reason


def test_the_update_keeps_stderr_a_stream_of_its_own(project):
    import nbformat

    path = _notebook(
        project.path / "docs",
        ("code", "import sys\nprint('a')\nprint('b', file=sys.stderr)", [_out("old\n")], []),
    )
    run(project, "--update-outputs").assert_outcomes(passed=1)
    outputs = nbformat.read(str(path), as_version=4).cells[0].outputs
    assert [(o.name, o.text) for o in outputs] == [("stdout", "a\n"), ("stderr", "b\n")]
    assert counted(judged(project.path, path)) == {"passed": 1}


# --- output blocks in the forms other projects write them ------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        "```\n42\n```\n",
        "```output\n42\n```\n",
        "Output:\n\n```text\n42\n```\n",
        "**Output:**\n```\n42\n```\n",
    ],
    ids=["bare-fence", "output-fence", "label-line", "bold-label"],
)
def test_an_output_block_in_another_form_is_compared_and_updated_in_place(project, output):
    path = page(project, "```python\nprint(6 * 7)\n```\n\n" + output)
    assert counted(judged(project.path, path)) == {"passed": 1}
    path.write_text(path.read_text().replace("42", "41"))
    found = judged(project.path, path)
    assert counted(found) == {"failed": 1}
    failure_lines(found, "*expected '41', got '42'*")
    run(project, "--update-outputs").assert_outcomes(passed=1)  # the update mode's write
    assert path.read_text() == "```python\nprint(6 * 7)\n```\n\n" + output  # rewritten in place


def _outputs_table(project: pytest.Pytester, outputs: str) -> None:
    project.makepyprojecttoml(PYPROJECT + f"outputs = {outputs}\n")


def test_the_table_names_the_forms_of_an_output_block(project):
    """A project whose bare fences are not outputs says so; its update writes its own form."""
    _outputs_table(project, '["output", "Résultat:"]')
    bare = page(project, "```python\nprint(6 * 7)\n```\n\n```\n42\n```\n", "bare.md")
    failure_lines(
        judged(project.path, bare),
        "*a `plain` block right after the cell*is no output block of this project*",
    )
    labelled = page(
        project,
        "```python\nprint(6 * 7)\n```\n\n**Résultat :**\n```output\n42\n```\n",
        "labelled.md",
    )
    # "Résultat :" is no label: the cell shows no output, and the block after it runs nothing
    assert counted(judged(project.path, labelled)) == {"failed": 2}
    labelled.write_text(labelled.read_text().replace("Résultat :", "Résultat:"))
    assert counted(judged(project.path, labelled)) == {"passed": 1}
    path = page(project, "```python\nprint(6 * 7)\n```\n", "new.md")
    before = bare.read_text()
    run(project, "--update-outputs").assert_outcomes(passed=2, failed=2)  # bare.md's two
    assert bare.read_text() == before  # a document with a problem is not rewritten
    assert path.read_text() == "```python\nprint(6 * 7)\n```\n\n```output\n42\n```\n"


@pytest.mark.parametrize("outputs", ['"text"', '["text", 3]', '["Output: "]', '[":"]'])
def test_forms_of_an_output_block_that_are_none_are_refused_up_front(project, outputs):
    _outputs_table(project, outputs)
    page(project, GOOD_PAGE)
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*outputs must be a list of fence languages*"])


# --- what a second look at sessions and notebooks found (each once let shown text through) ---------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "```pycon\n>>> 1 + 1\n2\n\nthis is fake output 99\n>>> 2\n2\n```\n",
            "*docs/page.md:5: this line of the session is neither*fake output 99*",
        ),
        (
            "```python\n>>> x = 1\n\nprint('never run')\n```\n",
            "*docs/page.md:4: this line of the session is neither*never run*",
        ),
        (
            "```pycon\nPython 3.12 banner, result 42\n>>> 1 + 1\n2\n```\n",
            "*docs/page.md:2: this line of the session is neither*banner*",
        ),
        (
            "```pycon\naccuracy: 0.99\n```\n",
            "*docs/page.md:2: this line of the session is neither*accuracy*",
        ),
        (
            "```pycon\n>>> # train the model\nfinal accuracy 0.99\n>>> 1 + 1\n2\n```\n",
            "*docs/page.md:3: this line of the session is neither*final accuracy*",
        ),
        (
            "```python\n# a score\n>>> def f():\n...     return 12\n>>> f()\n99\n```\n",
            "*this python fence has*prompts after its first line*",
        ),
        (
            "```python\nIn [1]: f = 12\n\nIn [2]: f\nOut[2]: 99\n```\n",
            "*this python fence has*prompts after its first line*",
        ),
        (
            "<!-- convdocs: figure figures/x.png -->\n```pycon\n>>> 1\n1\n```\n\n![x](figures/x.png)\n",
            "*a figure marker applies to a python cell, not to a session*",
        ),
        (
            "```pycon\n>>> import matplotlib.pyplot as plt\n>>> _ = plt.plot([1, 2])\n```\n",
            "*draws a figure: draw it in a python cell with a figure marker*",
        ),
        ("```pycon\n>>>print(1)\n1\n```\n", "*doctest cannot read this session*"),
    ],
    ids=[
        "blank-then-text",
        "python-session-then-code",
        "banner",
        "no-example",
        "comment-example",
        "prompt-on-line-2",
        "ipython-prompts",
        "figure-marker",
        "figure-drawn",
        "no-space",
    ],
)
def test_session_text_that_nothing_checks_fails(docs, text, message):
    failure_lines(checked(docs, text), message)


def test_a_session_skips_what_doctest_skips_and_ellipsis_covers_both_runs(docs):
    found = checked(
        docs,
        "```pycon\n>>> print(2)  # doctest: +SKIP\n999\n>>> import torch\n"
        ">>> torch.Generator()\n<torch._C.Generator object at 0x...>\n```\n",
    )
    assert counted(found) == {"passed": 1}, found


def test_two_prompts_on_a_line_of_prose_are_one_problem(docs):
    assert counted(checked(docs, "Type a >>> b or 3 >>> 2 in prose.\n")) == {"failed": 1}


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            ("code", "print(1)", [_out("accuracy 0.99\n")], ["nbval-skip"]),
            "*tagged nbval-skip, yet it shows stored outputs*",
        ),
        (
            (
                "code",
                "int('x')",
                [{"output_type": "error", "ename": "KeyError", "evalue": "99%", "traceback": []}],
                ["raises-exception"],
            ),
            "*the cell raised ValueError: invalid literal*; its stored error is KeyError: 99%*",
        ),
        (
            (
                "code",
                "1",
                [
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": "1", "text/html": "<b>0.99</b>"},
                        "metadata": {},
                        "execution_count": 1,
                    }
                ],
                [],
            ),
            "*(cell 0): the stored text/html differs from what the cell shows*",
        ),
        (
            (
                "markdown",
                '<!-- convdocs: skip reason="shown" -->\n```python\nprint(1)\n```\n\n```text\naccuracy 0.99\n```',
                [],
                [],
            ),
            "*a skipped cell cannot show an output block*",
        ),
    ],
    ids=["skip-with-outputs", "other-error", "html-result", "markdown-skip-with-output"],
)
def test_notebook_outputs_that_nothing_checks_fail(docs, cell, message):
    path = _notebook(docs, cell, ("code", "2", [], []))
    failure_lines(judged(docs.parent, path), message)


def test_an_ignored_output_is_reported_as_not_compared(docs):
    path = _notebook(docs, ("code", "print(1)", [_out("accuracy 0.99\n")], ["nbval-ignore-output"]))
    found = judged(docs.parent, path)
    assert [outcome for outcome, _ in found] == ["skipped"], found
    assert fnmatchcase(
        found[0][1], "*ran, outputs not compared: the cell is tagged nbval-ignore-output*"
    ), found


def test_a_recorded_session_and_an_uncompared_notebook_cell_vouch_for_their_documents(project):
    """The record holds what a session printed and what a nbval-ignore-output cell printed; the
    stamp reads neither against an output block (a session has none; the other is not compared)."""
    page(project, "```pycon\n>>> 6 * 7\n42\n```\n")
    _notebook(
        project.path / "docs",
        ("code", "print(1)", [_out("varies\n")], ["nbval-ignore-output"]),
        ("code", "print(2)", [_out("2\n")], []),
    )
    run(project).assert_outcomes(passed=2, skipped=1)
    data, table = record.load(project.path / RECORD), load_project(project.path)
    assert table is not None
    for document in ("docs/page.md", "docs/nb.ipynb"):
        assert set(record.valid_runs(data, table, document)) == {"cpu"}, document
