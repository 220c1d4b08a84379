"""The lecture notebook: its stored outputs are what a real Jupyter kernel prints, and are checked."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from sybil.example import SybilFailure

from convdocs.verify import compare_outputs
from convdocs.verify.evaluate import reset_page
from convdocs.verify.notebook import NotebookDocument, expected_output, parse_notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.ipynb"



@pytest.fixture(autouse=True)
def checking_not_updating(monkeypatch):
    """These tests check failures, so they run in checking mode even under --update-outputs."""
    from convdocs.verify import settings

    monkeypatch.setattr(settings.current, "update", False)

def test_a_real_kernel_prints_the_stored_outputs():
    stored = nbformat.read(NOTEBOOK, as_version=4)
    executed = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(executed, kernel_name="python3", timeout=120, allow_errors=False).execute()
    code_cells = [(s, e) for s, e in zip(stored.cells, executed.cells) if s.cell_type == "code"]
    assert len(code_cells) >= 9
    for number, (s, e) in enumerate(code_cells, start=1):
        want, problem = expected_output(s.outputs)
        got, _ = expected_output(e.outputs)
        assert not problem
        result = compare_outputs(want, got)
        assert result, f"code cell {number}: {result}"


def _evaluate(path: Path, text: str) -> list[str]:
    document = NotebookDocument(text, str(path))
    for region in parse_notebook(document):
        document.add(region)
    reset_page(document.namespace)
    failures = []
    for example in document.examples():
        try:
            example.evaluate()
        except SybilFailure as failure:
            failures.append(str(failure))
    return failures


def test_the_stored_outputs_pass_as_they_are():
    assert _evaluate(NOTEBOOK, NOTEBOOK.read_text()) == []


def test_a_changed_stored_output_fails_with_the_cells_line():
    text = NOTEBOOK.read_text()
    assert text.count("[37., 43.]") == 1
    failures = _evaluate(NOTEBOOK, text.replace("[37., 43.]", "[37., 44.]"))
    assert len(failures) == 1
    assert "docs/notebook.ipynb:" in failures[0] and "expected '44.', got '43.'" in failures[0]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([{"output_type": "error", "ename": "ValueError", "evalue": "boom", "traceback": []}], "hold an error (ValueError: boom)"),
        ([{"output_type": "display_data", "data": {"image/png": "AAAA"}, "metadata": {}}], "type 'display_data' cannot be verified"),
    ],
)
def test_outputs_that_cannot_be_checked_are_reported(tmp_path, outputs, message):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    notebook.cells[0].outputs = [nbformat.from_dict(o) for o in outputs]
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    failures = _evaluate(path, path.read_text())
    assert len(failures) == 1 and message in failures[0]


def test_stored_outputs_are_in_jupyter_form():
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    kinds = {o["output_type"] for c in cells for o in c["outputs"]}
    assert kinds == {"stream", "execute_result"}


def test_notebook_tolerance_from_metadata_applies_on_its_device_only(tmp_path, monkeypatch):
    from convdocs.verify import settings

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1.004)")])
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1.000\n")]
    notebook.metadata["convdocs"] = {"page-tolerance": [{"rtol": 1e-2, "device": "cuda"}]}
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook))
    assert len(_evaluate(path, path.read_text())) == 1  # on the CPU the site's tolerance applies
    monkeypatch.setattr(settings.current, "device", "cuda:0")
    assert _evaluate(path, path.read_text()) == []
