"""Compare a shown output with a real one: numbers by value within tolerance, the rest exact.

The rules, documented for readers on the page "How examples are verified":

* A *float* is a number with a decimal point or an exponent (and ``nan``, ``inf``) that
  stands alone: not part of a word (``conv2d``) or of a version (``2.13.0``, compared as
  text). Two floats match when ``|e - a| <= atol + rtol * max(|e|, |a|) + slack``.
  ``slack`` is half a unit in the last printed digit, and only when both sides print the
  same number of digits (the same last decimal place): ``2.9292`` and ``2.9293`` then
  differ by a whole unit and fail. A number printed with more or fewer digits than the
  code prints gets no slack, so ``3.1`` does not stand for ``3.14159``, nor ``0.01`` for
  ``0.011``. torch prints ``5.`` only for exactly integral values: ``5.`` has no slack.
  ``nan`` matches only ``nan``; ``inf`` only an ``inf`` of the same sign.
* Integers (no decimal point, no exponent: shapes, counts, epochs) match exactly.
* Whitespace between tokens does not matter (torch pads columns); the line structure does.
* ``device='cuda:N'`` and the comma before it are ignored. So is a line break that a device
  suffix caused: one that follows a comma inside brackets, in a bracketed group that holds
  a device suffix on either side (torch moving ``grad_fn=`` to a new line, IPython's pretty
  printer putting each element of a tuple, list or dict on its own line). Every other
  difference in line structure fails.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext

DEFAULT_RTOL = 1e-6
"""Relative tolerance used when neither the page nor the block sets one."""
DEFAULT_ATOL = 1e-8
"""Absolute tolerance used when neither the page nor the block sets one."""

_OPEN, _CLOSE = "([{", ")]}"
_FLOAT_WORD = r"[-+]?(?:nan|inf)(?![A-Za-z0-9_])"
_FLOAT = (
    r"[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![A-Za-z0-9_])"
)
_TOKEN = re.compile(
    r"(?P<device>,[ \t]*(?:\n[ \t]*)?device='cuda(?::\d+)?')"
    r"|(?P<newline>\n)"
    r"|(?P<space>[ \t\f\v]+)"
    r"|(?P<version>(?<![A-Za-z0-9_.])\d+(?:\.\d+){2,}(?:[-+.]?[A-Za-z0-9]+)*)"
    rf"|(?P<float>(?<![A-Za-z0-9_.]){_FLOAT_WORD}|(?<![A-Za-z0-9_.]){_FLOAT})"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<int>[-+]?\d+)"
    r"|(?P<other>.)"
)


@dataclass(frozen=True)
class Token:
    """One piece of an output: a float, an int, a word, a version, a line break, a device suffix
    or a single other character, with its line and column (both from 1)."""

    kind: str
    text: str
    line: int
    column: int

    def shown(self) -> str:
        return "a line break" if self.kind == "newline" else self.text


@dataclass(frozen=True)
class Comparison:
    """The outcome of ``compare_outputs``: truthy on a match, ``str()`` names the first difference."""

    matches: bool
    line: int | None = None
    column: int | None = None
    expected: str | None = None
    actual: str | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.matches

    def __str__(self) -> str:
        if self.matches:
            return "outputs match"
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: expected {self.expected!r}, got {self.actual!r} ({self.reason})"


def tokenize(text: str) -> list[Token]:
    """Split an output into tokens, leaving out spaces, trailing blank lines and ``\\r``."""
    text = text.replace("\r\n", "\n")
    tokens: list[Token] = []
    line, line_start = 1, 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind != "space":
            tokens.append(Token(kind, m.group(), line, m.start() - line_start + 1))
        breaks = m.group().count("\n")
        if breaks:
            line += breaks
            line_start = m.start() + m.group().rfind("\n") + 1
    while tokens and tokens[-1].kind == "newline":
        tokens.pop()
    return tokens


def _last_place(text: str) -> int | None:
    """The power of ten of a float's last printed digit (``2.929`` gives -3, ``1e-05`` gives -5);
    None for torch's integral ``5.`` and for ``nan``/``inf``, which stand for themselves."""
    mantissa, _, exponent = text.lower().lstrip("+-").partition("e")
    if mantissa in ("nan", "inf"):
        return None
    _, dot, decimals = mantissa.partition(".")
    if dot and not decimals:
        return None
    return int(exponent or 0) - len(decimals)


