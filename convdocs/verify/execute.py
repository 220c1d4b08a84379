"""Run one cell as Jupyter would: its printed output plus the value of a final expression.

The value is formatted by IPython's pretty printer, which is what a Jupyter kernel shows
(for a tensor, its ``repr``; for a tuple of tensors, one element per line).

A cell runs under a ``Guard``: it may not write into the project (the harness runs it in a
temporary folder), it may not end the process (``os._exit``, ``sys.exit``) or steer the test
run (``pytest.skip``), it stops after a timeout, and the project files it reads are noted, so
that a page's stamp covers the data it depends on. Writes and reads are seen through Python's
audit hooks (PEP 578), which are process-wide: one hook, installed once, consults the guard in
force.
"""

from __future__ import annotations

import ast
import contextlib
import faulthandler
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from IPython.lib.pretty import pretty

DEFAULT_TIMEOUT = 60.0
"""Seconds a cell may run before it fails (``timeout`` in ``[tool.convdocs.verify]``)."""

_WRITE_EVENTS = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.truncate",
        "os.symlink",
        "os.link",
        "os.chmod",
        "os.chown",
        "os.utime",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.move",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class CellError(Exception):
    """A cell raised; ``str()`` is the traceback, pointing at the page's own lines."""


class CellTimeout(BaseException):
    """Raised inside a cell that ran past its timeout (a BaseException: ``except Exception``
    in the cell cannot swallow it)."""


class _ExitCalled(BaseException):
    """Raised instead of ending the process when a cell calls ``os._exit``."""


class _HandlerChanged(BaseException):
    """A cell replaced the signal handler the harness's timeout relies on."""


_CACHE_FOLDERS = frozenset(
    {
        ".cache",
        ".config",
        ".local",
        ".ipython",
        ".jupyter",
        ".matplotlib",
        ".git",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".venv",
        "venv",
        "__pycache__",
        "site-packages",
    }
)
"""Folders of tools and caches: reads there are not a page's data, writes there are allowed."""
_EXIT_SYMBOLS = frozenset({"exit", "_exit", "_Exit", "quick_exit", "abort"})
_SOURCE_SUFFIXES = (".py", ".pyc", ".md", ".markdown", ".mdown", ".mkdn", ".mkd", ".ipynb")
"""Files Python reads for imports and for tracebacks (a page's own lines): not a page's data."""


