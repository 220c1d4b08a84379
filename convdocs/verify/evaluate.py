"""Run one example and judge it: a cell of a page or docstring, a notebook cell, or a problem.

Every function takes the ``Session`` of the run (its settings and its edit queue) and a sybil
``Example`` whose ``parsed`` is what ``documents.read_source`` found. A function returns None
when the example holds, or the failure message. In update mode it queues an edit instead of
failing where it may rewrite the output. Nothing here knows any page.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import os
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

from convdocs.verify.cells import Cell, Fence, Marker, Problem
from convdocs.verify.compare import compare_outputs
from convdocs.verify.edits import (
    FileWrite,
    NotebookOutput,
    TextEdit,
    fenced,
    indent_lines,
    read_text,
    sha256,
)
from convdocs.verify.execute import CellError, run_cell_parts
from convdocs.verify.figures import DEFAULT_TOL, check_figure
from convdocs.verify.notebook import NotebookCell

if TYPE_CHECKING:
    from convdocs.verify.session import Session

_DEVICE_NAMES = {"cpu": "CPU", "cuda": "GPU"}


def page_path(example: Any) -> str:
    """The document's path as failures name it: relative to the working directory."""
    return os.path.relpath(example.document.path)


def evaluate_problem(session: Session, example: Any) -> str:
    """A problem is always a failure, naming the document and line."""
    problem: Problem = example.parsed
    return f"{page_path(example)}:{problem.line}: {problem.message}"


def applicable_tolerance(
    session: Session, tolerances: list[tuple[dict[str, str] | Any, str]]
) -> tuple[float, float, str]:
    """The first tolerance (options, origin) that applies on this run's device, else the site's.

    A tolerance without ``device`` applies everywhere; a missing rtol or atol is the site's.
    """
    project = session.settings.project
    for options, origin in tolerances:
        device = options.get("device")
        if device is None or str(device).split(":")[0] == session.settings.device_kind:
            return (
                float(options.get("rtol", project.rtol)),
                float(options.get("atol", project.atol)),
                f"rtol/atol from {origin}",
            )
    return project.rtol, project.atol, "the site's default rtol/atol"


def tolerance_for(session: Session, cell: Cell) -> tuple[float, float, str]:
    """The (rtol, atol) for a cell's output: its own marker, else the page's, else the site's."""
    candidates = [
        (m.options, f"the tolerance marker at line {m.line}")
        for m in cell.markers
        if m.directive == "tolerance"
    ]
    candidates += [
        (m.options, f"the page-tolerance marker at line {m.line}")
        for m in cell.page_markers
        if m.directive == "page-tolerance"
    ]
    return applicable_tolerance(session, candidates)


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
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(
            f"the source marker names {dotted!r}, which cannot be imported: {error}"
        ) from None
    source = textwrap.dedent(inspect.getsource(obj))
    node = ast.parse(source).body[0]
    lines = source.splitlines(keepends=True)
    body = getattr(node, "body", None)
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        del lines[first.lineno - 1 : first.end_lineno]
    return "".join(lines)


def _check_source(session: Session, example: Any, cell: Cell, marker: Marker) -> str | None:
    page = page_path(example)
    if len(marker.words) != 1:
        return f"{page}:{marker.line}: the source marker names one object, e.g. 'source convdocs.corr2d'"
    try:
        wanted = shown_source(marker.words[0])
    except ValueError as error:
        return f"{page}:{marker.line}: {error}"
    if wanted.rstrip() == cell.code.body.replace("\r\n", "\n").rstrip():
        return None
    if session.settings.writes_shared_outputs:
        session.queue.add(
            TextEdit(
                example.document.path,
                cell.code.body_start,
                cell.code.body_end,
                indent_lines(wanted, cell.code.indent),
                sha256(read_text(example.document.path)),
            )
        )
        return None
    diff = "".join(
        difflib.unified_diff(
            cell.code.body.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"{page} (shown)",
            f"{marker.words[0]} (package)",
        )
    )
    return f"{page}:{cell.code.line}: the code shown is not the source of {marker.words[0]}\n{diff}"


def _check_figure(session: Session, example: Any, marker: Marker) -> str | None:
    page = page_path(example)
    if len(marker.words) != 1:
        return f"{page}:{marker.line}: the figure marker names one image path"
    try:
        tol = float(marker.options.get("tol", DEFAULT_TOL))
    except ValueError:
        return f"{page}:{marker.line}: the figure marker's tol must be a number, got {marker.options['tol']!r}"
    found = check_figure(page, example.document.path, example.document.text, marker.words[0], tol)
    if found.failure is None:
        return None
    if session.settings.writes_shared_outputs and found.drawn is not None:
        session.queue.add(FileWrite(str(found.committed), found.drawn))
        return None
    return found.failure


