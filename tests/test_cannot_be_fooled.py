"""The checker cannot be fooled: one test (or a few) per family of the adversarial review.

Each case is what a hostile or careless author would write to make a page show what its code
does not print. Every one must end as a clear failure that names the page and line, or as a
visible skip; none may pass silently. What the checker refuses as it reads a page (a problem
found before anything runs) is checked in-process on ``read_source``. A page's verdict is
checked in-process too, by a ``Session`` of the test's own (``judged``: each document still runs
in processes of its own); what is about pytest itself (the record and stamps a run writes at its
end, the update mode's writes, exit codes, collection) runs pytest, in throw-away projects. All
on the CPU, in projects that opt in with their own pyproject.toml table.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from convdocs.verify import record
from tests.conftest import (
    assert_refused,
    counted,
    failure_lines,
    judged,
    runs_in_a_fresh_process,
    stamp_text,
)

pytest_plugins = ["pytester"]

RECORD = "verification-record.json"
PYPROJECT = f"""\
[tool.convdocs.verify]
paths = ["docs"]
record = "{RECORD}"
"""

CELL = "```python\nprint(1 + 1)\n```\n\n```text\n2\n```\n"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CONVDOCS_DEVICE", raising=False)
    pytester.makepyprojecttoml(PYPROJECT)
    (pytester.path / "docs").mkdir()
    return pytester


def page(project: pytest.Pytester, text: str, name: str = "page.md") -> Path:
    path = project.path / "docs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", "no:cacheprovider", "--device", "cpu", *args)


def fails(project: pytest.Pytester, *messages: str, args: tuple[str, ...] = ()) -> pytest.RunResult:
    """Run, and check that the run fails with every message (fnmatch patterns) in its output."""
    result = run(project, *args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.stdout.fnmatch_lines(list(messages), consecutive=False)
    return result


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """For rules checked as a page is read, with nothing run: the docs/ folder of a project
    made as ``project`` makes one (its pyproject.toml marks the root the cross-check renders in)."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "docs").mkdir()
    return tmp_path / "docs"


def checked(
    docs: Path, text: str, name: str = "page.md", *, update: bool = False
) -> list[tuple[str, str]]:
    """Write ``text`` as ``docs/name`` and judge each of its examples in-process (``judged``),
    in update mode when ``update`` (its edits applied, as a run applies them at its end)."""
    path = docs / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return judged(docs.parent, path, update=update)


def fails_here(
    docs: Path, text: str, *messages: str, name: str = "page.md"
) -> list[tuple[str, str]]:
    """Judge ``text`` as ``docs/name``: an example must fail, and the failures must hold every
    message (fnmatch patterns, in order, as ``fails`` reads a run's output)."""
    found = checked(docs, text, name)
    failure_lines(found, *messages)
    return found


def refused(path: Path, text: str, *messages: str) -> None:
    """Check that reading ``text`` as ``path`` finds a problem matching each of ``messages``
    (fnmatch patterns on ``docs/page.md:LINE: message``, as its failing test reports it)."""
    assert_refused(path, textwrap.dedent(text), *messages)


# --- 1. wrong numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "shown", "message"),
    [
        (
            'print("convdocs 0.1.0")',
            "convdocs 0.14.0",
            "*expected '0.14.0', got '0.1.0' (text must match exactly)*",
        ),
        ('print("torch 2.13.0")', "torch 2.1.0", "*expected '2.1.0', got '2.13.0'*"),
        ("print(1e-5)", "5e-06", "*expected '5e-06', got '1e-05' (beyond tolerance*"),
        ('print("lr", 0.03)', "lr 0.034", "*expected '0.034', got '0.03' (beyond tolerance*"),
        ('print("x =", 3.14159)', "x = 3.1", "*expected '3.1', got '3.14159' (beyond tolerance*"),
        ("print(0.011)", "0.01", "*expected '0.01', got '0.011' (beyond tolerance*"),
        ('print("conv2d")', "conv3d", "*expected 'conv3d', got 'conv2d'*"),
    ],
    ids=[
        "version",
        "torch-version",
        "exponent",
        "lr-digit",
        "fewer-digits",
        "dropped-digit",
        "identifier",
    ],
)
def test_wrong_numbers_fail(docs, code, shown, message):
    fails_here(
        docs,
        f"```python\n{code}\n```\n\n```text\n{shown}\n```\n",
        "*docs/page.md:5: the output differs from what the code prints*",
        message,
    )


# --- 2. the stamp covers what the page depends on ----------------------------------------------


