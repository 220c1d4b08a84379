"""The lecture notebook: its stored outputs are what a real Jupyter kernel prints, and are checked."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from convdocs.verify import compare_outputs
from convdocs.verify.config import Settings, load_project
from convdocs.verify.notebook import shown_by
from convdocs.verify.session import Session
from tests.conftest import failures_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
CODE_CELLS = 9


def session(device: torch.device | str) -> Session:
    """A checking session on ``device`` for the project's own settings."""
    project = load_project(ROOT)
    assert project is not None
    return Session(Settings(project, str(device), update=False))


def _evaluate(path: Path, text: str, device: torch.device | str = "cpu") -> list[str]:
    return failures_of(session(device), path, text)


def test_a_real_kernel_prints_the_stored_outputs(device, monkeypatch):
    from convdocs.verify import tolerances
    from convdocs.verify.notebook import read_notebook

    monkeypatch.setenv("CONVDOCS_DEVICE", str(device))  # the kernel inherits the environment
    stored = nbformat.read(NOTEBOOK, as_version=4)
    executed = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(executed, kernel_name="python3", timeout=120, allow_errors=False).execute()
    code_cells = [
        (s, e) for s, e in zip(stored.cells, executed.cells, strict=True) if s.cell_type == "code"
    ]
    assert len(code_cells) == CODE_CELLS
    project = session(device).settings.project
    rule = tolerances.for_notebook(
        read_notebook(NOTEBOOK.read_text()).tolerances, device.type, project
    )
    rtol, atol = rule.rtol, rule.atol
    for number, (s, e) in enumerate(code_cells, start=1):
        (want, problem), (got, _) = shown_by(s.outputs), shown_by(e.outputs)
        assert not problem
        for stream in ("output", "stderr"):
            stored, printed = ("".join(t for k, t in pairs if k == stream) for pairs in (want, got))
            result = compare_outputs(stored, printed, rtol=rtol, atol=atol)
            assert result, f"code cell {number}, {stream}: {result}"
        assert {k for k, _ in want} <= {"output", "stderr"}


def test_the_stored_outputs_pass_as_they_are(device):
    assert _evaluate(NOTEBOOK, NOTEBOOK.read_text(), device) == []


def test_a_changed_stored_output_fails_with_the_cells_line(device):
    text = NOTEBOOK.read_text()
    assert text.count("[37., 43.]") == 1
    line = text[: text.index("[37., 43.]")].count("\n") + 1
    failures = _evaluate(NOTEBOOK, text.replace("[37., 43.]", "[37., 44.]"), device)
    assert len(failures) == 1
    assert "docs/notebook.ipynb:" in failures[0] and "expected '44.', got '43.'" in failures[0]
    cell_line = int(failures[0].split("docs/notebook.ipynb:")[1].split(" ")[0])
    assert cell_line < line < cell_line + 40  # the cell's own line in the .ipynb


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (
            [{"output_type": "error", "ename": "ValueError", "evalue": "boom", "traceback": []}],
            "hold an error (ValueError: boom)",
        ),
        (
            [{"output_type": "update_display_data", "data": {}, "metadata": {}}],
            "type 'update_display_data' cannot be verified",
        ),
    ],
)
def test_outputs_that_cannot_be_checked_are_reported(tmp_path, outputs, message):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    notebook.cells[0].outputs = [nbformat.from_dict(o) for o in outputs]
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    failures = _evaluate(path, path.read_text())
    assert len(failures) == 1 and message in failures[0]
    assert failures[0].startswith(f"Example at {path}, line ")


WIDGET = """\
import uuid
from IPython.display import display
view = {"model_id": uuid.uuid4().hex, "version_major": 2, "version_minor": 0}
display({"application/vnd.jupyter.widget-view+json": view, "text/plain": "IntSlider(value=3)"}, raw=True)
"""


