"""The verification machinery run on small pages of its own, through pytest (pytester)."""

from __future__ import annotations

import os
import textwrap
from dataclasses import replace

import pytest

from convdocs.verify import rewrite, settings

pytest_plugins = ["pytester"]

CONFTEST = """
from pathlib import Path
from convdocs.verify.collect import examples
pytest_plugins = ["convdocs.verify.pytest_plugin"]
pytest_collect_file = examples(str(Path(__file__).parent)).pytest()
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

Plain text is fine in another language:

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


@pytest.fixture
def project(pytester, monkeypatch):
    """A throw-away project with the convdocs conftest; restores the process-wide settings."""
    saved = replace(settings.current)
    saved_env = os.environ.get("CONVDOCS_DEVICE")
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(conftest=CONFTEST)
    (pytester.path / "docs").mkdir()
    yield pytester
    settings.current.__dict__.update(saved.__dict__)  # the object other modules imported
    rewrite.pending.clear()
    if saved_env is None:
        os.environ.pop("CONVDOCS_DEVICE", None)
    else:
        os.environ["CONVDOCS_DEVICE"] = saved_env


def page(project, text, name="page.md"):
    path = project.path / "docs" / name
    path.write_text(textwrap.dedent(text))
    return path


def run(project, *args):
    return project.runpytest("-p", "no:cacheprovider", *args)


def test_good_page_passes(project):
    page(project, GOOD_PAGE)
    run(project).assert_outcomes(passed=2)


def test_wrong_number_fails_with_page_line_and_both_outputs(project):
    page(project, GOOD_PAGE.replace("4.2\n", "4.3\n"))
    result = run(project)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*docs/page.md:9: the output differs from what the code prints*",
        "*line 2, column 1: expected '4.3', got '4.2'*",
        "--- shown on the page",
        "x is 42",
        "4.3",
        "--- printed now",
    ])


@pytest.mark.parametrize(
    "edit",
    [("x is 42", "x was 42"), ("tensor([ 42., 105.])", "tensor([ 42., 105., 1.])"),
     ("x is 42\n4.2\n", "x is 42\n"), ("4.2\n", "4.2\nmore\n")],
    ids=["word", "element-count", "missing-line", "extra-line"],
)
def test_other_changes_fail(project, edit):
    page(project, GOOD_PAGE.replace(*edit))
    run(project).assert_outcomes(passed=1, failed=1)


def test_float_noise_and_device_suffix_pass(project):
    page(project, """\
        ```python
        class Fake:
            def __repr__(self):
                return "tensor([0.33333334, 2.0000], device='cuda:0')"
        Fake()
        ```

        ```text
        tensor([0.3333333, 2.0000])
        ```
        """)
    run(project).assert_outcomes(passed=1)


def test_raising_cell_points_at_page_line(project):
    page(project, """\
        # Raises

        ```python
        a = 1
        b = [][a]
        ```
        """)
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*the cell raised at docs/page.md:5*",
        '*File "docs/page.md", line 5, in <module>*',
        "*IndexError: list index out of range*",
    ])


def test_syntax_error_points_at_page_line(project):
    page(project, "text\n\n```python\nok = 1\ndef broken(:\n```\n")
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*does not compile at docs/page.md:5*"])


@pytest.mark.parametrize("opening", ['```python title="demo.py"', "```py", "```{.python .numberLines}", "```python3"])
def test_every_python_fence_is_run(project, opening):
    page(project, f"{opening}\nraise RuntimeError('ran')\n```\n")
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*RuntimeError: ran*"])


def test_cell_without_output_block_must_print_nothing(project):
    page(project, "```python\nprint('surprise')\n```\n")
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*(no output block)*", "*surprise*"])


def test_output_block_without_a_cell_is_reported(project):
    page(project, "Some prose.\n\n```text\norphan\n```\n")
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*docs/page.md:3: a `text` block is an output block, but no Python cell*"])


@pytest.mark.parametrize("fence", ["```pycon\n>>> 1 + 1\n2\n```\n", "```\n>>> 1 + 1\n2\n```\n"])
def test_doctest_looking_blocks_are_reported(project, fence):
    page(project, fence)
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*looks like a Python example but is not a `python` cell*"])


def test_skip_needs_a_marker_with_a_reason_and_is_reported(project):
    page(project, """\
        <!-- convdocs: skip reason="needs a webcam" -->
        ```python
        raise RuntimeError("never run")
        ```

        <!-- convdocs: skip -->
        ```python
        pass
        ```
        """)
    result = run(project, "-rs")
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*a skip marker needs a reason*", "SKIPPED*docs/page.md:*: not run: needs a webcam*"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- convdocs: skipp reason='x' -->\n```python\npass\n```\n", "*unknown convdocs marker 'skipp'*"),
        ("<!-- convdocs: skip reason='x' -->\n\nprose\n", "*is not followed by a Python cell*"),
        ("<!-- convdocs: skip reason='x' -->\n```console\n$ ls\n```\n", "*must come right before a Python cell*"),
    ],
    ids=["unknown", "dangling", "not-python"],
)
def test_bad_markers_fail(project, text, message):
    page(project, text)
    result = run(project)
    assert result.ret != 0
    result.stdout.fnmatch_lines([message])


def test_source_marker_checks_the_package(project):
    page(project, """\
        <!-- convdocs: source convdocs.correlation.corr2d -->
        ```python
        def corr2d(X, K):
            return "not the real code"
        ```
        """)
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the code shown is not the source of convdocs.correlation.corr2d*"])


def test_block_and_page_tolerance_markers(project):
    body = "```python\nprint(1.0 + 0.004)\n```\n\n```text\n1.000\n```\n"
    page(project, body, "strict.md")
    page(project, "<!-- convdocs: tolerance rtol=1e-2 -->\n" + body, "block.md")
    page(project, "<!-- convdocs: page-tolerance atol=0.01 -->\n\n" + body, "whole.md")
    page(project, "<!-- convdocs: page-tolerance rtol=1e-2 device=cuda -->\n\n" + body, "gpu-only.md")
    result = run(project, "-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*strict.md*FAILED*"], consecutive=False)
    result.stdout.fnmatch_lines(["*gpu-only.md*FAILED*"], consecutive=False)


def test_examples_of_a_page_share_a_namespace_and_pages_do_not(project):
    page(project, "```python\nshared = 1\n```\n\n```python\nshared + 1\n```\n\n```text\n2\n```\n", "a.md")
    page(project, "```python\n'shared' in globals()\n```\n\n```text\nFalse\n```\n", "b.md")
    run(project).assert_outcomes(passed=3)


def test_print_options_and_seed_are_reset_per_page(project):
    page(project, "```python\nimport torch\ntorch.set_printoptions(precision=1)\n```\n", "a.md")
    page(project, "```python\nimport torch\nprint(torch.tensor([1/3]), torch.rand(1))\n```\n\n"
                  "```text\ntensor([0.3333]) tensor([0.4963])\n```\n", "b.md")
    run(project).assert_outcomes(passed=2)


def test_update_mode_rewrites_only_what_differs_and_is_idempotent(project):
    original = GOOD_PAGE.replace("4.2\n", "4.5\n").replace("105.", "105.0000001")
    path = page(project, original)
    result = run(project, "--update-outputs")
    result.assert_outcomes(passed=2)
    updated = path.read_text()
    assert updated == original.replace("4.5\n", "4.2\n")  # the block within tolerance is untouched
    assert [p.name for p in path.parent.iterdir()] == ["page.md"]  # no temporary files left
    run(project, "--update-outputs").assert_outcomes(passed=2)
    assert path.read_text() == updated
    run(project).assert_outcomes(passed=2)


def test_update_mode_adds_and_removes_blocks(project):
    path = page(project, "```python\nprint('hi')\n```\n\n```python\npass\n```\n\n```text\nstale\n```\n")
    run(project, "--update-outputs").assert_outcomes(passed=2)
    assert path.read_text() == "```python\nprint('hi')\n```\n\n```text\nhi\n```\n\n```python\npass\n```\n"


def test_update_mode_refuses_in_ci(project, monkeypatch):
    page(project, GOOD_PAGE)
    monkeypatch.setenv("CI", "true")
    result = run(project, "--update-outputs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refuses to run when CI is set*"])


def test_unknown_device_is_a_usage_error(project):
    page(project, GOOD_PAGE)
    result = run(project, "--device", "tpu")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_passing_pages_are_recorded_and_an_edit_unverifies_the_stamp(project):
    from convdocs.verify import record
    from convdocs.verify.mkdocs_hooks import stamp_html

    path = page(project, GOOD_PAGE)
    page(project, GOOD_PAGE.replace("4.2\n", "4.3\n"), "broken.md")
    run(project).assert_outcomes(passed=3, failed=1)
    book = record.load(project.path)
    assert set(book["pages"]) == {"docs/page.md"}  # the failing page is not recorded
    entry = book["pages"]["docs/page.md"]
    assert entry["examples"] == 2 and entry["runs"]["cpu"]["torch"]
    stamp = stamp_html(project.path, ["docs/page.md"])
    assert "2 examples · verified on CPU" in stamp and "GPU: not yet verified" in stamp
    path.write_text(GOOD_PAGE.replace("x / 10", "x / 10.0"))
    assert "CPU: not yet verified for this version of the page" in stamp_html(project.path, ["docs/page.md"])