def _stamped(project: pytest.Pytester) -> str:
    return stamp_text(project.path, ["docs/page.md"])


def test_changing_the_package_unverifies_the_stamp(project):
    (project.path / "mypkg").mkdir()
    (project.path / "mypkg" / "__init__.py").write_text("from mypkg.core import kernel\n")
    (project.path / "mypkg" / "core.py").write_text("def kernel():\n    return [1, -1]\n")
    page(
        project,
        "```python\nfrom mypkg import kernel\nprint(kernel())\n```\n\n```text\n[1, -1]\n```\n",
    )
    project.syspathinsert(project.path)
    run(project).assert_outcomes(passed=1)
    assert "verified on CPU" in _stamped(project)
    (project.path / "mypkg" / "core.py").write_text("def kernel():\n    return [1, 1]\n")
    assert "CPU: not yet verified" in _stamped(project)


def test_a_module_imported_and_then_dropped_from_sys_modules_is_still_a_dependency(project):
    """A page that removes its module from ``sys.modules`` after importing it (from its
    bytecode cache, so that its source is never opened) still depends on it."""
    import py_compile

    (project.path / "helper.py").write_text("VALUE = 1\n")
    py_compile.compile(str(project.path / "helper.py"), doraise=True)
    page(
        project,
        "```python\nimport sys\nimport helper\nprint(helper.VALUE)\n"
        'del sys.modules["helper"], helper\n```\n\n```text\n1\n```\n',
    )
    project.syspathinsert(project.path)
    run(project).assert_outcomes(passed=1)
    assert "verified on CPU" in _stamped(project)
    (project.path / "helper.py").write_text("VALUE = 2\n")
    assert "CPU: not yet verified" in _stamped(project)


def test_blackening_a_figure_unverifies_the_stamp(project):
    page(
        project,
        """\
        <!-- convdocs: figure figures/line.png -->
        ```python
        import matplotlib.pyplot as plt
        plt.figure(figsize=(2, 2)).gca().plot([0, 1], [0, 1]);
        ```

        ![a diagonal line](figures/line.png)
        """,
    )
    run(project, "--update-outputs").assert_outcomes(passed=1)
    run(project).assert_outcomes(passed=1)
    assert "verified on CPU" in _stamped(project)
    figure = project.path / "docs" / "figures" / "line.png"
    figure.write_bytes(figure.read_bytes()[:-20] + bytes(20))
    assert "CPU: not yet verified" in _stamped(project)


def test_changing_a_data_file_the_page_reads_unverifies_the_stamp(project):
    data = project.path / "docs" / "numbers.json"
    data.write_text("[1, 2]")
    page(
        project,
        f"```python\nimport json\nwith open({str(data)!r}) as f:\n    print(json.load(f))\n```\n\n```text\n[1, 2]\n```\n",
    )
    run(project).assert_outcomes(passed=1)
    assert record.load(project.path / RECORD)["documents"]["docs/page.md"]["cpu"]["data_files"] == [
        "docs/numbers.json"
    ]
    assert "verified on CPU" in _stamped(project)
    data.write_text("[1, 3]")
    assert "CPU: not yet verified" in _stamped(project)


def test_loosening_the_site_tolerance_unverifies_the_stamp_and_the_stamp_names_it(project):
    page(project, CELL)
    run(project).assert_outcomes(passed=1)
    assert "Outputs are compared with rtol=1e-06, atol=1e-08" in _stamped(project)
    project.makepyprojecttoml(PYPROJECT + "rtol = 1e-3\n")
    assert "CPU: not yet verified" in _stamped(project)


# --- 3. hidden code -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "messages"),
    [
        pytest.param(
            """\
            <!--
            ```python
            import torch
            torch.set_printoptions(precision=1)
            ```
            -->

            ```python
            import torch
            torch.tensor([1 / 3])
            ```

            ```text
            tensor([0.3333])
            ```
            """,
            (
                "*the document's code blocks are not what its Markdown renders:*",
                "*line 2: the checker reads a block 'import torch' here that the rendered document does not show*",
            ),
            id="python-fence-in-a-comment",
        ),
        pytest.param(
            """\
            <!-- a comment that hides the marker's warning box
            <!-- convdocs: skip reason="hidden" -->
            ```python
            print("runs")
            ```
            """,
            ("*docs/page.md:2: a convdocs marker inside another HTML comment*",),
            id="skip-marker-in-a-comment",
        ),
        pytest.param(
            '<!-- convdocs: skip reason="slow" -->\n```python\nprint(2)\n```\n\n```text\n3\n```\n',
            ("*docs/page.md:2: a skipped cell cannot show an output block*",),
            id="skipped-cell-with-an-output",
        ),
    ],
)
def test_hidden_code_fails(docs, text, messages):
    refused(docs / "page.md", text, *messages)


