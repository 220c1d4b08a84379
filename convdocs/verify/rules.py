"""What a page may and may not do, beyond its cells: the rules that keep anything from running,
or showing, without being checked.

* **Languages.** A fence is a *cell* when the site highlights it as Python: its language names
  Pygments' Python lexer or one built on it (``python``, ``py``, ``py3``, ``pyi``, ``ipython3``...).
  Python 2 code, console sessions (``pycon``) and ``>>>`` lines outside a cell are shown as
  Python but cannot be run as a page's cells: each is a problem.
* **Nothing hidden.** A fence or a marker inside an HTML comment is a problem: a reader would
  not see it. Every other way to show code otherwise than the reader reads it (a blockquote, raw
  HTML, an indented block) is found by the cross-check with the rendered page (``rendered``),
  and CSS that hides a block by the browser tests, which check that every block is visible.
* **Markers** take only their own options, with values of the right kind, and a tolerance has
  a ceiling (``rtol`` and ``atol`` at most ``1e-2``, a figure's ``tol`` at most 4) unless the
  marker gives a ``reason``, which the page shows; beyond a hard limit no reason will do.
* **Figures** a page shows from a ``figures/`` folder must be drawn by a figure marker's cell.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

RTOL_CEILING = ATOL_CEILING = 1e-2
"""The largest rtol/atol a marker may set without a reason."""
RTOL_LIMIT = ATOL_LIMIT = 0.1
"""The largest rtol/atol a marker may set at all."""
FIGURE_TOL_CEILING = 4.0
"""The largest RMS tolerance (0-255) a figure marker may set without a reason."""
FIGURE_TOL_LIMIT = 16.0
"""The largest RMS tolerance a figure marker may set at all."""
DEVICE_TABS = {"CPU": "cpu", "GPU": "cuda"}
"""The device kinds, each with the label of its content tab (and its name for readers)."""
DEVICE_KINDS = tuple(DEVICE_TABS.values())
DEVICE_NAMES = {kind: label for label, kind in DEVICE_TABS.items()}

MARKERS: Mapping[str, tuple[str, int, int]] = {
    "skip": ("reason", 0, 0),
    "source": ("", 1, 1),
    "tolerance": ("rtol atol device reason", 0, 0),
    "page-tolerance": ("rtol atol device reason", 0, 0),
    "figure": ("tol reason", 1, 1),
    "examples-from": ("", 1, 99),
    "prose": ("", 0, 0),  # its options are the numbers of the paragraph, see prose_problems
}
"""Each directive's options, and how many positional words it takes (fewest, most)."""


@dataclass(frozen=True)
class Problem:
    """Something that looks like an example but cannot be verified (a rule broken), with its
    place: ``start``..``end``, at line ``line``, and what to do about it."""

    message: str
    start: int
    end: int
    line: int
    skipped: bool = False
    """A block shown and not run in a project whose table says ``unchecked = "skip"``: the
    example is skipped, with ``message`` as its reason, instead of failing."""

    @classmethod
    def within(cls, text: str, message: str, start: int, end: int) -> Problem:
        """A problem at ``start``..``end`` of ``text``, on the line where it starts."""
        return cls(message, start, end, text.count("\n", 0, start) + 1)


# --- languages -------------------------------------------------------------------------------

_LANG = re.compile(r"\.?(?P<lang>[\w#.+-]+)(?=[\t ]|$)")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def fence_language(info: str) -> str:
    """The language of a fence's info string, as pymdownx's SuperFences reads it:
    ``python title="x"`` and ``.python`` give ``python``; ``{title="a.b" .python}`` gives the
    first class of the attribute list, ``python``."""
    info = info.strip()
    if info.startswith("{"):
        classes = re.findall(r"(?:^|\s)\.([\w#+-][\w#.+-]*)", _QUOTED.sub('""', info.strip("{}")))
        return classes[0].lower() if classes else ""
    m = _LANG.match(info)
    return m["lang"].lower() if m else ""


def backticks_allowed(info: str) -> bool:
    """Whether a backtick fence's info string may hold backticks: CommonMark says never, but
    SuperFences (which renders the site) reads ```` ```python title="`a`.py" ```` as a fence,
    so backticks inside quoted attribute values are allowed."""
    return "`" not in info or ("`" not in _QUOTED.sub('""', info) and bool(fence_language(info)))


@functools.cache
def language_kind(lang: str) -> str:
    """What the site shows a fence of ``lang`` as: ``python`` (a cell), ``text`` (an output
    block), ``python2``, ``console`` (a ``>>>`` session), or ``other``."""
    if lang == "text":
        return "text"
    from pygments.lexers import get_lexer_by_name  # (IPython's dependency)
    from pygments.lexers.python import Python2Lexer, PythonConsoleLexer, PythonLexer
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lang)
    except ClassNotFound:
        return "other"
    kinds = [(PythonLexer, "python"), (Python2Lexer, "python2"), (PythonConsoleLexer, "console")]
    found = (kind for cls, kind in kinds if isinstance(lexer, cls))
    return next(found, "console" if type(lexer).__name__ == "IPythonConsoleLexer" else "other")


