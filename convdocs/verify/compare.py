"""Compare a shown output with a real one: numbers within tolerance, everything else exact.

The rules, documented for readers on the page "How examples are verified":

* Floating-point numbers (with a decimal point or an exponent, and ``nan``/``inf``)
  match when ``|expected - actual| <= atol + rtol * max(|expected|, |actual|) + slack``,
  where ``slack`` is half a unit in the last printed digit (of the less precise of the
  two): ``2.9292`` stands for anything in ``[2.92915, 2.92925]``, so it cannot be held
  closer than that. A one-unit change in the last digit (``2.9292`` to ``2.9293``) fails.
  torch prints ``5.`` only for values that are exactly integral, so ``5.`` has no slack. ``nan`` matches only ``nan``; ``inf`` matches only an ``inf`` of the same sign.
* Integers (no decimal point, no exponent: shapes, counts, epochs) match exactly.
* Whitespace between tokens does not matter (torch pads columns, ``-0.`` vs ``0.``);
  the line structure does.
* ``device='cuda:N'`` and the comma before it are ignored, and so is the line break torch
  puts before a keyword suffix (``grad_fn=``, ``requires_grad=``, ``dtype=``) when the
  device made the line too long. Nothing else is ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_RTOL = 1e-6
"""Relative tolerance used when neither the page nor the block sets one."""
DEFAULT_ATOL = 1e-8
"""Absolute tolerance used when neither the page nor the block sets one."""

_DEVICE_SUFFIX = re.compile(r",\s*device='cuda(?::\d+)?'")
_SUFFIX_BREAK = re.compile(
    r",[ \t]*\n[ \t]*(?=(?:dtype|grad_fn|requires_grad|layout|names|size|device)=)"
)
_FLOAT_WORD = r"[-+]?(?:nan|inf)(?![A-Za-z0-9_])"
_FLOAT = r"[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)"
_INT = r"[-+]?\d+"
_TOKEN = re.compile(
    rf"(?P<float>(?<![A-Za-z0-9_]){_FLOAT_WORD}|{_FLOAT})"
    rf"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    rf"|(?P<int>{_INT})"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)"
)


@dataclass(frozen=True)
class Token:
    """One piece of a line: a float, an int, a word or a single other character."""

    kind: str
    text: str
    column: int


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


def normalise(text: str) -> list[str]:
    """Drop device suffixes and suffix line breaks, trailing spaces and trailing blank lines."""
    text = _DEVICE_SUFFIX.sub("", text.replace("\r\n", "\n"))
    text = _SUFFIX_BREAK.sub(", ", text)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def tokenize(line: str) -> list[Token]:
    """Split one line into tokens, leaving out whitespace."""
    return [
        Token(m.lastgroup, m.group(), m.start() + 1)
        for m in _TOKEN.finditer(line)
        if m.lastgroup != "space"
    ]


def _half_last_digit(text: str) -> float:
    """Half a unit in the last printed digit of a float's text (0 for torch's integral ``5.``)."""
    mantissa, _, exponent = text.lower().lstrip("+-").partition("e")
    if mantissa in ("nan", "inf"):
        return 0.0
    whole, dot, decimals = mantissa.partition(".")
    if dot and not decimals:
        return 0.0
    return 0.5 * 10.0 ** (int(exponent or 0) - len(decimals))


def floats_close(expected: str, actual: str, rtol: float, atol: float) -> bool:
    """Whether two printed floats may come from values within ``atol + rtol * |value|``."""
    e, a = float(expected), float(actual)
    if math.isnan(e) or math.isnan(a):
        return math.isnan(e) and math.isnan(a)
    if math.isinf(e) or math.isinf(a):
        return e == a
    slack = max(_half_last_digit(expected), _half_last_digit(actual))
    return abs(e - a) <= atol + rtol * max(abs(e), abs(a)) + slack


def _tokens_match(e: Token, a: Token, rtol: float, atol: float) -> str:
    """Return '' when the tokens match, else the reason they do not."""
    if e.kind != a.kind:
        return f"expected {e.kind}, got {a.kind}"
    if e.kind == "float":
        if floats_close(e.text, a.text, rtol, atol):
            return ""
        return f"beyond tolerance rtol={rtol:g}, atol={atol:g}"
    if e.kind == "int":
        return "" if int(e.text) == int(a.text) else "integers must match exactly"
    return "" if e.text == a.text else "text must match exactly"


def compare_outputs(expected: str, actual: str, *, rtol: float | None = None, atol: float | None = None) -> Comparison:
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
        TypeError: if ``expected`` or ``actual`` is not a str.
        ValueError: if ``rtol`` or ``atol`` is negative or not finite.

    Example:

    ```python
    from convdocs.verify import compare_outputs
    print(compare_outputs("tensor([1.0000, 2.5000])", "tensor([1.0000, 2.5000], device='cuda:0')"))
    print(compare_outputs("tensor([1.0000, 2.5000])", "tensor([1.0000, 2.6000])"))
    ```

    ```text
    outputs match
    line 1, column 17: expected '2.5000', got '2.6000' (beyond tolerance rtol=1e-06, atol=1e-08)
    ```
    """
    for name, value in (("expected", expected), ("actual", actual)):
        if not isinstance(value, str):
            raise TypeError(f"compare_outputs expects {name} to be a str, got {type(value).__name__}")
    rtol = DEFAULT_RTOL if rtol is None else rtol
    atol = DEFAULT_ATOL if atol is None else atol
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"compare_outputs expects {name} to be a number, got {type(value).__name__}")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"compare_outputs expects a finite {name} >= 0, got {value!r}")

    expected_lines, actual_lines = normalise(expected), normalise(actual)
    for number, (e_line, a_line) in enumerate(zip(expected_lines, actual_lines), start=1):
        e_tokens, a_tokens = tokenize(e_line), tokenize(a_line)
        for e, a in zip(e_tokens, a_tokens):
            reason = _tokens_match(e, a, rtol, atol)
            if reason:
                return Comparison(False, number, e.column, e.text, a.text, reason)
        if len(e_tokens) != len(a_tokens):
            shorter, longer = sorted((e_tokens, a_tokens), key=len)
            extra = longer[len(shorter)]
            missing = e_tokens is longer
            return Comparison(
                False, number, extra.column,
                e_line[extra.column - 1:] if missing else "end of line",
                "end of line" if missing else a_line[extra.column - 1:],
                "the line ends early" if missing else "the line goes on",
            )
    if len(expected_lines) != len(actual_lines):
        number = min(len(expected_lines), len(actual_lines)) + 1
        missing = len(expected_lines) > len(actual_lines)
        return Comparison(
            False, number, None,
            expected_lines[number - 1] if missing else "no more lines",
            "no more lines" if missing else actual_lines[number - 1],
            f"expected {len(expected_lines)} lines, got {len(actual_lines)}",
        )
    return Comparison(True)