# --- 4. nothing the site shows as Python is skipped silently --------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```python2\nprint 1\n```\n", "*is shown as Python 2, which the checker cannot run*"),
        (
            "> ```python\n> print(1)\n> ```\n",
            "*the rendered document shows a code block 'print(1)' after line 1 that the checker does not read*",
        ),
        (
            "| input |\n| --- |\n| >>> 1 + 1 |\n",
            "*a `>>>` example outside a fence is shown but never run*",
        ),
        (
            "```python\nprint(7)\n```\n\n```console\n8\n```\n",
            "*a `console` block right after the cell at line 1 looks like its output*",
        ),
    ],
    ids=["python2", "blockquote", "doctest-in-a-table", "console-after-cell"],
)
def test_python_that_would_not_run_fails(docs, text, message):
    refused(docs / "page.md", text, message)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            textwrap.dedent('''\
            def f():
                """Return 1.

                <!-- convdocs: skip reason="trust me" -->
                ```python
                f()
                ```

                ```text
                2
                ```
                """
                return 1
            '''),
            "*mod.py:5: a skipped cell cannot show an output block*",
            id="skipped-example-with-an-output",
        ),
    ],
)
def test_bad_docstring_examples_fail(docs, source, message):
    assert_refused(docs.parent / "mod.py", source, message)


def _markdown_cell_with_python() -> str:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("Run this:\n\n```python\nprint(3)\n```"),
            nbformat.v4.new_code_cell("1"),
        ]
    )
    notebook.cells[1].outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1)
    ]
    return nbformat.writes(notebook)


def _loose_page_tolerance() -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    notebook.metadata["convdocs"] = {"page-tolerance": [{"rtol": 1e9}]}
    return nbformat.writes(notebook)


@pytest.mark.parametrize(
    ("notebook", "message"),
    [
        pytest.param(
            _markdown_cell_with_python,
            "*docs/n.ipynb:*a python fence at line 3 of this markdown cell is shown but never run*",
            id="python-in-a-markdown-cell",
        ),
        pytest.param(
            _loose_page_tolerance,
            "*rtol=1000000000.0 is above the limit of 0.1*",
            id="loose-page-tolerance",
        ),
    ],
)
def test_bad_notebooks_fail(docs, notebook, message):
    assert_refused(docs / "n.ipynb", notebook(), message)


@pytest.mark.parametrize(
    "opening", ["```py3", "```pyi", "```ipython3", '```{title="a.b" .python}', "```.python"]
)
def test_every_fence_the_site_highlights_as_python_runs(docs, opening):
    fails_here(docs, f"{opening}\nraise RuntimeError('ran')\n```\n", "*RuntimeError: ran*")


def test_every_markdown_suffix_mkdocs_renders_is_checked(project):
    # About pytest's collection: one run, whose every page must fail on its own line.
    suffixes = (".markdown", ".mdown", ".mkd")
    for suffix in suffixes:
        page(project, "```python\nprint(1)\n```\n\n```text\n2\n```\n", f"page{suffix}")
    result = fails(project, *(f"*docs/page{suffix}:5: the output differs*" for suffix in suffixes))
    result.assert_outcomes(failed=len(suffixes))


# --- 5. each page starts fresh ------------------------------------------------------------------------


def test_torch_defaults_do_not_leak_into_the_next_page(docs):
    b = "```python\nimport torch\ntorch.ones(1).dtype\n```\n\n```text\ntorch.float32\n```\n"
    assert counted(checked(docs, b, "b.md")) == {"passed": 1}
    a = "```python\nimport torch\ntorch.set_default_dtype(torch.float64)\n```\n"
    assert counted(checked(docs, a, "a.md")) == {"passed": 1}
    assert counted(checked(docs, b, "b.md")) == {"passed": 1}


def test_a_patch_stays_in_its_own_page(docs, monkeypatch):
    # Each page runs in a process of its own: what one page patches, the next never sees.
    (docs.parent / "mypkg.py").write_text("def kernel():\n    return 'real'\n")
    monkeypatch.syspath_prepend(str(docs.parent))
    found = checked(
        docs,
        "```python\nimport mypkg, torch\nmypkg.kernel = lambda: 'fake'\n"
        "torch.Tensor.__str__ = lambda self: 'tensor(5.)'\nmypkg.kernel()\n```\n\n```text\n'fake'\n```\n",
        "a.md",
    )
    found += checked(
        docs,
        "```python\nimport mypkg, torch\nprint(torch.tensor(4.))\nmypkg.kernel()\n```\n\n"
        "```text\ntensor(4.)\n'real'\n```\n",
        "b.md",
    )
    assert counted(found) == {"passed": 2}, found


