"""Read a Markdown text into cells: fenced Python code, its output block, and the markers before it.

Vocabulary (the page "How examples are verified" explains it for authors):

* A *cell* is a fence whose language is Python (``python``, ``py``, ``python3`` or a
  ``{.python ...}`` attribute list), whatever other attributes it carries (``title="..."``).
* Its *output block* is a ``text`` fence that follows it with only blank lines between.
  Every ``text`` fence must be an output block; plain text that is not an output uses
  another language (``console``, ``plain``).
* A *marker* is an HTML comment ``<!-- convdocs: DIRECTIVE key="value" ... -->`` on its own
  line. ``skip reason="..."``, ``source OBJECT``, ``figure PATH`` and
  ``tolerance rtol=... atol=...`` (optionally ``device=cuda``) apply to the next cell;
  ``page-tolerance ...`` to the page; ``examples-from PATH ...`` names the documents whose
  examples a page renders (the API page's docstrings), for its verification stamp.

Anything else that looks like an example (a ``pycon`` fence, ``>>>`` in an untagged fence,
a marker that is not followed by a cell, an unknown directive) becomes a *problem*,
which the verification reports as a failure at its line. Nothing is left out silently.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

PYTHON_LANGS = frozenset({"python", "py", "python3"})
OUTPUT_LANG = "text"
DOCTEST_LANGS = frozenset({"pycon", "doctest", "ipython", "ipython3"})
CELL_DIRECTIVES = frozenset({"skip", "source", "tolerance", "figure"})
PAGE_DIRECTIVES = frozenset({"page-tolerance", "examples-from"})

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_MARKER = re.compile(r"^[ \t]*<!--[ \t]*convdocs:[ \t]*(?P<body>.*?)[ \t]*-->[ \t]*$")


@dataclass(frozen=True)
class Fence:
    """A fenced block: its language, its code or text, and where it sits in the text."""

    lang: str
    info: str
    indent: str
    body: str
    start: int
    end: int
    body_start: int
    body_end: int
    line: int
    body_line: int


@dataclass(frozen=True)
class Marker:
    """A ``<!-- convdocs: ... -->`` comment: its directive, positional words and options."""

    directive: str
    words: tuple[str, ...]
    options: dict[str, str]
    start: int
    end: int
    line: int


@dataclass(frozen=True)
class Cell:
    """A Python fence, its output block (if any) and the markers that apply to it."""

    code: Fence
    output: Fence | None
    markers: tuple[Marker, ...] = ()
    page_markers: tuple[Marker, ...] = ()

    def marker(self, directive: str) -> Marker | None:
        """The cell's own marker with this directive, if any."""
        return next((m for m in self.markers if m.directive == directive), None)

    @property
    def start(self) -> int:
        return self.markers[0].start if self.markers else self.code.start

    @property
    def end(self) -> int:
        return (self.output or self.code).end


@dataclass(frozen=True)
class Problem:
    """Something that looks like an example but cannot be verified, with its position."""

    message: str
    start: int
    end: int
    line: int


@dataclass
class Page:
    """What ``read_cells`` found in one text."""

    cells: list[Cell] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    page_markers: list[Marker] = field(default_factory=list)


def fence_language(info: str) -> str:
    """The language of a fence's info string: ``python title="x"`` and ``{.python}`` give ``python``."""
    info = info.strip()
    if info.startswith("{"):
        classes = re.findall(r"\.([A-Za-z0-9_+-]+)", info)
        return classes[0].lower() if classes else ""
    return info.split()[0].lower() if info else ""