# --- places a reader does not see ---------------------------------------------------------------


def outside(spans: list[tuple[int, int]], pos: int) -> bool:
    return not any(s <= pos < e for s, e in spans)


def comment_spans(text: str, fences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The HTML comments of a Markdown text: each ``<!--`` outside a fence and outside inline
    code, to the next ``-->`` (or the end of the text). Comments do not nest."""
    code = [(m.start(), m.end()) for m in _INLINE_CODE.finditer(text)]  # code spans: text
    spans: list[tuple[int, int]] = []
    pos = 0
    while (at := text.find("<!--", pos)) >= 0:
        fence_end = next((e for s, e in fences if s <= at < e), None)
        if fence_end is not None:
            pos = fence_end
        elif not outside(code, at):
            pos = at + 4
        else:
            close = text.find("-->", at + 4)
            pos = len(text) if close < 0 else close + 3
            spans.append((at, pos))
    return spans


_DOCTEST_LINE = re.compile(r"(?<!>>)(?<!\w)>>>(?!>)[ \t]+\S")


def hidden_markers(
    text: str,
    fences: list[tuple[int, int]],
    comments: list[tuple[int, int]],
    markers: Iterable[tuple[int, int]],
    prompts: bool = True,
) -> tuple[list[Problem], set[int]]:
    """Markers a reader cannot see (inside another HTML comment), ``>>>`` sessions outside a
    cell (shown as Python, never run), and a byte-order mark.

    ``fences``, ``comments`` (``comment_spans``) and ``markers`` are ``(start, end)``; without
    ``prompts``, a ``>>>`` that starts no example is prose, as doctest reads it. Returns the findings and the start offsets
    of the hidden markers (which the reader must then leave out). A fence in a comment is found
    by the cross-check with the rendered page (``rendered``), which does not show it.
    """
    found: list[Problem] = []
    if text.startswith("\ufeff"):
        message = (
            "the file starts with a byte-order mark, which MkDocs drops but the checker cannot "
            "read past; save the file as UTF-8 without it"
        )
        found.append(Problem(message, 0, 1, 1))
    hidden = {
        start
        for start, end in markers
        if any(s <= start < e and (s, e) != (start, end) for s, e in comments)
    }
    lines_seen = set()
    for m in _DOCTEST_LINE.finditer(text) if prompts else ():
        line = text.count("\n", 0, m.start())
        if outside(fences + comments, m.start()) and line not in lines_seen:
            lines_seen.add(line)
            end = text.find("\n", m.start())
            message = (
                "a `>>>` example outside a fence is shown but never run: put the session in a "
                "`pycon` fence, which the checker runs as doctest does"
            )
            found.append(Problem.within(text, message, m.start(), len(text) if end < 0 else end))
    for start, end in sorted((s, e) for s, e in markers if s in hidden):
        message = (
            "a convdocs marker inside another HTML comment: its note would be hidden from "
            "readers; put the marker on its own line, outside any comment"
        )
        found.append(Problem.within(text, message, start, end))
    return found, hidden


# --- markers ----------------------------------------------------------------------------------


def _bound_problems(
    options: Mapping[str, str], key: str, ceiling: float, limit: float, where: str
) -> list[str]:
    """What is wrong with a tolerance option: not a finite number >= 0, above ``limit``, or
    above ``ceiling`` without a reason."""
    if key not in options:
        return []
    raw = options[key]
    try:
        value = float(raw)
    except ValueError:
        return [f"{where}: {key} must be a number, got {raw!r}"]
    if not math.isfinite(value) or value < 0:
        return [f"{where}: {key} must be a finite number >= 0, got {raw!r}"]
    if value > limit:
        return [
            f"{where}: {key}={raw} is above the limit of {limit:g}, where a comparison can no "
            "longer tell a right output from a wrong one"
        ]
    if value > ceiling and not options.get("reason", "").strip():
        return [
            f"{where}: {key}={raw} is above {ceiling:g}, which needs a "
            'reason="..." that the page shows to readers'
        ]
    return []


def _unknown_options(options: Iterable[str], names: str, where: str) -> list[str]:
    """Options other than ``names`` (space-separated), as a problem."""
    unknown = sorted(set(options) - set(names.split()))
    allowed = ", ".join(sorted(names.split())) or "no options"
    return [f"{where} accepts {allowed}; got {', '.join(unknown)}"] if unknown else []


def tolerance_problems(options: Mapping[str, object], where: str) -> list[str]:
    """What is wrong with a tolerance's options (from a marker or a notebook's metadata)."""
    text = {k: str(v) for k, v in options.items()}
    problems = _unknown_options(text, MARKERS["tolerance"][0], where)
    if not ({"rtol", "atol"} & set(text)):
        problems.append(f"{where} sets neither rtol nor atol")
    if "device" in text and text["device"].split(":")[0] not in DEVICE_KINDS:
        problems.append(f"{where}: device must be cpu or cuda, got {text['device']!r}")
    problems += _bound_problems(text, "rtol", RTOL_CEILING, RTOL_LIMIT, where)
    return problems + _bound_problems(text, "atol", ATOL_CEILING, ATOL_LIMIT, where)


def marker_problems(
    directive: str, words: tuple[str, ...], options: Mapping[str, str]
) -> list[str]:
    """What is wrong with a marker's words and options (empty when it is well formed)."""
    if directive not in MARKERS:
        known = ", ".join(sorted(MARKERS))
        return [f"unknown convdocs marker {directive!r}; expected one of: {known}"]
    where = f"the {directive} marker"
    names, fewest, most = MARKERS[directive]
    problems = []
    if not fewest <= len(words) <= most:
        wanted = "no word" if most == 0 else ("one word" if most == 1 else "one or more words")
        problems.append(f"{where} takes {wanted} before its options, got {list(words)}")
    if directive in ("tolerance", "page-tolerance"):
        return problems + tolerance_problems(options, where)
    if directive == "prose":
        return problems + prose_problems(options)
    problems += _unknown_options(options, names, where)
    if directive == "skip" and not options.get("reason", "").strip():
        problems.append('a skip marker needs a reason: <!-- convdocs: skip reason="..." -->')
    if directive == "figure":
        problems += _bound_problems(options, "tol", FIGURE_TOL_CEILING, FIGURE_TOL_LIMIT, where)
    return problems