@pytest.mark.parametrize(
    "code",
    [
        "import torch\nprint(torch.rand(3))",
        "import random\nprint(random.random())",
        "import numpy\nprint(numpy.random.rand())",
    ],
    ids=["torch", "random", "numpy"],
)
def test_an_unseeded_random_number_fails(docs, code):
    checked(docs, f"```python\n{code}\n```\n", update=True)  # write what the visible seed prints
    failure_lines(
        judged(docs.parent, docs / "page.md"),
        "*docs/page.md:2: the cell prints something else when the document runs a second time*",
    )


@pytest.mark.parametrize(
    "module, draw", [("torch", "torch.rand(1).item()"), ("numpy", "numpy.random.rand()")]
)
def test_an_unseeded_number_drawn_in_the_projects_own_module_fails(project, module, draw):
    """The page imports only a module of its project, which imports the generator's library
    in a way no static reading finds: the warm process (a fresh one, in a new Python process
    that runs both pytest runs) has not imported it, so neither run seeds it; each import seeds
    itself from the OS, and the two runs still print otherwise."""
    (project.path / "noisy.py").write_text(
        f"import importlib\n\n{module} = importlib.import_module({module!r})\n\n\n"
        f"def noise():\n    return round({draw}, 6)\n"
    )
    page(project, "```python\nfrom noisy import noise\nprint(noise())\n```\n")
    runs, result = runs_in_a_fresh_process(
        project, ["--device", "cpu", "--update-outputs"], ["--device", "cpu"]
    )
    assert runs[1] == (pytest.ExitCode.TESTS_FAILED, {"failed": 1}), result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "=== convdocs test run 2",
            "*docs/page.md:2: the cell prints something else when the document runs a second time*",
        ]
    )


def test_a_visibly_seeded_page_passes(docs):
    text = "```python\nimport torch\ntorch.manual_seed(0)\nprint(torch.rand(2))\n```\n"
    assert counted(checked(docs, text, update=True)) == {"passed": 1}
    assert "```text\ntensor([" in (docs / "page.md").read_text()
    assert counted(judged(docs.parent, docs / "page.md")) == {"passed": 1}


# --- 6. tolerances have limits and are visible ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            f"<!-- convdocs: tolerance rtol=1e9 -->\n{CELL}",
            "*rtol=1e9 is above the limit of 0.1*",
            id="huge",
        ),
        pytest.param(
            f"<!-- convdocs: tolerance rtol=0.05 -->\n{CELL}",
            '*rtol=0.05 is above 0.01, which needs a reason="..."*',
            id="needs-reason",
        ),
        pytest.param(
            f"<!-- convdocs: tolerance rtol=-1 -->\n{CELL}",
            "*rtol must be a finite number >= 0, got '-1'*",
            id="negative",
        ),
        pytest.param(
            f"<!-- convdocs: tolerance rtol=abc -->\n{CELL}",
            "*rtol must be a number, got 'abc'*",
            id="text",
        ),
        pytest.param(
            f"<!-- convdocs: tolerance rtl=1e-3 -->\n{CELL}",
            "*accepts atol, device, reason, rtol; got rtl*",
            id="misspelt",
        ),
        pytest.param(
            f"<!-- convdocs: tolerance rtol=1e-3 device=tpu -->\n{CELL}",
            "*device must be cpu or cuda, got 'tpu'*",
            id="device",
        ),
        pytest.param(
            CELL + "\n<!-- convdocs: page-tolerance rtol=1e-3 -->\n",
            "*a page-tolerance marker applies to the whole page, so it must come before the first cell*",
            id="page-tolerance-after-a-cell",
        ),
        pytest.param(
            "<!-- convdocs: figure figures/x.png tol=255 -->\n```python\npass\n```\n\n![x](figures/x.png)\n",
            "*tol=255 is above the limit of 16*",
            id="figure-huge",
        ),
        pytest.param(
            "<!-- convdocs: figure figures/x.png tol=8 -->\n```python\npass\n```\n\n![x](figures/x.png)\n",
            "*tol=8 is above 4*",
            id="figure-needs-reason",
        ),
        pytest.param(
            "Look:\n\n![a plot](figures/plot.png)\n",
            "*docs/page.md:3: the page shows figures/plot.png, but no cell draws it*",
            id="figure-without-a-marker",
        ),
    ],
)
def test_bad_tolerances_and_unmarked_figures_fail(docs, text, message):
    refused(docs / "page.md", text, message)