def floats_close(expected: str, actual: str, rtol: float, atol: float) -> bool:
    """Whether two printed floats match: by value within ``atol + rtol * |value|``, plus half a
    unit in the last digit only when both are printed to the same decimal place. Values are
    read exactly (as decimals), so numbers beyond a double's range compare by value too; an
    explicit ``+`` must be printed on both sides or on neither."""
    if expected.startswith("+") != actual.startswith("+"):
        return False
    try:
        with localcontext(Context(Emax=MAX_EMAX, Emin=MIN_EMIN)):  # any exponent that prints
            e, a = Decimal(expected), Decimal(actual)
            if e.is_nan() or a.is_nan():
                return e.is_nan() and a.is_nan()
            if e.is_infinite() or a.is_infinite():
                return e == a
            place = _last_place(expected)
            slack = Decimal(0)
            if place is not None and place == _last_place(actual):
                slack = Decimal(5).scaleb(place - 1)
            bound = Decimal(repr(atol)) + Decimal(repr(rtol)) * max(abs(e), abs(a)) + slack
            return abs(e - a) <= bound
    except InvalidOperation:  # an exponent beyond any decimal's: the same only as written
        return expected == actual


def _tokens_match(e: Token, a: Token, rtol: float, atol: float) -> str:
    """Return '' when the tokens match, else the reason they do not."""
    if e.kind != a.kind:
        return f"expected {_KIND_NAMES.get(e.kind, e.kind)}, got {_KIND_NAMES.get(a.kind, a.kind)}"
    if e.kind == "float":
        if floats_close(e.text, a.text, rtol, atol):
            return ""
        return f"beyond tolerance rtol={rtol:g}, atol={atol:g}"
    if e.text == a.text:  # an int as written: a leading zero or a plus sign is part of it
        return ""
    return "integers must match exactly" if e.kind == "int" else "text must match exactly"


_KIND_NAMES = {"other": "character", "newline": "line break"}


@dataclass
class _Group:
    """A bracketed group open on both sides: whether a device suffix sits in it (on either
    side), and the first line break found on one side only, excused if a suffix does."""

    has_device: bool = False
    unmatched_break: tuple[Token, Token, bool] | None = None


def _differs(expected: Token | None, actual: Token | None, reason: str) -> Comparison:
    """A failure at ``expected`` (or at ``actual``, where the expected output has ended)."""
    at = expected or actual
    assert at is not None
    shown = [token.shown() if token else "end of output" for token in (expected, actual)]
    return Comparison(False, at.line, at.column, shown[0], shown[1], reason)


def _break_failure(expected: Token, actual: Token, break_expected: bool) -> Comparison:
    first, second = ("document", "code") if break_expected else ("code", "document")
    reason = f"the {first} breaks the line here, the {second} does not"
    return _differs(expected, actual, f"{reason}; the line structure must match")


def _lines(count: int) -> str:
    return f"{count} line" + ("" if count == 1 else "s")


def _line_count(tokens: list[Token]) -> int:
    return 1 + sum(t.kind == "newline" for t in tokens) if tokens else 0


