"""Notebooks as documents: each code cell is an example, its stored outputs the expected output.

The rules are the pages' rules (``compare_outputs``, tolerance, devices, update mode): what a
code cell's stored outputs show (``shown_by``: its streams, and each display's and result's
data, an image pixel by pixel) must match what the cell shows now. A stored error is reported
rather than ignored. Failures name the notebook and the line of the cell in the ``.ipynb`` file.

A notebook sets its tolerance, like a page's ``page-tolerance`` marker, in its metadata:
``"convdocs": {"page-tolerance": [{"rtol": 2e-3, "device": "cuda", "reason": "..."}]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convdocs.verify.cells import Problem, read_cells
from convdocs.verify.rules import tolerance_problems

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RAISES = frozenset({"raises-exception", "nbval-raises-exception"})
"""The cell tags (ours and nbval's) of a cell that must raise its stored error."""


@dataclass(frozen=True)
class NotebookCell:
    """One code cell: its index among all cells, its code, its stored outputs, a problem if any,
    where its JSON object sits in the file (``start``, ``end``), and the line of its source."""

    index: int
    code: str
    expected: tuple[tuple[str, str], ...]
    """What its stored outputs show, as ``shown_by`` reads them."""
    start: int
    end: int
    line: int
    problem: str = ""
    """What is wrong with the stored outputs (the update mode may write them anew)."""
    fault: str = ""
    """What is wrong with the cell itself (nothing the update mode can fix)."""
    tags: tuple[str, ...] = ()
    """The cell's tags; nbval's are honoured: ``nbval-skip`` (not run, said so),
    ``nbval-ignore-output`` (run, outputs not compared, said so), ``raises-exception`` or
    ``nbval-raises-exception`` (must raise the stored error), and so are its comment markers
    (``# NBVAL_SKIP``...)."""
    expected_error: str = ""
    """The stored error of a cell that must raise, as ``ename: evalue``."""
    executed: bool = True
    """Whether the notebook stores a run of the cell (an execution count, or outputs)."""

    @property
    def raises(self) -> bool:
        return bool(RAISES & set(self.tags))


@dataclass(frozen=True)
class Notebook:
    """What ``read_notebook`` found: the code cells and the tolerances of the metadata."""

    cells: tuple[NotebookCell, ...]
    tolerances: tuple[Mapping[str, Any], ...]
    problems: tuple[Problem, ...] = ()
    """What is wrong in the markdown cells: Python shown there is never run."""


def _list_of(value: object, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


STREAMS = ("output", "stderr")
"""What a cell shows as text: ``output`` (stdout, and each display's and result's text/plain,
in order, as a notebook shows them) and ``stderr``, compared apart."""
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif"})
"""The data of a display compared as an image, pixel by pixel; every other type (HTML, SVG,
LaTeX, JSON...) is compared as text."""


def shown_by(outputs: list[dict], raises: bool = False) -> tuple[tuple[tuple[str, str], ...], str]:
    """What a cell's outputs (as Jupyter stores them) show, as ``(stream, text)`` pairs in
    order: ``output``, ``stderr`` (``STREAMS``), and the other data types of its displays and
    result, by name (an image in base64, data that is not text as JSON); and a problem: a stored
    error (unless the cell ``raises``), or an output of another kind."""
    shown: list[tuple[str, str]] = []
    problem = ""
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") in ("stdout", "stderr"):
            name = "output" if output["name"] == "stdout" else "stderr"
            shown.append((name, _text(output.get("text", ""))))
        elif kind in ("display_data", "execute_result"):
            for mime, value in sorted(output.get("data", {}).items()):
                if mime == "text/plain":
                    text = _text(value)
                    shown.append(("output", text if text.endswith("\n") else text + "\n"))
                elif isinstance(value, (str, list)):
                    shown.append((mime, _text(value)))
                else:  # a widget's view: all but the id of its model, new in every run
                    if mime == WIDGET_VIEW and isinstance(value, dict) and "model_id" in value:
                        value = {**value, "model_id": "(new in every run)"}
                    shown.append((mime, json.dumps(value, sort_keys=True)))
        elif kind != "error":
            problem = f"a stored output of type {kind!r} cannot be verified"
        elif not raises:  # (a cell that raises: its traceback is checked when it runs)
            problem = (
                f"the stored outputs hold an error ({output.get('ename')}: {output.get('evalue')})"
            )
    return tuple(shown), problem


def read_notebook(text: str, path: str = "notebook", unchecked: str = "fail") -> Notebook:
    """Read a notebook's JSON text into its code cells, with their places in the file; with
    ``unchecked="skip"``, a markdown cell's Python is a skipped example, and a cell whose
    metadata hides its code runs as any other.

    Raises:
        ValueError: if the text is not a notebook written by nbformat.
    """
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    # where each cell's JSON object starts: nbformat writes "cell_type" first in every cell
    at = re.compile('"cell_type":').finditer(text, text.find('"cells"') + 1)
    offsets = [match.start() for match in at]
    if not isinstance(cells, list) or len(offsets) != len(cells):
        raise ValueError(
            f"{path}: expected a notebook written by nbformat (one cell_type per cell)"
        )
    tolerances = notebook.get("metadata", {}).get("convdocs", {}).get("page-tolerance", [])
    if not isinstance(tolerances, list) or not all(isinstance(t, dict) for t in tolerances):
        raise ValueError(
            f"{path}: metadata convdocs.page-tolerance must be a list of tables, got {tolerances!r}"
        )
    for number, tolerance in enumerate(tolerances, start=1):
        where = f"tolerance {number} of the metadata's convdocs.page-tolerance"
        if issues := tolerance_problems(tolerance, where):
            raise ValueError(f"{path}: " + "; ".join(issues))
    metadata_at = text.find('"metadata"', offsets[-1]) if offsets else -1
    last = text.rfind("]", 0, metadata_at) if metadata_at >= 0 else len(text)
    ends = [*offsets[1:], last][: len(offsets)]  # (a notebook without cells has none)
    found = []
    problems: list[Problem] = []
    for index, (cell, start, end) in enumerate(zip(cells, offsets, ends, strict=True)):
        line = text.count("\n", 0, text.find('"source":', start)) + 2
        end = max(end, start + 1)
        outputs, source = cell.get("outputs", []), cell.get("source", "")
        if not (isinstance(source, str) or _list_of(source, str)):
            raise ValueError(
                f"{path}: cell {index}: expected its source as text, got {source!r:.80}"
            )
        if cell.get("cell_type") in ("markdown", "raw"):
            problems += _markdown_cell_problems(_text(source), start, end, line, unchecked)
        if cell.get("cell_type") != "code":
            continue
        if not _list_of(outputs, dict):
            raise ValueError(
                f"{path}: cell {index}: expected a list of outputs, got {outputs!r:.80}"
            )
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), Mapping) else {}
        tags = metadata.get("tags", [])
        tags = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
        tags += tuple(_COMMENT_TAGS[c] for c in _comments(_text(source)) if c in _COMMENT_TAGS)
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors and unchecked == "skip" and not RAISES & set(tags):
            tags += ("raises-exception",)  # a project's notebook shows its error on purpose
        expected, problem = shown_by(outputs, bool(RAISES & set(tags)))
        stored = f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else ""
        fault, code = _hidden_source(metadata) if unchecked == "fail" else "", _text(source)
        executed = cell.get("execution_count") is not None or bool(outputs)
        found.append(
            NotebookCell(
                index, code, expected, start, end, line, problem, fault, tags, stored, executed
            )
        )
    return Notebook(tuple(found), tuple(tolerances), tuple(problems))