# --- 7. stamps cannot be forged ----------------------------------------------------------------------


def test_a_hand_made_gpu_run_is_not_shown(project):
    page(project, CELL)
    run(project).assert_outcomes(passed=1)
    path = project.path / RECORD
    data = json.loads(path.read_text())
    runs = data["documents"]["docs/page.md"]
    runs["cuda"] = dict(runs["cpu"], device_name="NVIDIA H100 80GB HBM3", torch="2.11.0+cu130")
    path.write_text(json.dumps(data))
    assert "GPU: not run on one yet" in _stamped(project)  # its signature gives it away
    runs["cuda"] = dict(runs["cpu"])  # a copy of the CPU's entry: its fingerprint is the CPU's
    path.write_text(json.dumps(data))
    stamped = _stamped(project)
    assert "verified on GPU" not in stamped and "for an earlier version" in stamped
    runs["cpu"]["outputs"] = ["3\n"]  # and an edited entry loses its own stamp
    path.write_text(json.dumps(data))
    assert "CPU: not yet verified" in _stamped(project)


# --- 8. exits and skips ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "import os\nos._exit(0)",
            "*docs/page.md:2: the cell ended its process (os._exit, a signal or a crash)*",
        ),
        ("import sys\nsys.exit(0)", "*docs/page.md:2: the cell called sys.exit(0)*"),
        ("import pytest\npytest.skip('later')", "*the cell raised at docs/page.md:3*"),
        (
            "import pytest\npytest.exit('bye', 0)",
            "*the cell raised at docs/page.md:3*",
        ),
    ],
    ids=["os-exit", "sys-exit", "pytest-skip", "pytest-exit"],
)
def test_exits_and_skips_in_cells_fail(docs, code, message):
    assert counted(fails_here(docs, f"```python\n{code}\n```\n", message)) == {"failed": 1}


def test_skipped_examples_are_counted_apart_in_the_stamp(project):
    skipped = '<!-- convdocs: skip reason="needs a webcam" -->\n```python\nopen_camera()\n```\n\n'
    page(project, CELL + "\n" + skipped * 3)
    run(project).assert_outcomes(passed=1, skipped=3)
    assert (
        "4 examples, 3 not run (needs a webcam; needs a webcam; needs a webcam) · verified on CPU"
        in _stamped(project)
    )


# --- 9. the update mode writes what it means ------------------------------------------------------------


def test_an_output_with_a_fence_gets_a_longer_fence(project):
    path = page(project, '```python\nprint("```")\nprint("done")\n```\n\n```text\nold\n```\n')
    run(project, "--update-outputs").assert_outcomes(passed=1)
    assert (
        path.read_text()
        == '```python\nprint("```")\nprint("done")\n```\n\n````text\n```\ndone\n````\n'
    )
    assert counted(judged(project.path, path)) == {"passed": 1}
    run(project, "--update-outputs").assert_outcomes(passed=1)
    assert path.read_text().count("````") == 2


def test_a_docstring_with_escapes_is_refused_not_miswritten(project):
    project.makepyprojecttoml('[tool.convdocs.verify]\npaths = ["mod.py"]\nunchecked = "fail"\n')
    source = 'def f():\n    """Tab: \\t.\n\n    ```python\n    print(1)\n    ```\n\n    ```text\n    9\n    ```\n    """\n'
    (project.path / "mod.py").write_text(source)
    result = run(project, "--update-outputs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*mod.py:2: this docstring has escape sequences*"])
    assert (project.path / "mod.py").read_text() == source


def test_an_output_with_a_backslash_is_not_written_into_a_plain_docstring(project):
    project.makepyprojecttoml('[tool.convdocs.verify]\npaths = ["mod.py"]\nunchecked = "fail"\n')
    source = 'def f():\n    """Print a path.\n\n    ```python\n    print("a" + chr(92) + "b")\n    ```\n    """\n'
    (project.path / "mod.py").write_text(source)
    result = run(project, "--update-outputs")
    result.stdout.fnmatch_lines(
        ["*the output contains a backslash, which this docstring would read as an escape*"]
    )
    assert (project.path / "mod.py").read_text() == source


# --- 10. crashes and unclear errors ---------------------------------------------------------------------