def _compare_tokens(
    expected: list[Token], actual: list[Token], rtol: float, atol: float
) -> Comparison:
    i = j = 0
    groups: list[_Group] = []
    last: Token | None = None  # the last token matched on both sides (never a device suffix)
    while True:
        while i < len(expected) and expected[i].kind == "device":
            i += 1
            for group in groups:
                group.has_device = True
        while j < len(actual) and actual[j].kind == "device":
            j += 1
            for group in groups:
                group.has_device = True
        e = expected[i] if i < len(expected) else None
        a = actual[j] if j < len(actual) else None
        if e is None and a is None:
            break
        e_break = e is not None and e.kind == "newline"
        a_break = a is not None and a.kind == "newline"
        if e_break and a_break:
            i, j, last = i + 1, j + 1, e
            continue
        if e_break or a_break:
            # A break on one side only: excusable after a comma inside brackets (decided when
            # the group closes, once it is known whether the group holds a device suffix).
            if groups and last is not None and last.text == ",":
                group = groups[-1]
                if group.unmatched_break is None:
                    e_at = e if e is not None else expected[-1]
                    a_at = a if a is not None else actual[-1]
                    group.unmatched_break = (e_at, a_at, e_break)
                if e_break:
                    i, last = i + 1, e
                else:
                    j, last = j + 1, a
                continue
            if e is not None and a is not None:
                return _break_failure(e, a, e_break)
        if e is None or a is None:
            shown, printed = _line_count(expected), _line_count(actual)
            reason = (
                f"expected {_lines(shown)}, got {_lines(printed)}"
                if shown != printed
                else ("the output ends early" if a is None else "the output goes on")
            )
            return _differs(e, a, reason)
        reason = _tokens_match(e, a, rtol, atol)
        if reason:
            return _differs(e, a, reason)
        if e.kind == "other" and e.text in _OPEN:
            groups.append(_Group())
        elif e.kind == "other" and e.text in _CLOSE and groups:
            group = groups.pop()
            if group.unmatched_break is not None and not group.has_device:
                return _break_failure(*group.unmatched_break)
        i, j, last = i + 1, j + 1, e
    for group in groups:
        if group.unmatched_break is not None and not group.has_device:
            return _break_failure(*group.unmatched_break)
    return Comparison(True)


def check_tolerance(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"compare_outputs expects {name} to be a number, got {type(value).__name__}"
        )
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"compare_outputs expects a finite {name} >= 0, got {value!r}")
    return float(value)


def compare_outputs(
    expected: str, actual: str, *, rtol: float | None = None, atol: float | None = None
) -> Comparison:
    """Compare an output shown on a page with the output the code really printed.

    Args:
        expected: the output as shown.
        actual: the output as printed now.
        rtol: relative tolerance for floats (default ``DEFAULT_RTOL``).
        atol: absolute tolerance for floats (default ``DEFAULT_ATOL``).

    Returns:
        A ``Comparison``: truthy when the outputs match; its ``str()`` names the first
        difference by line and column, with the expected and actual text.

    Raises:
        TypeError: if ``expected`` or ``actual`` is not a str, or a tolerance is not a number.
        ValueError: if ``rtol`` or ``atol`` is negative or not finite.

    Example:

    ```python
    from convdocs.verify import compare_outputs
    print(compare_outputs("tensor([1.0000, 2.5000])", "tensor([1.0000, 2.5000], device='cuda:0')"))
    print(compare_outputs("tensor([1.0000, 2.5000])", "tensor([1.0000, 2.6000])"))
    print(compare_outputs("x = 3.1", "x = 3.14159"))
    ```

    ```text
    outputs match
    line 1, column 17: expected '2.5000', got '2.6000' (beyond tolerance rtol=1e-06, atol=1e-08)
    line 1, column 5: expected '3.1', got '3.14159' (beyond tolerance rtol=1e-06, atol=1e-08)
    ```
    """
    for name, value in (("expected", expected), ("actual", actual)):
        if not isinstance(value, str):
            raise TypeError(
                f"compare_outputs expects {name} to be a str, got {type(value).__name__}"
            )
    rtol = check_tolerance("rtol", DEFAULT_RTOL if rtol is None else rtol)
    atol = check_tolerance("atol", DEFAULT_ATOL if atol is None else atol)
    return _compare_tokens(tokenize(expected), tokenize(actual), rtol, atol)