@pytest.mark.parametrize(
    ("major", "text", "fails"),
    [(2, "3", ""), (1, "3", "application/vnd.jupyter.widget-view+json"), (2, "4", "output")],
)
def test_a_widgets_view_is_compared_but_for_its_model_id(tmp_path, major, text, fails):
    """A widget shows its view as ipywidgets publishes it, with the id of a model made anew in
    every run (here a fresh uuid, as ipywidgets makes one): the stored view, made by another run,
    is compared with all but that id, and its text as every output."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WIDGET)])
    view = {"model_id": "5f2c", "version_major": major, "version_minor": 0}
    data = {
        "application/vnd.jupyter.widget-view+json": view,
        "text/plain": f"IntSlider(value={text})",
    }
    notebook.cells[0].outputs = [nbformat.v4.new_output("display_data", data=data)]
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    failures = _evaluate(path, path.read_text())
    if not fails:
        assert failures == []
    else:
        assert len(failures) == 1 and f"the stored {fails}" in failures[0], failures


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (None, ""),  # a notebook without cells: nothing to check, and no error
        ({"outputs": "1"}, "cell 0: expected a list of outputs, got '1'"),
        ({"outputs": [2]}, "cell 0: expected a list of outputs, got [2]"),
        ({"source": 5}, "cell 0: expected its source as text, got 5"),
    ],
)
def test_a_malformed_notebook_is_one_clear_failure(tmp_path, cell, message):
    notebook = nbformat.v4.new_notebook(cells=[])
    if cell is not None:
        notebook.cells = [{**nbformat.v4.new_code_cell("1 + 1"), **cell}]
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook, indent=1))
    failures = _evaluate(path, path.read_text())
    if not message:
        assert failures == []
    else:
        assert len(failures) == 1 and failures[0].endswith(f"{path}: {message}"), failures


def test_stored_outputs_are_in_jupyter_form():
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    kinds = {o["output_type"] for c in cells for o in c["outputs"]}
    assert kinds == {"stream", "execute_result"}


def test_notebook_tolerance_from_metadata_applies_on_its_device_only(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1.004)")])
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1.000\n")]
    notebook.metadata["convdocs"] = {"page-tolerance": [{"rtol": 1e-2, "device": "cuda"}]}
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    failures = _evaluate(path, path.read_text(), "cpu")  # on the CPU the site's tolerance applies
    assert len(failures) == 1 and "(the project's default rtol/atol)" in failures[0]
    from convdocs.verify import tolerances
    from convdocs.verify.config import load_project
    from convdocs.verify.documents import read_source

    project = load_project(Path(__file__).resolve().parents[1])
    assert project is not None
    on_gpu = tolerances.for_notebook(read_source(path).tolerances, "cuda", project)
    assert on_gpu.rtol == 1e-2  # what a GPU run compares with


def test_notebook_tolerance_is_part_of_its_fingerprint(tmp_path):
    from convdocs.verify.documents import fingerprint, read_source

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1.004)")])
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    before = fingerprint(read_source(path), "cuda", {})
    notebook.metadata["convdocs"] = {"page-tolerance": [{"rtol": 1e-2, "device": "cuda"}]}
    path.write_text(nbformat.writes(notebook))
    assert fingerprint(read_source(path), "cuda", {}) != before


def test_a_warning_a_real_kernel_stored_passes_and_a_changed_one_fails(tmp_path, device):
    """A warning in a cell's stored stderr names a temporary file of Jupyter's kernel and the
    line in the cell; the cell's run here names the notebook: where a warning was raised is not
    compared, what it says (and the source line under it) is."""
    (tmp_path / "pyproject.toml").write_text('[tool.convdocs.verify]\npaths = ["w.ipynb"]\n')
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import warnings\nwarnings.warn('careful')\nprint('after')")
    ]
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    stored = notebook.cells[0].outputs[-1]
    assert stored.name == "stderr" and "ipykernel_" in stored.text, stored
    path = tmp_path / "w.ipynb"
    nbformat.write(notebook, path)
    project = load_project(tmp_path)
    assert project is not None

    def failures() -> list[str]:
        return failures_of(Session(Settings(project, str(device))), path)

    assert failures() == []
    path.write_text(path.read_text().replace("careful", "carefree", 1))
    assert "the stored stderr differs" in "\n".join(failures())


# A notebook as Jupyter users write them: a plot (the inline backend shows it as a PNG), an HTML
# display, a rich result (text and HTML), and a warning on stderr.
RICH_CELLS = [
    "import warnings\nimport matplotlib.pyplot as plt\nfrom IPython.display import HTML, display",
    "plt.plot([0, 1, 2], [0, 1, 4])\nplt.title('share: 91%')",
    "display(HTML('<b>accuracy 0.91</b>'))\nprint('shown')",
    "class Table:\n    def _repr_html_(self):\n        return '<table><td>0.91</td></table>'\n"
    "    def __repr__(self):\n        return 'Table(1)'\nTable()",
    "warnings.warn('careful')",
]


def _execute(notebook: nbformat.NotebookNode) -> None:
    """Run ``notebook`` in a real kernel with Jupyter's own backend for figures (the suite's
    environment says Agg, which a kernel would inherit)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        NotebookClient(notebook, kernel_name="python3", timeout=120).execute()