def test_a_cell_that_reads_a_relative_path_fails_clearly(docs, monkeypatch):
    (docs.parent / "README.md").write_text("hello\n")
    monkeypatch.chdir(docs.parent)  # where pytest would run: the project's root
    fails_here(
        docs,
        "```python\nopen(\"README.md\").read()\n```\n\n```text\n'hello\\n'\n```\n",
        "*the cell raised at docs/page.md:2*",
        "*FileNotFoundError*",
    )


def test_an_invalid_record_is_a_clear_error(project):
    page(project, CELL)
    (project.path / RECORD).write_text("{not json")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{RECORD} is not valid JSON*delete it and run the tests*"])


def test_a_cell_that_runs_forever_times_out(docs):
    (docs.parent / "pyproject.toml").write_text(PYPROJECT + "timeout = 1\n")
    fails_here(
        docs,
        "```python\nimport time\nwhile True:\n    time.sleep(0.1)\n```\n",
        "*docs/page.md:2: the cell ran longer than its timeout of 1 s and was stopped*",
    )


@pytest.mark.parametrize(
    "code",
    [
        "with open({path!r}, 'w') as f:\n    f.write('x')",
        "import os\nos.remove({path!r})",
        "import pathlib\ntry:\n    pathlib.Path({path!r}).write_text('x')\nexcept OSError:\n    pass",
    ],
    ids=["open-for-writing", "remove", "caught"],
)
def test_a_cell_cannot_change_files_of_the_project(docs, code):
    target = docs / "data.txt"
    target.write_text("original")
    fails_here(
        docs,
        "```python\n" + code.format(path=str(target)) + "\n```\n",
        "*examples may not change files of the project (docs/data.txt)*",
    )
    assert target.read_text() == "original"


def test_cells_run_in_a_temporary_folder(docs, monkeypatch):
    monkeypatch.chdir(docs.parent)  # where pytest would run: the project's root
    text = "```python\nwith open('scratch.txt', 'w') as f:\n    f.write('x')\n```\n\n```text\n```\n"
    checked(docs, text, update=True)
    assert counted(judged(docs.parent, docs / "page.md")) == {"passed": 1}
    assert not list(docs.parent.rglob("scratch.txt"))


# --- the second adversarial review -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "<script type='text/plain'>\n```python\nx = 41\n```\n</script>\n",
            "*the checker reads a block 'x = 41' here that the rendered document does not show*",
            id="code-in-a-script",
        ),
        # Elements hidden by CSS or attributes (hidden, display: none, a dialog) are rendered, so
        # the browser tests find them: every code block of the built site must be visible.
        pytest.param(
            "<!--\n\n```python\nx = 41\n```\n\n-->\n",
            "*the checker reads a block 'x = 41' here that the rendered document does not show*",
            id="code-in-a-comment",
        ),
        pytest.param(
            "\ufeff```python\nprint(2 + 2)\n```\n\n```text\n5\n```\n",
            "*the file starts with a byte-order mark*",
            id="byte-order-mark",
        ),
        pytest.param(
            "<!-- convdocs skip reason='x' -->\n" + CELL,
            "*this looks like a convdocs marker but is not one*",
            id="almost-a-marker",
        ),
        pytest.param(
            '<!-- convdocs: tolerance rtol=0.01 reason="noise" -->\n\nSome prose.\n\n' + CELL,
            "*the marker 'tolerance' at line 1 must stand right before the cell it applies to*",
            id="marker-far-from-its-cell",
        ),
        pytest.param(
            "<!-- convdocs: examples-from mypkg/missing.py -->\n\nThe API.\n",
            "*the examples-from marker names mypkg/missing.py, which does not exist*",
            id="examples-from-a-missing-file",
        ),
        pytest.param(
            "* >>> 2 + 2\n", "*a `>>>` example outside a fence*", id="doctest-in-a-list-item"
        ),
        pytest.param(
            "| a | b |\n|---|---|\n| `>>> 2 + 2` | 4 |\n",
            "*a `>>>` example outside a fence*",
            id="doctest-in-a-table",
        ),
        pytest.param(
            "<pre>>>> 2 + 2\n4</pre>\n",
            "*a `>>>` example outside a fence*",
            id="doctest-in-a-pre",
        ),
        pytest.param(
            CELL + "\n```console\n3\n```\n",
            "*a `console` block right after an output block looks like more of the output*",
            id="block-right-after-an-output",
        ),
        pytest.param(
            "![Loss][loss]\n\n[loss]: figures/loss.png\n",
            "*the page shows figures/loss.png, but no cell draws it*",
            id="figure-by-reference",
        ),
        pytest.param(
            '<img src="figures/loss.png" alt="loss">\n',
            "*the page shows figures/loss.png, but no cell draws it*",
            id="figure-in-an-img-tag",
        ),
    ],
)
def test_pages_that_hide_or_fake_things_fail(docs, text, message):
    refused(docs / "page.md", text, message)


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ('print("2024-1-5 10:5")', "2024-01-05 10:05"),
        ("print(7)", "007"),
        ("print(1.5)", "+1.5"),
        ('print("7.887E+374")', "9.999E+999"),
        ('print("inf")', "1e309"),
    ],
    ids=["leading-zeros", "padded-int", "plus-sign", "beyond-double", "overflow-to-inf"],
)
def test_numbers_are_compared_as_printed(docs, code, shown):
    fails_here(
        docs,
        f"```python\n{code}\n```\n\n```text\n{shown}\n```\n",
        "*the output differs from what the code prints*",
    )