_COMMENT_TAGS = {
    "NBVAL_IGNORE_OUTPUT": "nbval-ignore-output",
    "PYTEST_VALIDATE_IGNORE_OUTPUT": "nbval-ignore-output",
    "NBVAL_RAISES_EXCEPTION": "raises-exception",
    "NBVAL_SKIP": "nbval-skip",
}
"""nbval's comment markers (a comment line ``# NBVAL_SKIP``), as the tags they stand for."""


def _comments(code: str) -> list[str]:
    """The text of each comment line of ``code``, as nbval reads its markers."""
    return [s.lstrip("#").strip() for s in map(str.strip, code.splitlines()) if s.startswith("#")]


_HIDING_TAGS = frozenset(
    f"{a}{sep}{b}" for a in ("remove", "hide") for b in ("input", "cell") for sep in "-_"
)
"""remove-input, hide_cell and the like: tags with which a rendered notebook hides a cell's code."""


def _hidden_source(metadata: Mapping[str, Any]) -> str:
    """The fault of a code cell whose metadata hides its source on a rendered page ('' when none)."""
    found = [
        f"{outer}.{inner}"
        for outer, inner in (("jupyter", "source_hidden"), ("transient", "remove_source"))
        if isinstance(metadata.get(outer), Mapping) and metadata[outer].get(inner)
    ]
    tags = metadata.get("tags")
    if isinstance(tags, list):
        found += [f"tag {tag}" for tag in tags if tag in _HIDING_TAGS]
    if metadata.get("hide_input"):
        found.append("hide_input")
    hidden = ", ".join(found)
    return hidden and f"the cell's metadata hides its code from readers ({hidden}), yet it runs"


def _markdown_cell_problems(
    source: str, start: int, end: int, line: int, unchecked: str
) -> list[Problem]:
    """A markdown cell's Python fences and ``>>>`` lines are shown but never run: one problem
    names them all (a skipped example, with ``unchecked="skip"``)."""
    page = read_cells(source, unchecked=None)
    messages = [
        f"a python fence at line {c.code.line} of this markdown cell is shown but never run: "
        'put the code in a code cell, or a <!-- convdocs: skip reason="..." --> before it'
        for c in page.cells
        if c.marker("skip") is None
    ]
    messages += [
        f"line {n} of this markdown cell: {fault}" for c in page.cells for n, fault in c.faults
    ]
    messages += [f"line {p.line} of this markdown cell: {p.message}" for p in page.problems]
    skipped = unchecked == "skip"
    return [Problem("; ".join(messages), start, end, line, skipped)] if messages else []


def with_outputs(text: str, new_outputs: Mapping[int, tuple[dict, ...]]) -> str:
    """The notebook ``text`` with the outputs of the cells in ``new_outputs`` (by cell index,
    as the checker's child keeps them) replaced, written as nbformat writes it with the file's
    own indentation and final newline. A rewritten cell without an execution count gets the one
    its place among the code cells gives; every other cell keeps its own."""
    import nbformat

    notebook = nbformat.reads(text, as_version=4)
    code = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    for count, (index, cell) in enumerate(code, start=1):
        if index in new_outputs:
            if cell.execution_count is None:
                cell.execution_count = count
            cell.outputs = [
                nbformat.from_dict(
                    {**o, "execution_count": cell.execution_count}
                    if o["output_type"] == "execute_result"
                    else o
                )
                for o in new_outputs[index]
            ]
    second = text.split("\n", 2)[1] if text.count("\n") >= 2 else ""
    indent = len(second) - len(second.lstrip(" ")) or 1
    return nbformat.writes(notebook, indent=indent) + ("\n" if text.endswith("\n") else "")