@pytest.fixture(scope="module")
def rich_notebook() -> str:
    """The notebook of ``RICH_CELLS``, with the outputs a real Jupyter kernel stored."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in RICH_CELLS])
    _execute(notebook)
    kinds = [{o["output_type"] for o in c.outputs} for c in notebook.cells]
    assert kinds[1:] == [
        {"execute_result", "display_data"},
        {"display_data", "stream"},
        {"execute_result"},
        {"stream"},
    ]
    return nbformat.writes(notebook)


def _other_plot(text: str) -> str:
    """``text`` with its stored plot replaced by a real kernel's plot of other numbers."""
    notebook = nbformat.reads(text, as_version=4)
    cells = [RICH_CELLS[0], RICH_CELLS[1].replace("4]", "3]")]
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    _execute(other)
    plot, drawn = (
        next(o for o in n.cells[1].outputs if o["output_type"] == "display_data")
        for n in (notebook, other)
    )
    plot["data"]["image/png"] = drawn["data"]["image/png"]
    return nbformat.writes(notebook)


def test_a_notebooks_displays_plots_and_html_are_checked_as_jupyter_stores_them(
    tmp_path, rich_notebook, device
):
    """What a real kernel stored passes; a changed number in the HTML, a plot of other numbers,
    or a plot that is missing, each fails its cell; the update mode stores the outputs again."""
    path = tmp_path / "rich.ipynb"
    path.write_text(rich_notebook)
    assert _evaluate(path, rich_notebook, device) == []

    def stored(cell: int, change) -> str:  # the notebook, with ``change`` made to a cell's outputs
        notebook = nbformat.reads(rich_notebook, as_version=4)
        change(notebook.cells[cell].outputs)
        return nbformat.writes(notebook)

    def html(number: str):
        def change(outputs):
            data = outputs[0]["data"]
            data["text/html"] = data["text/html"].replace("0.91", number)

        return change

    changed = {
        "html": (stored(2, html("0.99")), "stored text/html"),
        "result": (stored(3, html("0.9")), "stored text/html"),
        "plot": (_other_plot(rich_notebook), "stored image/png differs from what the cell shows"),
        "no plot": (stored(1, lambda outputs: outputs.pop()), "stored output differs"),
        "no image": (
            stored(1, lambda outputs: outputs[1]["data"].pop("image/png")),
            "stored image/png differs from what the cell shows: it stored 0 and shows 1",
        ),
    }
    for name, (text, message) in changed.items():
        assert text != rich_notebook, name
        failures = _evaluate(path, text, device)
        assert len(failures) == 1 and message in failures[0], (name, failures)
    from tests.conftest import judged

    path.write_text(changed["no plot"][0])
    (tmp_path / "pyproject.toml").write_text('[tool.convdocs.verify]\npaths = ["rich.ipynb"]\n')
    judged(tmp_path, path, update=True)
    assert _evaluate(path, path.read_text(), device) == []
    outputs = nbformat.read(path, as_version=4).cells[1].outputs
    assert [o["output_type"] for o in outputs] == ["execute_result", "display_data"]