def test_a_huge_integer_is_compared_exactly(docs):
    assert counted(checked(docs, "```python\nprint('9' * 5000)\n```\n", update=True)) == {
        "passed": 1
    }
    assert "9" * 5000 in (docs / "page.md").read_text()
    assert counted(judged(docs.parent, docs / "page.md")) == {"passed": 1}


def test_the_second_run_has_its_own_folder(docs):
    found = checked(
        docs,
        """\
        ```python
        with open("log.txt", "a") as log:
            log.write("step\\n")
        ```

        ```python
        with open("log.txt") as log:
            print(log.read().count("step"))
        ```

        ```text
        1
        ```
        """,
    )
    assert counted(found) == {"passed": 2}, found


def test_printing_state_does_not_leak_into_the_next_page(docs):
    found = checked(
        docs,
        """\
        ```python
        import decimal, os, sys, types
        import numpy
        from IPython.lib.pretty import for_type
        for_type(int, lambda o, p, c: p.text(str(o + 1)))
        decimal.getcontext().prec = 5
        numpy.set_printoptions(precision=2)
        os.environ["SCALE"] = "10"
        sys.modules["helper"] = types.ModuleType("helper")
        ```
        """,
        "a.md",
    )
    found += checked(
        docs,
        """\
        ```python
        import decimal, os, sys
        import numpy
        print(2 + 2, decimal.Decimal(1) / 3, numpy.array([1 / 3]), os.environ.get("SCALE"), "helper" in sys.modules)
        2 + 2
        ```

        ```text
        4 0.3333333333333333333333333333 [0.33333333] None False
        4
        ```
        """,
        "b.md",
    )
    assert counted(found) == {"passed": 2}, found


def test_a_page_cannot_reach_the_comparison(docs):
    # The comparison lives in the checking process; a page that patches the checker's modules
    # patches copies in its own process, and its wrong output still fails.
    fails_here(
        docs,
        "```python\nimport convdocs.verify.compare as c, convdocs.verify.evaluate as ev\n"
        "c.compare_outputs = ev.compare_outputs = lambda *a, **k: True\n"
        "c.Comparison.__bool__ = lambda self: True\nprint(1)\n```\n\n```text\n2\n```\n",
        "*expected '2', got '1'*",
    )


def test_a_page_cannot_reach_pytest(docs):
    # A plugin registered from a page would flip failed reports; in the page's own process
    # there is no pytest run to register it with (this test's own run is one: not there either).
    fails_here(
        docs,
        "```python\nimport gc, _pytest.config\n"
        "print(sum(type(o) is _pytest.config.Config for o in gc.get_objects()))\n"
        "```\n\n```text\n1\n```\n",
        "*expected '1', got '0'*",
    )


def test_what_the_site_shows_after_a_comment_in_a_paragraph_runs(docs):
    # Python-Markdown shows a "<!--" inside a paragraph as text, and the block after it as code:
    # the checker runs that block, as the reader sees it.
    fails_here(
        docs,
        "Quote ``a`b`` here. <!--\n\n```python\nprint(41)\n```\n\n-->\n",
        "*docs/page.md:3: the output differs from what the code prints*",
        "*41*",
    )


def test_a_file_separator_does_not_split_lines(docs):
    fails_here(
        docs,
        "<!-- a\x1c~~~\n-->\n\n```python\nprint(2 + 2)\n```\n\n```text\n5\n```\n",
        "*expected '5', got '4'*",
    )


