"""Notebooks as documents: each code cell is an example, its stored text outputs the expected output.

The rules are the pages' rules (``compare_outputs``, tolerance, devices, update mode): a code
cell's stored ``stream`` outputs plus its ``execute_result`` text must match what the cell
prints now. A stored error, or an output that is not text (an image, HTML only), is reported
rather than ignored. Failures name the notebook and the line of the cell in the ``.ipynb`` file.

A notebook sets its tolerance, like a page's ``page-tolerance`` marker, in its metadata:
``"convdocs": {"page-tolerance": [{"rtol": 2e-3, "device": "cuda", "reason": "..."}]}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sybil import Document, Region

from convdocs.verify.compare import compare_outputs
from convdocs.verify.execute import CellError, run_cell_parts
from convdocs.verify.rewrite import write_atomically
from convdocs.verify.settings import applicable_tolerance, current

TEXT_OUTPUTS = ("stream", "execute_result")


@dataclass(frozen=True)
class NotebookCell:
    """One code cell: its index among all cells, its code, its stored outputs, and a problem if any."""

    index: int
    code: str
    expected: str
    source_line: int
    problem: str = ""
    tolerances: tuple[dict, ...] = ()


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def expected_output(outputs: list[dict]) -> tuple[str, str]:
    """The text a cell's stored outputs show, and a problem when some output is not plain text."""
    text, problem = [], ""
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout":
            text.append(_text(output.get("text", "")))
        elif kind == "execute_result" and "text/plain" in output.get("data", {}):
            value = _text(output["data"]["text/plain"])
            text.append(value if value.endswith("\n") else value + "\n")
        elif kind == "error":
            problem = f"the stored outputs hold an error ({output.get('ename')}: {output.get('evalue')})"
        else:
            problem = f"a stored output of type {kind!r} cannot be verified as text"
    return "".join(text), problem


def notebook_cells(text: str) -> list[tuple[str, str]]:
    """``(code, expected output)`` for every code cell of a notebook's JSON text."""
    notebook = json.loads(text)
    return [
        (_text(cell["source"]), expected_output(cell.get("outputs", []))[0])
        for cell in notebook["cells"] if cell["cell_type"] == "code"
    ]


def _cell_offsets(text: str) -> list[int]:
    """Where each cell's JSON object starts: nbformat writes ``"cell_type"`` first in every cell."""
    offsets, position = [], text.find('"cells"')
    while True:
        position = text.find('"cell_type":', position + 1)
        if position < 0:
            return offsets
        offsets.append(position)


class NotebookDocument(Document):
    """A sybil document for ``.ipynb`` files: its text is the notebook's JSON."""

    @classmethod
    def parse(cls, path: str, *parsers, encoding: str = "utf-8") -> Document:
        with open(path, encoding=encoding) as handle:
            document = cls(handle.read(), path)
        for parser in parsers:
            for region in parser(document):
                document.add(region)
        return document


def parse_notebook(document: Document):
    """A sybil parser: one region per code cell of the notebook."""
    notebook = json.loads(document.text)
    offsets = _cell_offsets(document.text)
    if len(offsets) != len(notebook["cells"]):
        raise ValueError(f"{document.path}: expected a notebook written by nbformat (one cell_type per cell)")
    tolerances = tuple(notebook.get("metadata", {}).get("convdocs", {}).get("page-tolerance", []))
    ends = offsets[1:] + [document.text.rfind("]", 0, document.text.find('"metadata"', offsets[-1]))]
    for index, (cell, start, end) in enumerate(zip(notebook["cells"], offsets, ends)):
        if cell["cell_type"] != "code":
            continue
        expected, problem = expected_output(cell.get("outputs", []))
        source_at = document.text.find('"source":', start)
        source_line = document.text.count("\n", 0, source_at) + 2
        parsed = NotebookCell(index, _text(cell["source"]), expected, source_line, problem, tolerances)
        yield Region(start, max(end, start + 1), parsed, evaluate_notebook_cell)


pending_outputs: dict[str, dict[int, tuple[str, str | None]]] = {}
"""Update mode: per notebook, the new text output of each cell that differs."""


def evaluate_notebook_cell(example) -> str | None:
    """Run one notebook cell and compare it with its stored outputs."""
    __tracebackhide__ = True
    cell: NotebookCell = example.parsed
    page = os.path.relpath(example.document.path)
    where = f"{page}:{example.line} (cell {cell.index})"
    if cell.problem and not current.update:
        return f"{where}: {cell.problem}"
    try:
        printed, value = run_cell_parts(cell.code, example.namespace, page, cell.source_line)
    except CellError as error:
        return f"{where}: {error}"
    actual = printed if value is None else printed + value + "\n"
    rtol, atol, _ = applicable_tolerance(cell.tolerances) or (current.rtol, current.atol, None)
    result = compare_outputs(cell.expected, actual, rtol=rtol, atol=atol)
    if result and not cell.problem:
        return None
    if current.update:
        pending_outputs.setdefault(example.document.path, {})[cell.index] = (printed, value)
        return None
    return (f"{where}: the stored output differs from what the cell prints\n"
            f"first difference: {result}\n--- stored\n{cell.expected}--- printed now\n{actual}")


def outputs_for(printed: str, value: str | None, execution_count: int) -> list[dict]:
    """Jupyter-style outputs: the printed text as a stream, the final value as an execute_result."""
    outputs = [{"name": "stdout", "output_type": "stream", "text": printed}] if printed else []
    if value is not None:
        outputs.append({"data": {"text/plain": value}, "execution_count": execution_count,
                        "metadata": {}, "output_type": "execute_result"})
    return outputs


def apply_pending() -> list[str]:
    """Write the collected outputs into their notebooks (atomically); return the paths changed."""
    import nbformat

    changed = []
    for path, cells in sorted(pending_outputs.items()):
        notebook = nbformat.read(path, as_version=4)
        count = 0
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            if index in cells:
                cell.outputs = [nbformat.from_dict(o) for o in outputs_for(*cells[index], count)]
        text = nbformat.writes(notebook) + "\n"
        target = Path(path)
        if target.read_text(encoding="utf-8") == text:
            continue
        write_atomically(target, text.encode("utf-8"))
        changed.append(path)
    pending_outputs.clear()
    return changed
