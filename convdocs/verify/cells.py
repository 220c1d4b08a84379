"""Read a Markdown text into cells: fenced Python code, its output block(s), and the markers before it.

Vocabulary (the page "How examples are verified" explains it for authors):

* A *cell* is a fence that the site highlights as Python (``python``, ``py``, ``py3``,
  ``ipython3``... or a ``{.python ...}`` attribute list; see ``rules.language_kind``),
  whatever other attributes it carries (``title="..."``).
* Its *output block* is a ``text`` fence that follows it with only blank lines between.
  Every ``text`` fence must be an output block; plain text that is not an output uses
  another language (``console``, ``plain``).
* Where the output really differs by device, the cell is followed instead by a group of
  content tabs, one per device (``=== "CPU"`` and ``=== "GPU"``), each holding one ``text``
  fence: the output on that device, checked on that device only.
* A *marker* is an HTML comment ``<!-- convdocs: DIRECTIVE key="value" ... -->`` on its own
  line. ``skip reason="..."``, ``source OBJECT``, ``figure PATH`` and
  ``tolerance rtol=... atol=...`` (optionally ``device=cuda``) apply to the next cell;
  ``page-tolerance ...`` to the page; ``examples-from PATH ...`` names the documents whose
  examples a page renders (the API page's docstrings), for its verification stamp.

Anything else that looks like an example (a ``pycon`` fence, ``>>>`` outside a cell, a fence
hidden in a comment or a blockquote, a fence right after a cell that is not its output block, a
marker that is not followed by a cell or has bad options, an incomplete device tab group)
becomes a *problem* (see ``rules``), which the verification reports as a failure at its line.
Nothing is left out silently.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from convdocs.verify import rules
from convdocs.verify.rules import DEVICE_TABS, Problem, fence_language, language_kind

PAGE_DIRECTIVES = frozenset({"page-tolerance", "examples-from"})
_SESSION_LINE = re.compile(r"^[ \t]*>>>(?: |$)", re.M)


def _prompts_stripped(code: str) -> bool:
    """Whether IPython strips ``>>>`` or ``In [n]:`` prompts from ``code`` before it runs it
    (its own transforms: a prompt on the first or second line)."""
    from IPython.core.inputtransformer2 import classic_prompt, ipython_prompt, leading_empty_lines

    lines = leading_empty_lines(code.splitlines(keepends=True))
    return classic_prompt(lines) != lines or ipython_prompt(lines) != lines


OUTPUTS = ("text", "output", "", "Output:", "Out:", "Result:", "输出:", "结果:")
"""The forms of an output block (a project's table may list others, ``outputs``): fence
languages (``""`` a bare fence; a ``text`` fence always is one) of a block right after its cell,
and label lines (``Output:``, also as ``**Output**``) that may stand between the two."""

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*?)[ \t]*$")
_MARKER = re.compile(r"^[ \t]*<!--[ \t]*convdocs:[ \t]*(?P<body>.*?)[ \t]*-->[ \t]*$")
_TAB = re.compile(r'^(?P<indent>[ \t]*)===[+!]?[ \t]+"(?P<label>[^"\n]*)"[ \t]*$')


@dataclass(frozen=True)
class Fence:
    """A fenced block: its language and what the site shows it as (``kind``: ``python``,
    ``text``, ``python2``, ``console`` or ``other``), its fence (three or more backticks or
    tildes), its code or text, and where it sits in the text."""

    lang: str
    kind: str
    fence: str
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
class Tab:
    """A content tab's header line, ``=== "Label"``."""

    label: str
    indent: str
    start: int
    end: int
    line: int


@dataclass(frozen=True)
class Cell:
    """A Python fence, its output block(s) and the markers that apply to it.

    ``output`` is the block shared by every device; ``device_outputs`` holds, instead, one
    block per device kind (``("cpu", fence), ("cuda", fence)``) from a device tab group.
    """

    code: Fence
    """The code; a ``console`` fence for a ``>>>`` session (``pycon``, or ``python`` starting
    with ``>>>``), which holds its own outputs, as doctest reads them."""
    output: Fence | None = None
    markers: tuple[Marker, ...] = ()
    page_markers: tuple[Marker, ...] = ()
    device_outputs: tuple[tuple[str, Fence], ...] = ()
    faults: tuple[tuple[int, str], ...] = ()
    """What is wrong with the cell's outputs (an incomplete device tab group), as (line, message)."""

    @property
    def session(self) -> bool:
        """Whether the cell is a ``>>>`` session."""
        return self.code.kind == "console"

    def marker(self, directive: str) -> Marker | None:
        """The cell's own marker with this directive, if any."""
        return next((m for m in self.markers if m.directive == directive), None)

    def output_for(self, kind: str) -> Fence | None:
        """The output block checked on device kind ``kind`` (``cpu``, ``cuda``)."""
        return dict(self.device_outputs).get(kind) if self.device_outputs else self.output

    @property
    def start(self) -> int:
        return self.markers[0].start if self.markers else self.code.start

    @property
    def end(self) -> int:
        last = self.device_outputs[-1][1] if self.device_outputs else self.output
        return (last or self.code).end

    @property
    def line(self) -> int:
        return self.markers[0].line if self.markers else self.code.line


@dataclass(frozen=True)
class Claim:
    """A ``prose`` marker: the numbers of the paragraph right above it, each with the expression
    whose value, rounded as the number is written, it must be (evaluated where the marker stands)."""

    claims: tuple[tuple[str, str], ...]
    paragraph: str
    start: int
    end: int
    line: int


@dataclass
class Page:
    """What ``read_cells`` found in one text."""

    cells: list[Cell] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    page_markers: list[Marker] = field(default_factory=list)
    fences: list[Fence] = field(default_factory=list)
    """Every fence the reader takes as shown (not hidden in a comment), in order."""

    def output_fences(self) -> list[Fence]:
        """Every output block of the page (shared, or one per device tab), in page order."""
        fences = [f for cell in self.cells for _, f in cell.device_outputs]
        fences += [cell.output for cell in self.cells if cell.output is not None]
        return sorted(fences, key=lambda fence: fence.start)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """The lines of a text as Markdown and Python see them, ends kept: only ``\n``, ``\r\n``
    and ``\r`` end a line (``str.splitlines`` would also split at ``\x1c``, ``\x85``...)."""
    return _LINE.findall(text)


def _bare_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """Each line of ``text``: its number, its offset, and its text without its end."""
    offset = 0
    for number, line in enumerate(split_lines(text), start=1):
        yield number, offset, line.rstrip("\r\n")
        offset += len(line)


def iter_fences(text: str) -> Iterator[Fence]:
    """Yield every fenced block of ``text`` as a ``Fence``, in order."""
    lines = split_lines(text)
    offsets = [0, *itertools.accumulate(map(len, lines))]
    bare = [line.rstrip("\r\n") for line in lines] + [""]  # and an empty line past the end
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(bare[i])
        if not m or (m["fence"][0] == "`" and not rules.backticks_allowed(m["info"])):
            i += 1
            continue
        indent, lang = m["indent"], fence_language(m["info"])
        close = re.compile(rf"[ \t]*{m['fence'][0]}{{{len(m['fence'])},}}[ \t]*")
        j = next((j for j in range(i + 1, len(lines)) if close.fullmatch(bare[j])), len(lines))
        yield Fence(
            lang=lang,
            kind=language_kind(lang),
            fence=m["fence"],
            info=m["info"],
            indent=indent,
            body="".join(
                line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")
                for line in lines[i + 1 : j]
            ),
            start=offsets[i] + len(indent),
            end=offsets[j] + len(bare[j]),
            body_start=offsets[i + 1],
            body_end=offsets[j],
            line=i + 1,
            body_line=i + 2,
        )
        i = j + 1


_LOOSE_MARKER = re.compile(r"<!--[ \t]*convdocs\b")
_OTHER_SKIP = re.compile(
    r"[ \t]*<!--+[ \t]*(?:phmdoctest-skip|phmdoctest-mark\.skip|skip:[ \t]*next)[ \t]*-->[ \t]*$"
)


def iter_markers(text: str, others: bool = False) -> Iterator[Marker | Problem]:
    """Yield every ``<!-- convdocs: ... -->`` marker of ``text``, or a ``Problem`` for a bad one
    (unreadable, unknown, with wrong options, or not alone on its line); with ``others``, also
    the skip markers of phmdoctest and sybil (``<!--phmdoctest-skip-->``, ``<!-- skip: next
    -->``), each as a skip marker whose reason is the marker."""
    for number, start, line in _bare_lines(text):
        end = start + len(line)
        m = _MARKER.match(line)
        if others and _OTHER_SKIP.match(line):
            yield Marker("skip", (), {"reason": line.strip()}, start, end, number)
            continue
        if not m:
            if _LOOSE_MARKER.search(line) and "`" not in line:
                message = (
                    "this looks like a convdocs marker but is not one: a marker is one line of its "
                    'own, <!-- convdocs: DIRECTIVE key="value" -->'
                )
                yield Problem(message, start, end, number)
            continue
        try:
            parts = shlex.split(m["body"])
        except ValueError as error:
            yield Problem(f"cannot read the marker {m['body']!r}: {error}", start, end, number)
            continue
        words = tuple(p for p in parts[1:] if "=" not in p)
        options = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        directive = parts[0] if parts else ""
        if problems := rules.marker_problems(directive, words, options):
            yield Problem("; ".join(problems), start, end, number)
        else:
            yield Marker(directive, words, options, start, end, number)


def iter_tabs(text: str) -> Iterator[Tab]:
    """Yield every content tab header (``=== "Label"``) of ``text``."""
    for number, offset, line in _bare_lines(text):
        if m := _TAB.match(line):
            yield Tab(m["label"], m["indent"], offset + m.end("indent"), offset + len(line), number)


class _Reader:
    """The state of one pass over a text's fences, markers and tabs, in order."""

    def __init__(self, text: str, unchecked: str | None, outputs: tuple[str, ...]) -> None:
        self.text = text
        self.unchecked = unchecked  # what a block shown and not run is (see ``read_cells``)
        self.languages = {o for o in outputs if not o.endswith(":")}
        labels = "|".join(re.escape(o[:-1]) for o in outputs if o.endswith(":")) or "(?!)"
        self.label = re.compile(
            rf"\s*[*_]{{0,2}}(?:{labels})[*_]{{0,2}}[:：]?[*_]{{0,2}}[ \t]*\r?\n\s*"
        )
        self.page = Page()
        self.pending: list[Marker] = []
        self.open = False  # whether the last cell may still take outputs
        self.open_tab: Tab | None = None  # a device tab still waiting for its text fence
        self.last_end = 0
        self.last_output_end: int | None = None  # where the last output block ended

    @property
    def cell(self) -> Cell | None:
        """The cell that may still take outputs."""
        return self.page.cells[-1] if self.open else None

    def update(self, **changes: Any) -> None:
        """Change the open cell."""
        self.page.cells[-1] = replace(self.page.cells[-1], **changes)

    def problem(self, message: str, item: Fence | Marker | Tab) -> None:
        self.page.problems.append(Problem(message, item.start, item.end, item.line))

    def not_run(self, message: str, reason: str, fence: Fence) -> None:
        """A block shown and not run: a problem (``message``), or a skipped example (``reason``)."""
        if self.unchecked == "skip":
            self.page.problems.append(Problem(reason, fence.start, fence.end, fence.line, True))
        else:
            self.problem(message, fence)

    def fault(self, line: int, message: str) -> None:
        """Something wrong with the outputs of the open cell: that cell's example fails with it."""
        self.update(faults=(*self.page.cells[-1].faults, (line, message)))

    def blank(self, start: int, end: int) -> bool:
        return not self.text[start:end].strip()

    def close_tab(self) -> None:
        if self.open_tab is not None:
            self.fault(
                self.open_tab.line,
                f'the device tab "{self.open_tab.label}" must hold one `text` output block',
            )
            self.open_tab = None

    def close_cell(self) -> None:
        self.close_tab()
        if (cell := self.cell) is not None:
            shown = {kind for kind, _ in cell.device_outputs}
            missing = [label for label, kind in DEVICE_TABS.items() if kind not in shown]
            if shown and missing:
                self.fault(
                    cell.code.line,
                    f"the device tabs after the cell at line {cell.code.line} lack "
                    f"{', '.join(missing)}: a device tab group has one tab for each device "
                    f"({', '.join(DEVICE_TABS)})",
                )
            shows = cell.output is not None or cell.device_outputs
            if cell.marker("skip") is not None and shows and self.unchecked != "skip":
                self.fault(
                    cell.code.line,
                    "a skipped cell cannot show an output block: nothing would check it; "
                    "drop the output, or run the cell",
                )
        self.open = False

    def drop_pending(self, why: str) -> None:
        """Each pending marker is a problem: it applies to no cell."""
        for marker in self.pending:
            self.problem(f"the marker '{marker.directive}' at line {marker.line} {why}", marker)
        self.pending = []

    def orphan_pending(self, start: int) -> None:
        """Pending markers with more than blank lines between them and ``start`` apply to no cell."""
        if self.pending and not self.blank(self.pending[-1].end, start):
            self.drop_pending(
                "must stand right before the cell it applies to (only blank lines or other markers "
                "between), where readers see its note next to the cell"
            )

    def claim(self, marker: Marker) -> None:
        """A prose marker checks the paragraph right above it (only blank lines between)."""
        lines = [line.rstrip("\r\n") for line in split_lines(self.text[: marker.start].rstrip())]
        text = "\n".join(list(itertools.takewhile(str.strip, reversed(lines)))[::-1])
        missing = [
            n
            for n in marker.options
            # ASCII word characters only: a number may touch Chinese text (约19.16)
            if not re.search(rf"(?<![\w.]){re.escape(n)}(?![\w]|\.\d)", text, re.ASCII)
        ]
        if (
            not text
            or text.lstrip().startswith(("```", "~~~", "<!--"))
            or text.rstrip().endswith(("```", "~~~"))
        ):
            self.problem(
                "a prose marker checks the numbers of the paragraph right above it, but none is there",
                marker,
            )
        elif missing:
            self.problem(
                f"the prose marker checks {', '.join(missing)}, but the paragraph above it does not say "
                f"{'that number' if len(missing) == 1 else 'those numbers'}",
                marker,
            )
        else:
            self.page.claims.append(
                Claim(tuple(marker.options.items()), text, marker.start, marker.end, marker.line)
            )

    def marker(self, marker: Marker) -> None:
        if marker.directive == "prose":
            self.claim(marker)
        elif marker.directive == "page-tolerance" and self.page.cells:
            self.problem(
                f"a page-tolerance marker applies to the whole page, so it must come before "
                f"the first cell (line {self.page.cells[0].code.line}), where readers see it first",
                marker,
            )
        elif marker.directive in PAGE_DIRECTIVES:
            self.page.page_markers.append(marker)
        else:
            self.orphan_pending(marker.start)
            self.pending.append(marker)

    def tab(self, tab: Tab) -> None:
        kind = DEVICE_TABS.get(tab.label)
        if kind is None or (cell := self.cell) is None or not self.blank(self.last_end, tab.start):
            self.close_cell()  # an ordinary content tab
            return
        self.close_tab()
        if kind in dict(cell.device_outputs):
            self.fault(tab.line, f'the cell at line {cell.code.line} has two "{tab.label}" tabs')
        self.open_tab, self.last_end = tab, tab.end

    def fence(self, fence: Fence) -> None:
        lenient = self.unchecked == "skip"
        if (fence.kind in ("python", "other") and fence.body.lstrip().startswith(">>>")) or (
            lenient and fence.kind == "other" and _SESSION_LINE.search(fence.body)
        ):  # a session, highlighted as Python or not (a project's own: `>>>` on any line)
            fence = replace(fence, kind="console")
        elif fence.kind == "python" and _prompts_stripped(fence.body) and not self.pending:
            self.close_cell()  # IPython would strip the prompts and run the lines shown as output
            self.problem(
                "this python fence has `>>>` or `In [n]:` prompts after its first line, which "
                "IPython strips, running the lines shown as their output: write the session in "
                "a `pycon` fence that starts with `>>>`, or the code without prompts",
                fence,
            )
            self.last_end = fence.end
            return
        if (tab := self.open_tab) is not None and (cell := self.cell) is not None:
            if (
                fence.kind == "text"
                and self.blank(self.last_end, fence.start)
                and len(fence.indent) > len(tab.indent)
            ):
                self.update(device_outputs=(*cell.device_outputs, (DEVICE_TABS[tab.label], fence)))
                self.open_tab, self.last_end, self.last_output_end = None, fence.end, fence.end
                return
            self.close_cell()
        self.orphan_pending(fence.start)
        before = self.cell
        right_after = before is not None and self.blank(self.last_end, fence.start)
        output = (
            before is not None
            and not before.device_outputs
            and not self.pending  # a marker between them: the block is not the cell's output
            and (fence.kind == "text" or (fence.kind == "other" and fence.lang in self.languages))
            and (
                right_after
                or (lenient and fence.indent == before.code.indent)  # whatever prose between
                or bool(self.label.fullmatch(self.text, self.last_end, fence.start))
            )
        )  # an output block, also as a bare or `output` fence, or under an Output: label
        if output:
            fence = replace(fence, kind="text")
        after_output = self.last_output_end is not None and self.blank(
            self.last_output_end, fence.start
        )
        session = fence.kind in ("python2", "console") or bool(_SESSION_LINE.search(fence.body))
        # (a session, or a problem of its own, below)
        not_run = fence.kind not in ("python", "text", "console")
        skipped = not_run and [m.directive for m in self.pending] == ["skip"]
        if skipped:
            self.pending = []  # shown, not run, and the page says why
        block = f"a `{fence.lang or 'plain'}` block"
        if not_run and self.unchecked is not None:  # nothing that runs passes for output
            if after_output:
                self.not_run(
                    f"{block} right after an output block looks like more of the output, but only "
                    "the `text` block is compared: put prose between them",
                    f"{block} right after an output block, not compared",
                    fence,
                )
            elif right_after and before is not None:
                self.not_run(
                    f"{block} right after the cell at line {before.code.line} looks like its output, "
                    "but is no output block of this project (a `text` fence, or a form the table's "
                    "`outputs` lists): make it one, or put prose between them",
                    f"{block} right after the cell at line {before.code.line}, which is no output "
                    "block of this project (see the table's `outputs`), not compared",
                    fence,
                )
            elif not (session or skipped):
                self.not_run(
                    f"{block} is shown as code, but nothing runs it: put "
                    '<!-- convdocs: skip reason="..." --> before it, so that readers see why',
                    f"{block}, not Python: shown, not run",
                    fence,
                )
        if fence.kind not in ("python", "console"):
            self.drop_pending(
                "must come right before a Python cell, but the next block is a "
                f"`{fence.lang or 'plain'}` fence"
            )
        if output:
            self.update(output=fence)
        self.close_cell()
        if fence.kind == "text":
            self.last_output_end = fence.end
            if not output:
                self.not_run(
                    "a `text` block is an output block, but no Python cell comes right before it "
                    "(only blank lines may stand between); use another language for plain text",
                    "a `text` block that follows no Python cell: shown, not compared",
                    fence,
                )
        elif fence.kind in ("python", "console"):
            self.page.cells.append(Cell(fence, None, tuple(self.pending)))
            self.open = fence.kind == "python"  # a session holds its outputs: no output block
        elif fence.kind == "python2":
            self.not_run(
                f"a `{fence.lang}` fence is shown as Python 2, which the checker cannot run: "
                "write Python 3 in a python fence, or use another language for text",
                f"a `{fence.lang}` block, Python 2, which the checker cannot run",
                fence,
            )
        elif session and not skipped:
            self.not_run(
                "this block looks like a Python example but is not a `python` cell: write it as "
                "a `pycon` session, or the code in a python fence and its output in a text fence",
                f"{block} with `>>>` lines after its first line, not a session: not run",
                fence,
            )
        self.pending = []
        self.last_end = fence.end


def doctest_parser() -> Any:
    """sybil's doctest parser, with pytest's doctest flags known (``ALLOW_UNICODE``,
    ``ALLOW_BYTES``, ``NUMBER``), as pytest's own doctests read them."""
    from _pytest.doctest import _get_flag_lookup
    from sybil.parsers.abstract.doctest import DocTestStringParser

    _get_flag_lookup()  # registers them with doctest
    return DocTestStringParser()


def _sessions_outside_fences(
    text: str, fences: list[Fence], comments: list[tuple[int, int]], docstring: bool
) -> list[Cell]:
    """The ``>>>`` sessions written as doctest has them, outside any fence (a docstring's, or an
    indented block of a page): sybil's doctest parser finds the examples. A docstring's, with
    no fence between them, form one session (a ``console`` cell), so that a docstring fails
    once, at its first difference; a page's form one session per block of examples (only
    blank lines between them). The fence of each holds its text, and, as ``indent``, what
    stands before its first prompt on its line."""
    masked = list(text)
    for start, end in [*((f.start, f.end) for f in fences), *comments]:
        masked[start:end] = [c if c == "\n" else " " for c in text[start:end]]
    groups: list[list[int]] = []
    for region in doctest_parser()("".join(masked), "<document>"):
        if groups and (
            not any(groups[-1][1] <= f.start < region.start for f in fences)
            if docstring
            else not text[groups[-1][1] : region.start].strip()
        ):
            groups[-1][1] = region.end
        else:
            groups.append([region.start, region.end])
    cells = []
    for s, e in groups:
        line, indent = text.count("\n", 0, s) + 1, text[text.rfind("\n", 0, s) + 1 : s]
        cells.append(
            Cell(Fence("pycon", "console", "", "", indent, text[s:e], s, e, s, e, line, line))
        )
    return cells


def read_cells(
    text: str,
    docstring: bool = False,
    unchecked: str | None = "fail",
    outputs: tuple[str, ...] = OUTPUTS,
) -> Page:
    """Find the cells, page markers and problems of a Markdown text (a page, or a
    ``docstring``), its doctest sessions written without a fence among them; ``unchecked``: what
    a block shown and not run is (a block in another language, a `text` block after no cell...):
    ``"fail"``, a problem; ``"skip"``, a skipped example; None (a notebook's markdown cell, where
    nothing runs), nothing, for a block in another language; ``outputs``: the forms of an
    output block."""
    fences = list(iter_fences(text))
    inside = [(f.start, f.end) for f in fences]
    comments = rules.comment_spans(text, inside)
    skip = unchecked == "skip"
    markers = [item for item in iter_markers(text, skip) if rules.outside(inside, item.start)]
    findings, hidden = rules.hidden_markers(
        text, inside, comments, [(m.start, m.end) for m in markers], prompts=not skip
    )
    try:
        sessions = _sessions_outside_fences(text, fences, comments, docstring)
    except ValueError as error:  # doctest's own words: an unknown option, a prompt's indent
        message = f"doctest cannot read the `>>>` examples here: {error}"
        first = _SESSION_LINE.search(text)  # (at the end: no other example holds it)
        line = text.count("\n", 0, first.start() if first else len(text)) + 1
        sessions, findings = [], [*findings, Problem(message, len(text), len(text), line)]
    spans = [(c.code.start, c.code.end) for c in sessions]
    findings = [f for f in findings if rules.outside(spans, f.start)]
    reader = _Reader(text, unchecked, outputs)
    reader.page.problems += findings
    if skip:  # a fence in a comment is not shown, and so not run (else the cross-check finds it)
        for f in (f for f in fences if not rules.outside(comments, f.start)):
            reason = f"a `{f.lang or 'plain'}` block inside an HTML comment: not shown, not run"
            reader.page.problems.append(Problem(reason, f.start, f.end, f.line, True))
        fences = [f for f in fences if rules.outside(comments, f.start)]
    events: list[Fence | Marker | Problem | Tab] = [
        *(item for item in markers if item.start not in hidden),
        *(tab for tab in iter_tabs(text) if rules.outside(inside, tab.start)),
        *fences,
    ]
    handlers = {Problem: reader.page.problems.append, Marker: reader.marker, Tab: reader.tab}
    for item in sorted(events, key=lambda item: item.start):
        handlers.get(type(item), reader.fence)(item)  # type: ignore[operator]
    reader.close_cell()
    reader.drop_pending("is not followed by a Python cell")
    page = reader.page
    page.cells = [
        replace(c, page_markers=tuple(page.page_markers))
        for c in sorted([*page.cells, *sessions], key=lambda c: c.start)
    ]
    page.fences = sorted([*fences, *(c.code for c in sessions)], key=lambda f: f.start)
    drawn = {m.words[0] for c in page.cells for m in c.markers if m.directive == "figure"}
    page.problems += rules.figures_without_markers(text, drawn, comments)
    page.problems.sort(key=lambda p: p.start)
    return page
