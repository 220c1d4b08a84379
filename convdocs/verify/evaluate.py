"""Sybil's side: turn a document's cells into regions and evaluate each one.

One evaluator serves every cell of every document type; nothing here knows any page.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import os
import random
import sys
import textwrap

import pytest
from sybil import Region

from convdocs.verify import rewrite
from convdocs.verify.cells import Cell, Marker, Problem, read_cells
from convdocs.verify.compare import compare_outputs
from convdocs.verify.execute import CellError, run_cell
from convdocs.verify.figures import DEFAULT_TOL, check_figure
from convdocs.verify.settings import applicable_tolerance, current


def parse_cells(document):
    """A sybil parser: one region per cell and one per problem found in ``document.text``."""
    page = read_cells(document.text)
    for cell in page.cells:
        yield Region(cell.start, cell.end, cell, evaluate_cell)
    for problem in page.problems:
        yield Region(problem.start, problem.end, problem, report_problem)


def reset_page(namespace: dict) -> None:
    """Give each document a fresh start: seeds 0 and torch's default print options."""
    import numpy
    import torch

    torch.manual_seed(0)
    random.seed(0)
    numpy.random.seed(0)
    torch.set_printoptions(profile="default", sci_mode=None)
    if "matplotlib" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close("all")
        plt.rcdefaults()
    namespace.setdefault("__name__", "__convdocs_page__")


def _page_path(document) -> str:
    return os.path.relpath(document.path)


def report_problem(example) -> str:
    """Evaluator for a ``Problem``: always a failure, naming page and line."""
    problem: Problem = example.parsed
    return f"{_page_path(example.document)}:{example.line}: {problem.message}"


def tolerance_for(cell: Cell, offset: int = 0) -> tuple[float, float, str]:
    """The (rtol, atol) for a cell's output: its own marker, else the page's, else the site's."""
    candidates = [m for m in cell.markers if m.directive == "tolerance"]
    candidates += [m for m in cell.page_markers if m.directive == "page-tolerance"]
    found = applicable_tolerance([m.options for m in candidates])
    if found is None:
        return current.rtol, current.atol, "the site's default rtol/atol"
    rtol, atol, index = found
    marker = candidates[index]
    return rtol, atol, f"rtol/atol from the {marker.directive} marker at line {marker.line + offset}"


def shown_source(dotted: str) -> str:
    """The source of a package object as a page shows it: without its docstring.

    Raises:
        ValueError: if ``dotted`` does not name an importable object.
    """
    module_name, _, attribute_path = dotted.partition(":")
    if not attribute_path:
        module_name, _, attribute_path = dotted.rpartition(".")
    try:
        obj = importlib.import_module(module_name)
        for part in attribute_path.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"the source marker names {dotted!r}, which cannot be imported: {error}") from None
    source = textwrap.dedent(inspect.getsource(obj))
    node = ast.parse(source).body[0]
    lines = source.splitlines(keepends=True)
    first = node.body[0] if getattr(node, "body", None) else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        del lines[first.lineno - 1:first.end_lineno]
    return "".join(lines)


def _check_source(example, cell: Cell, marker: Marker, shift: int, offset: int) -> str | None:
    page = _page_path(example.document)
    if len(marker.words) != 1:
        return f"{page}:{marker.line + offset}: the source marker names one object, e.g. 'source convdocs.corr2d'"
    try:
        wanted = shown_source(marker.words[0])
    except ValueError as error:
        return f"{page}:{marker.line + offset}: {error}"
    if wanted.rstrip() == cell.code.body.rstrip():
        return None
    if current.update:
        rewrite.pending.append(rewrite.Edit(
            example.document.path, cell.code.body_start + shift, cell.code.body_end + shift,
            rewrite.indent_lines(wanted, cell.code.indent), rewrite.sha256(_file_text(example)),
        ))
        return None
    diff = "".join(difflib.unified_diff(
        cell.code.body.splitlines(keepends=True), wanted.splitlines(keepends=True),
        f"{page} (shown)", f"{marker.words[0]} (package)",
    ))
    return f"{page}:{cell.code.line + offset}: the code shown is not the source of {marker.words[0]}\n{diff}"


def _file_text(example) -> str:
    with open(example.document.path, encoding="utf-8") as handle:
        return handle.read()


def evaluate_cell(example) -> str | None:
    """Run a cell and compare its output with the block shown; return a failure message or None."""
    __tracebackhide__ = True
    cell: Cell = example.parsed
    page = _page_path(example.document)
    shift = example.region.start - cell.start  # docstring documents sit inside a bigger file
    offset = example.line - (cell.markers[0].line if cell.markers else cell.code.line)

    skip = cell.marker("skip")
    if skip is not None:
        reason = skip.options.get("reason", "").strip()
        if not reason:
            return f'{page}:{skip.line + offset}: a skip marker needs a reason: <!-- convdocs: skip reason="..." -->'
        raise pytest.skip.Exception(f"not run: {reason}", _use_item_location=True)

    source = cell.marker("source")
    if source is not None:
        if cell.output is not None:
            return f"{page}:{source.line + offset}: a source cell shows code only; it cannot have an output block"
        return _check_source(example, cell, source, shift, offset)

    try:
        actual = run_cell(cell.code.body, example.namespace, page, cell.code.body_line + offset)
    except CellError as error:
        return str(error)

    figure = cell.marker("figure")
    if figure is not None:
        if len(figure.words) != 1:
            return f"{page}:{figure.line + offset}: the figure marker names one image path"
        failure = check_figure(
            page, example.document.path, _file_text(example), figure.words[0],
            float(figure.options.get("tol", DEFAULT_TOL)), current.update,
        )
        if failure:
            return failure

    expected = cell.output.body if cell.output is not None else ""
    rtol, atol, origin = tolerance_for(cell, offset)
    result = compare_outputs(expected, actual, rtol=rtol, atol=atol)
    if result:
        return None
    if current.update:
        _record_update(example, cell, actual, shift)
        return None
    where = (cell.output or cell.code).line + offset
    shown = expected if cell.output is not None else "(no output block)\n"
    return (
        f"{page}:{where}: the output differs from what the code prints ({origin})\n"
        f"first difference: {result}\n"
        f"--- shown on the page\n{shown}--- printed now\n{actual}"
        "(run `pytest --update-outputs` to rewrite the block from the code)"
    )


def _record_update(example, cell: Cell, actual: str, shift: int) -> None:
    original = rewrite.sha256(_file_text(example))
    path = example.document.path
    if cell.output is not None and actual.strip():
        new = rewrite.indent_lines(actual, cell.output.indent)
        edit = rewrite.Edit(path, cell.output.body_start + shift, cell.output.body_end + shift, new, original)
    elif cell.output is not None:
        edit = rewrite.Edit(path, cell.code.end + shift, cell.output.end + shift, "", original)
    else:
        block = rewrite.fenced(actual, cell.code.indent, "text")
        edit = rewrite.Edit(path, cell.code.end + shift, cell.code.end + shift, "\n\n" + block, original)
    rewrite.pending.append(edit)