def evaluate_cell(session: Session, example: Any) -> str | None:
    """Run a cell and compare its output with the block shown for this device."""
    __tracebackhide__ = True
    cell: Cell = example.parsed
    page = page_path(example)
    settings = session.settings

    skip = cell.marker("skip")
    if skip is not None:
        reason = skip.options.get("reason", "").strip()
        if not reason:
            return f'{page}:{skip.line}: a skip marker needs a reason: <!-- convdocs: skip reason="..." -->'
        raise pytest.skip.Exception(f"not run: {reason}", _use_item_location=True)

    if cell.faults:
        return "\n".join(f"{page}:{line}: {message}" for line, message in cell.faults)

    source = cell.marker("source")
    if source is not None:
        if cell.output is not None or cell.device_outputs:
            return f"{page}:{source.line}: a source cell shows code only; it cannot have an output block"
        return _check_source(session, example, cell, source)

    if cell.device_outputs and cell.output_for(settings.device_kind) is None:
        tabs = ", ".join(_DEVICE_NAMES.get(kind, kind) for kind, _ in cell.device_outputs)
        return f"{page}:{cell.code.line}: this cell shows an output per device ({tabs}), but none for {settings.device}"

    try:
        printed, value = run_cell_parts(
            cell.code.body, example.namespace, page, cell.code.body_line
        )
    except CellError as error:
        return str(error)
    actual = printed if value is None else printed + value + "\n"

    figure = cell.marker("figure")
    if figure is not None:
        failure = _check_figure(session, example, figure)
        if failure:
            return failure

    shown = cell.output_for(settings.device_kind)
    expected = shown.body if shown is not None else ""
    rtol, atol, origin = tolerance_for(session, cell)
    result = compare_outputs(expected, actual, rtol=rtol, atol=atol)
    if result:
        return None
    if settings.update and (cell.device_outputs or settings.writes_shared_outputs):
        _queue_output(session, example, cell, shown, actual)
        return None
    where = (shown or cell.code).line
    label = (
        f" ({_DEVICE_NAMES.get(settings.device_kind, settings.device_kind)} tab)"
        if cell.device_outputs
        else ""
    )
    hint = (
        "(run `pytest --update-outputs` to rewrite the block from the code)"
        if not settings.update
        else f"(a run on {settings.device} rewrites only the blocks of its own device tab; this block is "
        "shared by every device: fix the code, or show each device's output in CPU and GPU tabs)"
    )
    return (
        f"{page}:{where}: the output{label} differs from what the code prints ({origin})\n"
        f"first difference: {result}\n"
        f"--- shown on the page\n{expected if shown is not None else '(no output block)' + chr(10)}"
        f"--- printed now\n{actual}{hint}"
    )


def _queue_output(
    session: Session, example: Any, cell: Cell, shown: Fence | None, actual: str
) -> None:
    path = example.document.path
    original = sha256(read_text(path))
    if shown is not None and (actual.strip() or cell.device_outputs):
        edit = TextEdit(
            path, shown.body_start, shown.body_end, indent_lines(actual, shown.indent), original
        )
    elif shown is not None:
        edit = TextEdit(path, cell.code.end, shown.end, "", original)
    else:
        block = fenced(actual, cell.code.indent, "text")
        edit = TextEdit(path, cell.code.end, cell.code.end, "\n\n" + block, original)
    session.queue.add(edit)


def evaluate_notebook_cell(session: Session, example: Any) -> str | None:
    """Run one notebook cell and compare it with its stored outputs."""
    __tracebackhide__ = True
    cell: NotebookCell = example.parsed
    page = page_path(example)
    settings = session.settings
    where = f"{page}:{example.line} (cell {cell.index})"
    if cell.problem and not settings.writes_shared_outputs:
        return f"{where}: {cell.problem}"
    try:
        printed, value = run_cell_parts(cell.code, example.namespace, page, cell.line)
    except CellError as error:
        return f"{where}: {error}"
    actual = printed if value is None else printed + value + "\n"
    tolerances = [
        (options, "the notebook's metadata") for options in example.document.source.tolerances
    ]
    rtol, atol, origin = applicable_tolerance(session, tolerances)
    result = compare_outputs(cell.expected, actual, rtol=rtol, atol=atol)
    if result and not cell.problem:
        return None
    if settings.writes_shared_outputs:
        session.queue.add(
            NotebookOutput(
                example.document.path,
                cell.index,
                printed,
                value,
                sha256(read_text(example.document.path)),
            )
        )
        return None
    return (
        f"{where}: the stored output differs from what the cell prints ({origin})\n"
        f"first difference: {result}\n--- stored\n{cell.expected}--- printed now\n{actual}"
    )
