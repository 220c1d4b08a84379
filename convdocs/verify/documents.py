"""One parse path: what a document's examples are, for collection, the record and the stamps alike.

A *document* is a Markdown page (``.md``, ``.markdown``), a notebook (``.ipynb``) or a Python
module whose docstrings hold examples (``.py``). ``read_source`` turns one into a ``Source``:
its cells and problems at their places in the file. The test collection makes one test per
example from it, the record counts and fingerprints the same examples, and the site's stamps
read the record through it, so the three can never disagree about what a page holds.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convdocs.verify.cells import Cell, Marker, Problem, read_cells, shift
from convdocs.verify.notebook import NotebookCell, read_notebook

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
NOTEBOOK_SUFFIXES = frozenset({".ipynb"})
DOCSTRING_SUFFIXES = frozenset({".py"})
SUFFIXES = MARKDOWN_SUFFIXES | NOTEBOOK_SUFFIXES | DOCSTRING_SUFFIXES

Example = Cell | NotebookCell | Problem


@dataclass(frozen=True)
class Source:
    """A document's examples, as found by ``read_source``.

    ``kind`` is ``page``, ``notebook`` or ``docstring``. ``examples`` holds, in the order of the
    file, every cell (a ``Cell``, or a ``NotebookCell`` for notebooks) and every ``Problem``:
    each is one test, and a problem is a failing one.
    """

    path: str
    kind: str
    text: str
    examples: tuple[Example, ...]
    page_markers: tuple[Marker, ...] = ()
    tolerances: tuple[Mapping[str, Any], ...] = ()

    @property
    def example_count(self) -> int:
        return len(self.examples)

    def cells(self) -> list[Cell | NotebookCell]:
        return [e for e in self.examples if not isinstance(e, Problem)]


def kind_of(path: str | Path) -> str | None:
    """The kind of document a path names (``page``, ``notebook``, ``docstring``), or None."""
    suffix = Path(path).suffix
    if suffix in MARKDOWN_SUFFIXES:
        return "page"
    if suffix in NOTEBOOK_SUFFIXES:
        return "notebook"
    if suffix in DOCSTRING_SUFFIXES:
        return "docstring"
    return None


def read_source(path: str | Path, text: str | None = None) -> Source:
    """Read a document (from ``text`` when given, else from the file) into a ``Source``.

    Raises:
        ValueError: if ``path`` is not a kind of document the checker reads.
    """
    kind = kind_of(path)
    if kind is None:
        raise ValueError(f"{path} is not a document: expected one of {', '.join(sorted(SUFFIXES))}")
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    if kind == "notebook":
        return _notebook_source(str(path), text)
    if kind == "docstring":
        return _docstring_source(str(path), text)
    page = read_cells(text)
    examples: list[Example] = sorted([*page.cells, *page.problems], key=lambda e: e.start)
    return Source(str(path), kind, text, tuple(examples), tuple(page.page_markers))


def _notebook_source(path: str, text: str) -> Source:
    try:
        notebook = read_notebook(text, path)
    except ValueError as error:
        return Source(path, "notebook", text, (Problem(str(error), 0, min(1, len(text)), 1),))
    return Source(path, "notebook", text, notebook.cells, (), notebook.tolerances)


def docstrings(text: str) -> Iterator[tuple[int, int, str]]:
    """Every docstring of a module's source: ``(start, end, value)``, where ``text[start:end]``
    is the docstring as written between its quotes."""
    tree = ast.parse(text)
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    for node in ast.walk(tree):
        if not isinstance(node, (ast.AsyncFunctionDef, ast.FunctionDef, ast.ClassDef, ast.Module)):
            continue
        first = node.body[0] if node.body else None
        if not (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            continue
        constant = first.value
        value = constant.value
        assert isinstance(value, str)
        begin = _char_offset(text, line_starts, constant.lineno, constant.col_offset)
        finish = _char_offset(
            text, line_starts, constant.end_lineno or constant.lineno, constant.end_col_offset or 0
        )
        quote = re.match(r"[rRuU]?(\"\"\"|'''|\"|')", text[begin:finish])
        if quote is None:
            continue
        size = len(quote.group(1))
        yield begin + quote.end(), finish - size, value


def _char_offset(text: str, line_starts: list[int], lineno: int, col_offset: int) -> int:
    """The character offset of an AST position (``col_offset`` counts UTF-8 bytes)."""
    start = line_starts[lineno - 1]
    line = text[start : line_starts[lineno] if lineno < len(line_starts) else len(text)]
    return start + len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore"))


def _docstring_source(path: str, text: str) -> Source:
    examples: list[Example] = []
    markers: list[Marker] = []
    try:
        found = list(docstrings(text))
    except SyntaxError as error:
        return Source(
            path,
            "docstring",
            text,
            (Problem(f"{path} does not compile: {error}", 0, min(1, len(text)), 1),),
        )
    for start, end, value in found:
        written = text[start:end]
        lines = text.count("\n", 0, start)
        page = read_cells(written)
        if not page.cells and not page.problems:
            continue
        if written != value:
            examples.append(
                Problem(
                    "this docstring has escape sequences, so its examples as written differ from the text "
                    'the API page shows; make it a raw docstring (r"""...""") or drop the escapes',
                    start,
                    end,
                    lines + 1,
                )
            )
            continue
        examples += [shift(item, start, lines) for item in (*page.cells, *page.problems)]
        markers += [shift(marker, start, lines) for marker in page.page_markers]
    examples.sort(key=lambda e: e.start)
    return Source(path, "docstring", text, tuple(examples), tuple(markers))


def _marker_text(marker: Marker) -> str:
    return f"{marker.directive} {list(marker.words)} {sorted(marker.options.items())}"


def fingerprint(source: Source, device_kind: str, context: Mapping[str, Any] | None = None) -> str:
    """A SHA-256 over what a run of ``source``'s examples on ``device_kind`` checked.

    It covers every example's code, markers and the output compared on that device (a device
    tab for another device is left out, so a GPU run's update leaves the CPU's stamp alone),
    the page's markers, a notebook's tolerance metadata, and ``context`` (the settings in force,
    such as the site's tolerance).
    """
    digest = hashlib.sha256()

    def add(*parts: str) -> None:
        for part in parts:
            digest.update(part.encode("utf-8") + b"\0")

    add(source.kind, json.dumps(dict(context or {}), sort_keys=True, default=str))
    for example in source.examples:
        if isinstance(example, Problem):
            add("problem", example.message)
        elif isinstance(example, NotebookCell):
            add("notebook-cell", example.code, example.expected, example.problem)
        else:
            output = example.output_for(device_kind)
            add(
                "cell",
                *(_marker_text(m) for m in example.markers),
                example.code.body,
                "" if output is None else output.body,
            )
    for marker in source.page_markers:
        add("page-marker", _marker_text(marker))
    add("tolerances", json.dumps(list(source.tolerances), sort_keys=True, default=str))
    return digest.hexdigest()
