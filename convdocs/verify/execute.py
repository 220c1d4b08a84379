"""Run one cell as Jupyter would: its printed output plus the value of a final expression.

The value is formatted by IPython's pretty printer, which is what a Jupyter kernel shows
(for a tensor, its ``repr``; for a tuple of tensors, one element per line).
"""

from __future__ import annotations

import ast
import contextlib
import io
import traceback

from IPython.lib.pretty import pretty


class CellError(Exception):
    """A cell raised; ``str()`` is the traceback, pointing at the page's own lines."""


def run_cell(code: str, namespace: dict, filename: str, first_line: int) -> str:
    """Execute ``code`` in ``namespace`` and return what it printed, as a cell's output."""
    __tracebackhide__ = True
    printed, value = run_cell_parts(code, namespace, filename, first_line)
    return printed if value is None else printed + value + "\n"


def run_cell_parts(
    code: str, namespace: dict, filename: str, first_line: int
) -> tuple[str, str | None]:
    """Execute ``code`` in ``namespace``; return what it printed and its final value's text (or None).

    Line numbers in tracebacks are those of the page: ``first_line`` is the page line of
    the code's first line, and ``filename`` the page's path.

    Raises:
        CellError: if the code does not compile or raises.
    """
    __tracebackhide__ = True
    buffer = io.StringIO()
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as error:
        line = (error.lineno or 1) + first_line - 1
        raise CellError(
            f"the cell does not compile at {filename}:{line}: {error.msg}\n    {(error.text or '').strip()}"
        ) from None
    ast.increment_lineno(tree, first_line - 1)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    assert last is None or isinstance(last, ast.Expr)
    if code.rstrip().endswith(";"):  # as in Jupyter, a final semicolon hides the value
        if last is not None:
            tree.body.append(last)
        last = None
    result = None
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile(tree, filename, "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
                if value is not None:
                    result = pretty(value)
    except Exception as error:
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next  # drop the harness's own frames
        page_lines = [f.lineno for f in traceback.extract_tb(tb) if f.filename == filename]
        where = f"{filename}:{page_lines[-1]}" if page_lines else filename
        text = "".join(traceback.format_exception(type(error), error, tb))
        raise CellError(f"the cell raised at {where}\n{buffer.getvalue()}{text}") from None
    return buffer.getvalue(), result
