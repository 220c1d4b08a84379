"""Every page as a notebook: the committed notebooks are what the pages make, and they run.

``site_hooks/notebooks.py`` makes each page's notebook (``make notebooks`` writes them under
notebooks/). Here: each committed notebook is exactly what its page makes now (else the test
names the page); each English one runs in a real Jupyter kernel, one kernel per notebook, and
every code cell prints the page's output under the page's tolerance (the checker's float
comparison) and draws the page's figure where it has one; a Chinese notebook whose code and
outputs are its English twin's passes with it (the same code is not run twice), and one that
differs is run too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from convdocs.verify import compare_outputs, tolerances
from convdocs.verify.config import load_project
from convdocs.verify.translations import code_tokens, language_of, original_of
from site_hooks import notebooks

ROOT = Path(__file__).resolve().parents[1]
PAGES = notebooks.pages(ROOT)
SLOWEST = ("lenet.md", "loop-to-fast.md", "padding-and-stride.md")
"""The notebooks that take longest in a kernel (LeNet's training: about 75 s on one core),
collected first so that xdist's workers share the rest while they run."""
ENGLISH = sorted(
    (p for p in PAGES if language_of(p) is None and p.suffix == ".md"),
    key=lambda p: SLOWEST.index(p.name) if p.name in SLOWEST else len(SLOWEST),
)
TRANSLATED = [p for p in PAGES if language_of(p) is not None and p.suffix == ".md"]
TIMEOUT = 300  # seconds a cell may run (LeNet's training, on a busy machine)


def _id(page: Path) -> str:
    return page.name


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_the_committed_notebook_is_what_the_page_makes(page):
    relative = notebooks.notebook_path(page)
    committed = ROOT / relative
    assert committed.is_file(), (
        f"docs/{page.name} has no notebook at {relative}: run `make notebooks` and commit it"
    )
    assert committed.read_text(encoding="utf-8") == notebooks.notebook_text(page), (
        f"{relative} is not what docs/{page.name} makes now: run `make notebooks` and commit it"
    )


def test_no_notebook_without_its_page():
    wanted = {notebooks.notebook_path(p) for p in PAGES}
    committed = {p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").rglob("*.ipynb")}
    assert not committed - wanted, f"notebooks of no page: {sorted(committed - wanted)}"


def test_the_notebooks_are_valid_and_start_by_installing_convdocs():
    for page in PAGES:
        notebook = nbformat.read(ROOT / notebooks.notebook_path(page), as_version=4)
        nbformat.validate(notebook)
        first, install = notebook.cells[:2]
        assert first.cell_type == "markdown" and "convdocs" in first.source
        assert install.cell_type == "code" and install.source == notebooks.INSTALL
        markdown = "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        assert not list(notebooks._marker_lines(markdown)), f"{page.name}: markers left"


def test_the_install_cell_runs_pip_only_where_convdocs_is_missing(monkeypatch):
    """The ``%pip`` line sits inside ``except ImportError``: IPython turns it into a magic call
    there (so it runs in Colab), and nothing runs it where convdocs imports."""
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(notebooks.INSTALL)
    calls: list[tuple[str, str]] = []

    class Shell:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

    code = compile(python, "install", "exec")
    exec(code, {"get_ipython": Shell})
    assert calls == []  # convdocs is importable here: no install
    monkeypatch.setitem(sys.modules, "convdocs", None)  # now `import convdocs` fails
    exec(code, {"get_ipython": Shell})
    assert calls == [("pip", 'install -q "convdocs @ git+https://github.com/convdocs/convdocs"')]


def _text_outputs(cell: nbformat.NotebookNode) -> tuple[str, int]:
    """What a code cell shows as text, as a page's output block holds it (its streams, stdout
    and stderr in their order, and the value it shows), and how many figures it displays."""
    text, images = [], 0
    for output in cell.outputs:
        data = output.get("data", {})
        if output.output_type == "stream":
            text.append(output.text)
        elif output.output_type == "execute_result":
            value = data.get("text/plain", "")
            text.append(value if value.endswith("\n") else value + "\n")
        elif output.output_type == "display_data" and "image/png" in data:
            images += 1
        elif output.output_type == "error":
            pytest.fail(f"the cell raised {output.ename}: {output.evalue}", pytrace=False)
        else:
            pytest.fail(f"an output that a page cannot show: {dict(output)}", pytrace=False)
    return "".join(text), images


def _run(notebook: nbformat.NotebookNode, workdir: Path) -> nbformat.NotebookNode:
    """Run ``notebook`` in a fresh python3 kernel (convdocs importable from this checkout) in
    ``workdir``, outside the repository, as a reader's copy would run."""
    environment = {
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        "CONVDOCS_DEVICE": "cpu",
        # torch's threads: the checker's share of the cores under xdist, else one (two
        # processes that each spin a thread per core slow a training loop many times over)
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=TIMEOUT,
            allow_errors=False,
            shutdown_kernel="immediate",  # its outputs are in: no graceful second to wait
            resources={"metadata": {"path": str(workdir)}},
        )
        return client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check(page: Path, stored: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> None:
    __tracebackhide__ = True
    project = load_project(ROOT)
    assert project is not None
    cells = notebooks.run_cells(page)
    pairs = [
        (s, e) for s, e in zip(stored.cells, executed.cells, strict=True) if s.cell_type == "code"
    ][1:]  # after the install cell
    assert len(pairs) == len(cells), f"{page.name}: {len(pairs)} code cells for {len(cells)}"
    failures = []
    for number, (cell, (s, e)) in enumerate(zip(cells, pairs, strict=True), start=1):
        want, want_images = _text_outputs(s)
        got, got_images = _text_outputs(e)
        rule = tolerances.for_cell(cell, "cpu", project)
        result = compare_outputs(want, got, rtol=rule.rtol, atol=rule.atol)
        where = f"docs/{page.name}:{cell.code.line} (code cell {number} of the notebook)"
        if not result:
            failures.append(f"{where}: {result}")
        if want_images != got_images:
            failures.append(
                f"{where}: the page shows {want_images} figure(s), the kernel drew {got_images}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("page", ENGLISH, ids=_id)
def test_the_notebook_prints_the_pages_outputs_in_a_real_kernel(page, tmp_path):
    stored = nbformat.read(ROOT / notebooks.notebook_path(page), as_version=4)
    executed = _run(nbformat.from_dict(stored), tmp_path)
    _check(page, stored, executed)


def _what_runs(
    notebook: nbformat.NotebookNode,
) -> list[tuple[list[tuple[int, str]] | str, str, int]]:
    """What a notebook's code cells do and show: their code without comments (a translation
    translates comments only), their text outputs and how many figures each shows (a Chinese
    page may show a figure with Chinese labels; the checker compares each with its code)."""
    return [
        (code_tokens(c.source), *_text_outputs(c)) for c in notebook.cells if c.cell_type == "code"
    ][1:]


@pytest.mark.parametrize("page", TRANSLATED, ids=_id)
def test_a_translated_notebook_runs_as_its_english_twin(page, tmp_path):
    """A Chinese notebook whose code (comments aside) and outputs are its English twin's (the
    translation check holds the pages to that) passes with the twin's run; one that differs is
    run itself."""
    original = original_of(page)
    assert original is not None
    stored = nbformat.read(ROOT / notebooks.notebook_path(page), as_version=4)
    twin = nbformat.read(ROOT / notebooks.notebook_path(original), as_version=4)
    if _what_runs(stored) == _what_runs(twin):
        return
    _check(page, stored, _run(nbformat.from_dict(stored), tmp_path))