@dataclass
class Guard:
    """What a cell may touch: nothing under ``root`` for writing (but caches), no other process
    in its place (``exec``), no C ``exit``; ``reads`` collects the files under ``root`` it opens
    (Python modules it imports for the first time included), outside the installed environment."""

    root: Path
    reads: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)

    def _inside(self, path: object) -> str | None:
        """The path relative to the project when it lies in it (and not in the environment)."""
        if isinstance(path, int) or path is None:
            return None
        try:
            full = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        root = str(self.root)
        if os.path.commonpath([full, root]) != root:
            return None
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
            if os.path.commonpath([full, prefix]) == prefix:
                return None
        return os.path.relpath(full, root)

    @staticmethod
    def _cache(relative: str) -> bool:
        return any(part in _CACHE_FOLDERS for part in relative.split(os.sep))

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (*args, None, None, None)[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            relative = self._inside(path)
            if relative is None or self._cache(relative):
                return
            if writing:
                self._refuse(f"cells may not change files of the project ({relative})")
            elif relative.endswith(_SOURCE_SUFFIXES):
                return  # imports and tracebacks read sources; the fingerprint finds modules itself
            elif os.path.isfile(os.fsdecode(path)):
                self.reads.add(relative)
        elif event == "sqlite3.connect":
            relative = self._inside(args[0] if args else None)
            if relative is not None and not self._cache(relative):
                self.reads.add(relative)
        elif event in _WRITE_EVENTS:
            for path in args[:2]:
                relative = self._inside(path)
                if relative is not None and not self._cache(relative):
                    self._refuse(f"cells may not change files of the project ({relative})")
        elif event == "os.exec":
            self._refuse("cells may not replace the process with another program (os.exec*)")
        elif event == "ctypes.dlsym" and len(args) > 1 and str(args[1]) in _EXIT_SYMBOLS:
            self._refuse(f"cells may not call the C library's {args[1]}()")

    def _refuse(self, message: str) -> None:
        message += ": they run in a temporary folder, inside the test process"
        self.violations.append(message)
        raise PermissionError(message)


_guards: list[Guard] = []
"""The guard of the cell running now (a stack, for a cell that runs a nested session)."""
_hook: dict[str, bool] = {"installed": False}


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    if _guards:
        _guards[-1].audit(event, args)


@contextlib.contextmanager
def _guarded(guard: Guard | None) -> Iterator[None]:
    if guard is None:
        yield
        return
    if not _hook["installed"]:
        sys.addaudithook(_audit_hook)
        _hook["installed"] = True
    _guards.append(guard)
    try:
        yield
    finally:
        _guards.pop()


_process: dict[str, Any] = {"pid": None, "exit": None, "status": None}
"""The test process's own ``os._exit`` and what the session knows of its outcome."""


def protect_process() -> None:
    """Keep cells from ending the test process with a success it has not earned.

    ``os._exit`` (and ``posix._exit``) of this process is replaced once: inside a cell it
    raises, so the cell fails; anywhere else (a thread or an ``atexit`` handler a cell left
    behind) an exit with status 0 before the session has finished, or after it has failed,
    keeps the session's failure status instead. Child processes exit as they please.
    """
    if _process["pid"] == os.getpid():
        return
    original = _process["exit"] if _process["exit"] is not None else os._exit
    _process.update(pid=os.getpid(), exit=original, status=None)

    def guarded_exit(status: int) -> None:
        if os.getpid() != _process["pid"]:
            original(status)
            return
        if _guards:
            raise _ExitCalled(status)
        if status == 0 and _process["status"] != 0:
            status = 1 if _process["status"] is None else int(_process["status"])
            sys.stderr.write(
                f"convdocs: os._exit(0) refused before the test session succeeded; exit {status}\n"
            )
        original(status)

    os._exit = guarded_exit  # type: ignore[assignment]
    if "posix" in sys.modules:
        sys.modules["posix"]._exit = guarded_exit  # type: ignore[attr-defined]


def session_finished(status: int) -> None:
    """Tell the process guard how the test session ended."""
    _process["status"] = int(status)


@contextlib.contextmanager
def _no_process_exit() -> Iterator[None]:
    """``os._exit`` raises instead of ending the process (pytest would exit 0, CI go green)."""

    def refuse(status: int) -> None:
        raise _ExitCalled(status)

    modules = [os] + ([sys.modules["posix"]] if "posix" in sys.modules else [])
    saved = [(module, module._exit) for module in modules]
    for module in modules:
        module._exit = refuse  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in saved:
            module._exit = original  # type: ignore[attr-defined]


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``CellTimeout`` in this thread after ``seconds`` (SIGALRM on the main thread,
    else a timer that interrupts the main thread)."""
    if not seconds:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(signum: int, frame: object) -> None:
            raise CellTimeout(seconds)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        # A last resort if the cell disarms the alarm: end the run, with tracebacks, well after it.
        try:
            faulthandler.dump_traceback_later(seconds + 60, exit=True, file=sys.__stderr__)  # type: ignore[arg-type]
        except (AttributeError, ValueError, io.UnsupportedOperation):  # no real stderr to write to
            pass
        try:
            yield
        except BaseException:
            raise
        else:
            if signal.getsignal(signal.SIGALRM) is not on_alarm:
                raise _HandlerChanged("SIGALRM")
        finally:
            faulthandler.cancel_dump_traceback_later()
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    import _thread

    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        _thread.interrupt_main()

    timer = threading.Timer(seconds, interrupt)
    timer.start()
    try:
        yield
    except KeyboardInterrupt:
        if fired.is_set():
            raise CellTimeout(seconds) from None
        raise
    finally:
        timer.cancel()


def run_cell(code: str, namespace: dict, filename: str, first_line: int, **options: Any) -> str:
    """Execute ``code`` in ``namespace`` and return what it printed, as a cell's output."""
    __tracebackhide__ = True
    printed, value = run_cell_parts(code, namespace, filename, first_line, **options)
    return printed if value is None else printed + value + "\n"


def run_cell_parts(
    code: str,
    namespace: dict,
    filename: str,
    first_line: int,
    *,
    timeout: float | None = None,
    guard: Guard | None = None,
) -> tuple[str, str | None]:
    """Execute ``code`` in ``namespace``; return what it printed and its final value's text (or None).

    Line numbers in tracebacks are those of the page: ``first_line`` is the page line of
    the code's first line, and ``filename`` the page's path.

    Raises:
        CellError: if the code does not compile, raises, exits, runs past ``timeout`` seconds,
            or writes into the project that ``guard`` protects.
    """
    __tracebackhide__ = True
    buffer = io.StringIO()
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as error:
        line = (error.lineno or 1) + first_line - 1
        raise CellError(
            f"the cell does not compile at {filename}:{line}: {error.msg}\n"
            f"    {(error.text or '').strip()}"
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
        with (
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
            _guarded(guard),
            _no_process_exit(),
            _time_limit(timeout),
        ):
            exec(compile(tree, filename, "exec"), namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
                if value is not None:
                    result = pretty(value)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a cell may raise anything; report it
        raise CellError(_describe(error, filename, buffer.getvalue(), timeout, guard)) from None
    if guard is not None and guard.violations:
        raise CellError(
            f"the cell at {filename}:{first_line} {guard.violations[0]} "
            "(it caught the PermissionError, but the write was refused)"
        )
    return buffer.getvalue(), result


def _describe(
    error: BaseException, filename: str, printed: str, timeout: float | None, guard: Guard | None
) -> str:
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next  # drop the harness's own frames
    page_lines = [f.lineno for f in traceback.extract_tb(tb) if f.filename == filename]
    where = f"{filename}:{page_lines[-1]}" if page_lines else filename
    if isinstance(error, CellTimeout):
        return f"the cell ran longer than its timeout of {timeout:g} s and was stopped at {where}"
    if isinstance(error, _HandlerChanged):
        return (
            f"the cell at {where} changed the {error.args[0]} handler, which the harness needs to stop "
            "a cell that runs too long"
        )
    if isinstance(error, _ExitCalled):
        return (
            f"the cell called os._exit({error.args[0]}) at {where}: a cell may not end the process"
        )
    if isinstance(error, SystemExit):
        return (
            f"the cell called sys.exit({error.code!r}) at {where}: a cell may not end the process"
        )
    if not isinstance(error, Exception) or type(error).__module__ == "_pytest.outcomes":
        return (
            f"the cell raised {type(error).__module__}.{type(error).__name__} at {where}: a cell may "
            "not skip, fail or stop the test run itself (only a skip marker skips a cell)"
        )
    text = "".join(traceback.format_exception(type(error), error, tb))
    return f"the cell raised at {where}\n{printed}{text}"