def test_a_backtick_in_a_fence_attribute_still_runs(docs):
    fails_here(
        docs,
        '```python title="`demo`.py"\nprint(2 + 2)\n```\n\n```text\n5\n```\n',
        "*expected '5', got '4'*",
    )


def test_attribute_docstrings_are_checked(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.convdocs.verify]\npaths = ["mod.py"]\n')
    (tmp_path / "mod.py").write_text(
        'answer = 42\n"""The answer.\n\n```python\nprint(41)\n```\n\n```text\n42\n```\n"""\n'
    )
    failure_lines(judged(tmp_path, tmp_path / "mod.py"), "*expected '42', got '41'*")


def test_pages_pytest_does_not_walk_are_an_error(project):
    page(project, CELL, "build/page.md")
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*1 document(s) listed under [[]tool.convdocs.verify[]] paths were not collected (docs/build/page.md)*"
        ]
    )


def test_a_hidden_notebook_cell_fails(docs):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 41"), nbformat.v4.new_code_cell("x + 1")]
    )
    notebook.cells[0].metadata["transient"] = {"remove_source": True}
    notebook.cells[1].outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=2)
    ]
    (docs / "n.ipynb").write_text(nbformat.writes(notebook))
    failure_lines(
        judged(docs.parent, docs / "n.ipynb"),
        "*the cell's metadata hides its code from readers (transient.remove_source), yet it runs*",
    )


def test_changing_a_conftest_unverifies_the_stamp(project):
    page(project, CELL)
    (project.path / "conftest.py").write_text("# nothing yet\n")
    run(project).assert_outcomes(passed=1)
    assert "verified on CPU" in _stamped(project)
    (project.path / "conftest.py").write_text("from IPython.lib.pretty import for_type\n")
    assert "CPU: not yet verified" in _stamped(project)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "import os\nos.system('echo x > {target}')",
            "*the cell changed files of the project (docs/written.txt)*",
        ),
        (
            "import os\nos.execv('/bin/true', ['true'])",
            "*the cell ended its process (os._exit, a signal or a crash)*",
        ),
        (
            "import ctypes\nctypes.CDLL(None)._exit(0)",
            "*the cell ended its process (os._exit, a signal or a crash)*",
        ),
        (
            "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)",
            "*the cell changed the handler of SIGALRM*",
        ),
    ],
    ids=["shell-write", "exec", "ctypes-exit", "alarm-ignored"],
)
def test_cells_cannot_escape_the_sandbox(docs, code, message):
    target = docs / "written.txt"
    fails_here(docs, "```python\n" + code.format(target=target) + "\n```\n", message)


def test_an_atexit_exit_cannot_turn_a_failure_into_success(project):
    page(
        project,
        "```python\nimport atexit, os\natexit.register(lambda: os._exit(0))\nprint(1)\n```\n\n```text\n2\n```\n",
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--device", "cpu")
    assert result.ret != 0


def test_a_source_listing_with_a_fence_gets_a_longer_fence(project):
    (project.path / "snippet.py").write_text(
        'def show():\n    return """\n```\nnot code\n```\n"""\n'
    )
    project.syspathinsert(project.path)
    path = page(project, "<!-- convdocs: source snippet.show -->\n```python\nold\n```\n")
    run(project, "--update-outputs").assert_outcomes(passed=1)
    assert path.read_text().startswith(
        "<!-- convdocs: source snippet.show -->\n````python\ndef show():"
    )
    assert counted(judged(project.path, path)) == {"passed": 1}


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("print('50%\\r```')", "*the control character '\\r'*"),
        ("print('\\ud800')", "*is not valid Unicode*"),
    ],
    ids=["carriage-return", "surrogate"],
)
def test_outputs_a_page_cannot_show_are_refused(project, code, message):
    path = page(project, f"```python\n{code}\n```\n\n```text\nold\n```\n")
    before = path.read_text()
    result = run(project, "--update-outputs")
    result.stdout.fnmatch_lines([message])
    assert path.read_text() == before


def test_a_notebook_update_keeps_its_format(project):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_code_cell("2")]
    )
    notebook.cells[0].execution_count = 7
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    notebook.cells[1].execution_count = 9
    notebook.cells[1].outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "3"}, execution_count=9)
    ]
    path = project.path / "docs" / "n.ipynb"
    path.write_text(nbformat.writes(notebook, indent=2) + "\n")
    run(project, "--update-outputs").assert_outcomes(passed=2)
    notebook.cells[1].outputs[0]["data"]["text/plain"] = "2"
    assert path.read_text() == nbformat.writes(notebook, indent=2) + "\n"