# --- numbers in prose -------------------------------------------------------------------------

PROSE_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
_SAFE_CALLS = frozenset({"abs", "float", "int", "len", "max", "min", "round", "sum"})
_SAFE_METHODS = frozenset({"item", "tolist"})


def expression_problem(expression: str) -> str | None:
    """Why ``expression`` may not be evaluated for a prose claim (None when it may): only names,
    attributes, subscripts, constants, arithmetic and a few pure calls, so that checking a number
    runs no hidden code."""
    import ast

    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return f"{expression!r} is not a Python expression"
    allowed = tuple(
        getattr(ast, name)
        for name in "Expression Name Load Attribute Subscript Constant Tuple Slice UnaryOp USub "
        "UAdd BinOp Add Sub Mult Div Pow FloorDiv Call".split()
    )
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            return f"{expression!r} uses {type(node).__name__}, which a prose claim may not"
        if isinstance(node, ast.Call):
            func = node.func
            pure = (isinstance(func, ast.Name) and func.id in _SAFE_CALLS) or (
                isinstance(func, ast.Attribute) and func.attr in _SAFE_METHODS
            )
            if not pure or node.keywords:
                return f"{expression!r} calls {ast.unparse(func)}, which a prose claim may not"
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith("__"):
                return f"{expression!r} reaches {name}, which a prose claim may not"
    return None


def prose_problems(options: Mapping[str, str]) -> list[str]:
    """What is wrong with a prose marker's ``NUMBER=expression`` pairs."""
    if not options:
        return [
            "a prose marker names the numbers it checks, e.g. <!-- convdocs: prose 0.9075=kernel[0] -->"
        ]
    problems = []
    for literal, expression in options.items():
        if not PROSE_NUMBER.match(literal):
            problems.append(f"the prose marker checks numbers, and {literal!r} is not one")
        if problem := expression_problem(expression):
            problems.append(problem)
    return problems


# --- figures ----------------------------------------------------------------------------------

ALT_TEXT = r"(?:[^\[\]]|\[(?:[^\[\]]|\[[^\[\]]*\])*\])*"
"""Alt text: any text, with brackets only in balanced pairs (``[[1, -1]]`` is fine)."""
_IMAGE_WAYS = (
    re.compile(rf"!\[{ALT_TEXT}\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)"),
    re.compile(r"^[ \t]*\[[^\]\n]+\]:[ \t]*<?(?P<target>[^\s>]+)>?", re.M),  # [id]: figures/x.png
    re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?(?P<target>[^\"'\s>]+)", re.I),  # <img src="...">
)


_INLINE_CODE = re.compile(r"(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)")


def figures_without_markers(
    text: str, drawn: set[str], hidden: list[tuple[int, int]]
) -> Iterator[Problem]:
    """Images from a ``figures/`` folder that no figure marker of the page draws (an image
    written inside inline code is text, not an image)."""
    hidden = hidden + [(m.start(), m.end()) for m in _INLINE_CODE.finditer(text)]
    found = sorted((m for way in _IMAGE_WAYS for m in way.finditer(text)), key=lambda m: m.start())
    for m in found:
        target, at = m["target"], m.start()
        if "figures/" in target.replace("\\", "/") and target not in drawn and outside(hidden, at):
            message = (
                f"the page shows {target}, but no cell draws it: put <!-- convdocs: figure {target} --> "
                "before the cell that draws it, so that the suite checks the committed image"
            )
            yield Problem.within(text, message, at, m.end())