def iter_fences(text: str):
    """Yield every fenced block of ``text`` as a ``Fence``, in order."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].rstrip("\r\n"))
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        char, size, indent = m["fence"][0], len(m["fence"]), m["indent"]
        close = re.compile(rf"^[ \t]*{re.escape(char)}{{{size},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j].rstrip("\r\n")):
            j += 1
        body_lines = lines[i + 1:j]
        body = "".join(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t")
                       for line in body_lines)
        end = offsets[min(j + 1, len(lines))]
        if j < len(lines):
            end = offsets[j] + len(lines[j].rstrip("\r\n"))
        yield Fence(
            lang=fence_language(m["info"]), info=m["info"], indent=indent, body=body,
            start=offsets[i] + len(indent), end=end,
            body_start=offsets[i + 1], body_end=offsets[j] if j < len(lines) else offsets[-1],
            line=i + 1, body_line=i + 2,
        )
        i = j + 1


def iter_markers(text: str):
    """Yield every ``<!-- convdocs: ... -->`` marker of ``text``, or a ``Problem`` for a bad one."""
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        m = _MARKER.match(line.rstrip("\r\n"))
        if m:
            start, end = offset, offset + len(line.rstrip("\r\n"))
            try:
                parts = shlex.split(m["body"])
            except ValueError as error:
                yield Problem(f"cannot read the marker {m['body']!r}: {error}", start, end, number)
            else:
                words = tuple(p for p in parts[1:] if "=" not in p)
                options = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
                directive = parts[0] if parts else ""
                if directive in CELL_DIRECTIVES | PAGE_DIRECTIVES:
                    yield Marker(directive, words, options, start, end, number)
                else:
                    known = ", ".join(sorted(CELL_DIRECTIVES | PAGE_DIRECTIVES))
                    yield Problem(
                        f"unknown convdocs marker {directive!r}; expected one of: {known}",
                        start, end, number,
                    )
        offset += len(line)


def _only_blank_between(text: str, start: int, end: int) -> bool:
    return not text[start:end].strip()


def read_cells(text: str) -> Page:
    """Find the cells, page markers and problems of a Markdown text."""
    page = Page()
    fences = list(iter_fences(text))
    inside = [(f.start, f.end) for f in fences]
    pending: list[Marker] = []

    def in_fence(pos: int) -> bool:
        return any(s <= pos < e for s, e in inside)

    events = sorted(
        [item for item in iter_markers(text) if not in_fence(item.start)] + fences,
        key=lambda item: item.start,
    )
    previous_end = 0
    previous_cell: Cell | None = None
    for item in events:
        if isinstance(item, Problem):
            page.problems.append(item)
            continue
        if isinstance(item, Marker):
            if item.directive in PAGE_DIRECTIVES:
                page.page_markers.append(item)
            else:
                pending.append(item)
            continue
        fence = item
        if fence.lang not in PYTHON_LANGS:
            for marker in pending:
                page.problems.append(Problem(
                    f"the marker '{marker.directive}' at line {marker.line} must come right "
                    f"before a Python cell, but the next block is a `{fence.lang or 'plain'}` fence",
                    marker.start, marker.end, marker.line,
                ))
            pending = []
        if fence.lang == OUTPUT_LANG:
            if previous_cell is not None and previous_cell.output is None and _only_blank_between(
                text, previous_end, fence.start
            ):
                cell = Cell(previous_cell.code, fence, previous_cell.markers)
                page.cells[-1] = cell
            else:
                page.problems.append(Problem(
                    "a `text` block is an output block, but no Python cell comes right before it "
                    "(only blank lines may stand between); use another language for plain text",
                    fence.start, fence.end, fence.line,
                ))
            previous_cell, previous_end = None, fence.end
            continue
        if fence.lang in PYTHON_LANGS:
            cell = Cell(fence, None, tuple(pending))
            page.cells.append(cell)
            previous_cell = cell
        else:
            previous_cell = None
            looks_like_doctest = fence.lang in DOCTEST_LANGS or (
                fence.lang == "" and re.search(r"^\s*>>> ", fence.body, re.M)
            )
            if looks_like_doctest:
                page.problems.append(Problem(
                    "this block looks like a Python example but is not a `python` cell: "
                    "write the code in a python fence and its output in a text fence after it",
                    fence.start, fence.end, fence.line,
                ))
        pending = []
        previous_end = fence.end
    for marker in pending:
        page.problems.append(Problem(
            f"the marker '{marker.directive}' at line {marker.line} is not followed by a Python cell",
            marker.start, marker.end, marker.line,
        ))
    page.cells = [Cell(c.code, c.output, c.markers, tuple(page.page_markers)) for c in page.cells]
    return page
