"""The processes a document's examples run in, on the far side of a process boundary.

``python -m convdocs.verify.child FD PRELOAD`` starts a *zygote*: it imports the third-party
modules the documents use (PRELOAD, a JSON list), builds one IPython shell, and touches no
device. For each document the checker sends it a socket over the control socket FD; the zygote
forks, and the child runs that document's examples in the shell, as a Jupyter kernel would, and
answers each request with plain data (JSON). Nothing a cell does in the child can reach the
checker: the comparison, the session and the record live in the pytest process.

Messages on a document's socket are JSON, one per line (``send``/``receive``, used by both
sides); the parent never unpickles anything the child sends.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import importlib
import importlib.util
import io
import json
import linecache
import os
import random
import signal
import socket
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, BinaryIO

# --- messages, for both sides ---------------------------------------------------------------


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one JSON message, as one line (JSON escapes every line break in it)."""
    sock.sendall(json.dumps(message).encode("utf-8") + b"\n")


def receive(stream: BinaryIO) -> dict[str, Any] | None:
    """The next JSON message on ``stream`` (a socket's ``makefile("rb")``), or None when the
    other side has closed the socket (in the middle of a message, or before one)."""
    line = stream.readline()
    if not line.endswith(b"\n"):
        return None
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError(f"expected a JSON object, got {type(message).__name__}")
    return message


# --- what a cell may touch --------------------------------------------------------------------

_WRITE_EVENTS: dict[str, tuple[tuple[int, int | None], ...]] = {
    "os.remove": ((0, 1),),
    "os.rmdir": ((0, 1),),
    "os.mkdir": ((0, 2),),
    "os.rename": ((0, 2), (1, 3)),
    "os.link": ((0, 2), (1, 3)),
    "os.symlink": ((0, None), (1, 2)),
    "os.chmod": ((0, 2),),
    "os.chown": ((0, 3),),
    "os.utime": ((0, 3),),
    "os.truncate": ((0, None),),
    "shutil.rmtree": ((0, 1),),
    "shutil.copyfile": ((0, None), (1, None)),
    "shutil.move": ((0, None), (1, None)),
}
"""The audit events that change files: for each path they name, its place among the event's
arguments and that of the folder descriptor a relative one is read from (``dir_fd``)."""
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_CACHE_FOLDERS = frozenset(
    ".cache .config .local .ipython .jupyter .matplotlib .git .mypy_cache .pytest_cache "
    ".ruff_cache .venv venv __pycache__ site-packages".split()
)
"""Folders of tools and caches: reads there are not a document's data, writes there are allowed."""
_DOCUMENT_SUFFIXES = (".md", ".markdown", ".mdown", ".mkdn", ".mkd", ".ipynb")
"""Documents, which tracebacks read: not a document's data (its examples are fingerprinted)."""


@dataclass
class Guard:
    """Refuses writes under ``root`` (but caches) with a clear ``PermissionError``, and notes the
    project files the document reads (data files read at import time included). The parent
    also compares the project's files before and after each example, so a cell that gets
    around this guard still fails."""

    root: Path
    modules: set[str] = field(default_factory=set)
    """The names of the loaded modules that may be the project's: the zygote's under ``root``
    (``_modules_under``), then every module imported here."""
    reads: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)

    def _inside(self, path: object) -> str | None:
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
        relative = os.path.relpath(full, root)
        return None if any(p in _CACHE_FOLDERS for p in relative.split(os.sep)) else relative

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "import":
            self.modules.add(args[0])
        elif event == "open":
            path, mode, flags = (*args, None, None, None)[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if not writing and isinstance(path, str) and path.endswith(".pyc"):
                with contextlib.suppress(ValueError):  # a module read from its cache: its source
                    path = importlib.util.source_from_cache(path)
            relative = self._inside(path)
            if relative is None:
                return
            if writing:
                self._refuse(relative)
            elif not relative.endswith(_DOCUMENT_SUFFIXES) and os.path.isfile(os.fsdecode(path)):
                self.reads.add(relative)
        elif event == "sqlite3.connect":
            relative = self._inside(args[0] if args else None)
            if relative is not None:
                self.reads.add(relative)
        elif event in _WRITE_EVENTS:
            for at, fd_at in _WRITE_EVENTS[event]:
                path, fd = args[at] if at < len(args) else None, None
                if fd_at is not None and fd_at < len(args):
                    fd = args[fd_at]
                if isinstance(fd, int) and fd >= 0 and isinstance(path, (str, bytes)):
                    with contextlib.suppress(OSError):  # a name in a folder opened before
                        path = os.path.join(os.readlink(f"/proc/self/fd/{fd}"), os.fsdecode(path))
                relative = self._inside(path)
                if relative is not None:
                    self._refuse(relative)

    def loaded(self) -> list[str]:
        """The project files the document's process has read or imported so far: its data
        (data files read at import time included) and every project module it has loaded."""
        found = (sys.modules.get(name) for name in list(self.modules))
        files = (vars(m).get("__file__") for m in found if isinstance(m, ModuleType))
        ours = (f for f in files if _in_project(f, str(self.root)))
        return sorted(self.reads | {r for f in ours if (r := self._inside(f))})

    def _refuse(self, relative: str) -> None:
        message = f"examples may not change files of the project ({relative})"
        self.refused.append(message)
        raise PermissionError(message)


# --- the document's process -------------------------------------------------------------------


class _Stream(io.TextIOBase):
    """sys.stdout or sys.stderr of a cell: every write kept, in order, as Jupyter stores a
    stream's output (consecutive writes to one stream in one output)."""

    def __init__(self, name: str, outputs: list[dict[str, Any]]) -> None:
        self.name, self.outputs = name, outputs

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text and self.outputs and self.outputs[-1].get("name") == self.name:
            self.outputs[-1]["text"] += text
        elif text:
            self.outputs.append({"name": self.name, "output_type": "stream", "text": text})
        return len(text)


class _LineOffset(ast.NodeTransformer):
    """Moves a cell's line numbers to where the cell stands in its document."""

    lines = 0

    def visit(self, node: ast.AST) -> ast.AST:
        return ast.increment_lineno(node, self.lines)


def make_shell() -> Any:
    """The one IPython shell of the zygote: no history file (and so no history thread, which a
    fork must not copy), plain tracebacks, and a display hook that keeps the value's text
    instead of printing it after an ``Out[n]:`` prompt."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class KeptDisplays(DisplayPublisher):
        """In a notebook, each display kept with all its data, as Jupyter stores it; on a page
        only its text is shown, printed (IPython's own behaviour without a front end)."""

        outputs: list[dict[str, Any]] | None = None

        def publish(self, data: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            if kwargs.get("update"):  # an earlier display changed in place: no output here
                return
            if self.outputs is None:
                super().publish(data, *args, **kwargs)
            else:
                self.outputs.append(_output("display_data", data))

    class KeptValue(DisplayHook):
        value: str | None = None

        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict: dict[str, Any], md_dict: Any = None) -> None:
            self.value = format_dict.get("text/plain")
            outputs = shell.display_pub.outputs
            if outputs is not None:  # a notebook's: its whole result
                outputs.append(_output("execute_result", format_dict))

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell: Any = InteractiveShell.instance(
        config=config, displayhook_class=KeptValue, display_pub_class=KeptDisplays
    )
    # %matplotlib (inline or any backend): on a page figures are drawn off-screen with Agg and
    # the checker collects each cell's figures itself; a notebook has the inline backend
    shell.enable_matplotlib = lambda gui=None: (gui, "agg")
    # the child formats errors itself
    shell.showtraceback = shell.showsyntaxerror = lambda *args, **kwargs: None
    # help (``len?``) goes to Jupyter's pager, apart from the cell's outputs: here, nowhere
    shell.set_hook("show_in_pager", lambda *args, **kwargs: None)
    offset = _LineOffset()
    shell.ast_transformers.append(offset)
    shell.convdocs_offset = offset
    cache = shell.compile.cache

    def cache_at_its_lines(code: str, number: int = 0, raw_code: str | None = None) -> str:
        """IPython's cache of the cell's lines, at the lines the cell has in its document (which
        warnings and tracebacks read)."""
        name = cache(code, number, raw_code)
        size, mtime, lines, full = linecache.cache[name]  # type: ignore[misc]
        linecache.cache[name] = (size, mtime, ["\n"] * offset.lines + lines, full)
        return name

    shell.compile.cache = cache_at_its_lines
    return shell


def _hooks() -> dict[str, Any]:
    """What a cell could leave behind in its process, by what setting it is called: a profiler or
    tracer, signal handlers. (Exit handlers never run: the process ends with ``os._exit``, and
    libraries register them on import.)"""
    hooks: dict[str, Any] = {
        "set a profile function": sys.getprofile(),
        "set a trace function": sys.gettrace(),
        "set a threading profile function": threading.getprofile(),
        "set a threading trace function": threading.gettrace(),
    }
    for number in signal.Signals:
        with contextlib.suppress(ValueError, OSError):
            hooks[f"changed the handler of {number.name}"] = signal.getsignal(number)
    return hooks


def _traceback(error: BaseException, filename: str, code: str, first_line: int) -> str:
    """The error as Python prints it, from the document's first frame on, with the document's
    own lines (the checker's and IPython's frames left out)."""
    frames = list(traceback.extract_tb(error.__traceback__))
    ours = [i for i, frame in enumerate(frames) if frame.filename == filename]
    frames = frames[ours[0] :] if ours else frames
    frames = [f for f in frames if f.filename != __file__ and "/IPython/" not in f.filename]
    lines = code.splitlines()
    rows = []
    for frame in frames:
        text = frame.line
        if frame.filename == filename:
            index = (frame.lineno or 0) - first_line
            text = lines[index] if 0 <= index < len(lines) else ""
        rows.append((frame.filename, frame.lineno or 0, frame.name, text))
    where = next((f"{filename}:{row[1]}" for row in reversed(rows) if row[0] == filename), filename)
    stack = "".join(traceback.StackSummary.from_list(rows).format())
    last = "".join(traceback.format_exception_only(type(error), error))
    return f"raised at {where}\nTraceback (most recent call last):\n{stack}{last}"


def _describe(result: Any, filename: str, code: str, first_line: int) -> str | None:
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        return None
    if isinstance(error, SyntaxError) and result.error_before_exec is not None:
        line, text = (error.lineno or 1) + first_line - 1, (error.text or "").strip()
        return f"does not compile at {filename}:{line}: {error.msg}\n    {text}"
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r}): an example may not end its process"
    return _traceback(error, filename, code, first_line)


def _output(output_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """A display or result as Jupyter stores it, its bytes (an image) in base64."""
    data = {
        k: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
        for k, v in data.items()
    }
    return {"data": data, "metadata": {}, "output_type": output_type}


_INLINE = "module://matplotlib_inline.backend_inline"


def _inline_figures(shell: Any) -> None:
    """Draw a notebook's figures as Jupyter does: with matplotlib's inline backend, which shows
    each figure as a display (PNG) when the cell ends or at ``plt.show()``."""
    if "matplotlib.pyplot" in sys.modules:
        from IPython.core.pylabtools import activate_matplotlib
        from matplotlib_inline.backend_inline import configure_inline_support

        activate_matplotlib(_INLINE)
        configure_inline_support(shell, _INLINE)
    else:  # matplotlib, when pyplot is imported, loads the backend, which then sets itself up
        os.environ["MPLBACKEND"] = _INLINE
        if "matplotlib" in sys.modules:
            sys.modules["matplotlib"].rcParams["backend"] = _INLINE


def _figures() -> dict[str, Any]:
    """The open matplotlib figures: how many, and the one figure as PNG (Agg, 100 dpi); then
    every figure is closed."""
    if "matplotlib.pyplot" not in sys.modules:
        return {"count": 0, "png": None}
    import matplotlib.pyplot as plt

    numbers = plt.get_fignums()
    png = None
    if len(numbers) == 1:
        buffer = io.BytesIO()
        plt.figure(numbers[0]).savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
    plt.close("all")
    return {"count": len(numbers), "png": png}


class Document:
    """One document's run in its own process: the shell, its guard, and the requests it serves."""

    def __init__(self, shell: Any, guard: Guard) -> None:
        self.shell, self.guard = shell, guard
        self.inline = False
        self.namespaces: dict[str, ModuleType] = {}
        self.displayhooks: dict[str, Any] = {}

    def run(
        self,
        code: str,
        filename: str,
        first_line: int,
        session: bool = False,
        notebook: bool = False,
        namespace: str = "",
    ) -> dict[str, Any]:
        """Run a cell as Jupyter would: what it wrote to each stream, in order, its value as the
        display formatter shows it, an error, the figure it drew and what else it changed.
        ``session``: a ``>>>`` example, run as doctest runs it (``_as_doctest``), and an
        exception it raises is data (``exception``, as Python's last traceback line has it),
        not an error. What it showed is kept as Jupyter stores outputs; for a ``notebook``'s
        cell with its displays and result, with all their data, in order among the streams,
        and its figures drawn by the inline backend, as displays. A ``namespace`` other than ""
        is one of the document's own, apart from its cells' (the sessions of a project that
        runs them as doctest does, ``evaluate.run_twice``)."""
        shell = self.shell
        if namespace and namespace not in self.namespaces:  # with IPython's own names
            self.namespaces[namespace] = ModuleType("__main__")
            vars(self.namespaces[namespace]).update(shell.user_ns_hidden)
        main = shell.user_module
        shell.user_module = self.namespaces.get(namespace, main)
        shell.user_ns = vars(shell.user_module)
        outputs: list[dict[str, Any]] = []
        if notebook and not self.inline:
            self.inline = True
            _inline_figures(shell)
        shell.display_pub.outputs = outputs if notebook else None
        shell.displayhook.value = None
        shell.convdocs_offset.lines = first_line - 1
        shell.compile.get_code_name = lambda raw, transformed, number: filename
        before = _hooks()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream("stdout", outputs), _Stream("stderr", outputs)
        try:
            if session and not notebook:  # (a notebook's raises-exception cell is a cell)
                result = self._as_doctest(code, filename, first_line, namespace)
            else:
                result = shell.run_cell(code, store_history=True)
        finally:
            sys.stdout, sys.stderr = saved
            shell.user_module, shell.user_ns = main, vars(main)
        raised = result.error_in_exec
        exception = None
        if session and raised is not None and not isinstance(raised, SystemExit):
            # its last line, as doctest compares it (a SyntaxError's caret lines left out)
            exception = traceback.format_exception_only(type(raised), raised)[-1]
            result.error_in_exec = None
        error = _describe(result, filename, code, first_line)
        changes = [name for name, hook in _hooks().items() if hook is not before.get(name)]
        if self.guard.refused and error is None:
            error = f"tried to change a file and caught the refusal: {self.guard.refused[0]}"
        self.guard.refused.clear()
        return {
            "outputs": outputs,
            "value": shell.displayhook.value,
            "error": error,
            "exception": exception,
            "changes": changes,
            "figures": _figures(),
            "reads": self.guard.loaded(),
        }

    def _as_doctest(self, code: str, filename: str, first_line: int, namespace: str) -> Any:
        """Run a ``>>>`` example as doctest runs it, without IPython: compiled in ``single``
        mode, each expression's value shown by ``sys.displayhook``, which the examples of a
        namespace may replace (``init_printing`` does) and which is Python's own until they do."""
        result = SimpleNamespace(error_before_exec=None, error_in_exec=None)
        try:
            tree = ast.increment_lineno(ast.parse(code, filename, "single"), first_line - 1)
            compiled = compile(tree, filename, "single", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            result.error_before_exec = error
            return result
        saved, sys.displayhook = (
            sys.displayhook,
            self.displayhooks.get(namespace, sys.__displayhook__),
        )
        try:
            exec(compiled, self.shell.user_ns)
        except BaseException as error:  # (an exit too: see ``_describe``)
            result.error_in_exec = error
        finally:
            self.displayhooks[namespace], sys.displayhook = sys.displayhook, saved
        return result

    def evaluate(self, expression: str) -> dict[str, Any]:
        """The value of an expression in the document's namespace, as a number if it is one."""
        try:
            value = eval(compile(expression, "<prose>", "eval"), dict(self.shell.user_ns))
        except Exception as error:
            return {"error": f"{type(error).__name__}: {error}"}
        size: Any = getattr(value, "numel", lambda: getattr(value, "size", 0))
        one = callable(getattr(value, "item", None)) and (size() if callable(size) else size) == 1
        item = value.item() if one else value  # a tensor or array of one element: its number
        real = isinstance(item, (int, float)) and not isinstance(item, bool)
        return {"number": float(item) if real else None, "repr": repr(value)}

    def source(self, dotted: str) -> dict[str, Any]:
        """The source of a package object as a page shows it: without its docstring."""
        import inspect
        import textwrap

        module_name, _, attribute_path = dotted.partition(":")
        if not attribute_path:
            module_name, _, attribute_path = dotted.rpartition(".")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attribute_path.split("."):
                obj = getattr(obj, part)
            source = textwrap.dedent(inspect.getsource(obj))
        except (ImportError, AttributeError, ValueError, TypeError, OSError) as error:
            return {
                "error": f"the source marker names {dotted!r}, which cannot be imported: {error}"
            }
        node = ast.parse(source).body[0]
        lines = source.splitlines(keepends=True)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and ast.get_docstring(node) is not None
        ):
            del lines[node.body[0].lineno - 1 : node.body[0].end_lineno]
        return {"source": "".join(lines), "reads": self.guard.loaded()}

    def serve(self, sock: socket.socket) -> None:
        stream = sock.makefile("rb")
        while True:
            try:
                request = receive(stream)
            except OSError:  # the checker hung up (a failed example ends the document)
                return
            if request is None:
                return
            op = request.pop("op", None)
            handler: Any = {"run": self.run, "eval": self.evaluate, "source": self.source}.get(op)
            send(sock, handler(**request) if handler else {"error": f"unknown request {op!r}"})


def _seed(seed: int) -> None:
    random.seed(seed)
    for name, call in (("torch", "manual_seed"), ("numpy.random", "seed")):
        module = sys.modules.get(name)
        if module is not None:
            getattr(module, call)(seed)


def device_name(device: str) -> str:
    """The model of the device the examples run on, read before any example runs."""
    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(torch.device(device)))
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    import platform

    return platform.processor() or platform.machine() + " CPU"


def _start_device(device: str) -> str:
    """Start ``device`` in this process (CUDA starts here, never in the zygote) and say which
    device torch now runs on, as a tensor's ``.device`` names it."""
    if not device.startswith("cuda"):
        return device
    import torch

    torch.cuda.set_device(torch.device(device))
    return f"cuda:{torch.cuda.current_device()}"


def _document(sock: socket.socket, shell: Any, start: dict[str, Any]) -> None:
    """A forked child: set up the document's run, say hello, then serve its examples."""
    os.chdir(start["workdir"])
    os.environ.update(start["environment"])
    sys.path[:] = start["path"]  # the project's modules import as in the test process
    importlib.invalidate_caches()
    _seed(int(start["seed"]))
    hello: dict[str, Any] = {"pid": os.getpid()}
    try:
        hello["device"] = _start_device(start["device"])
        hello["device_name"] = device_name(hello["device"])
    except Exception as error:  # a CUDA device that cannot start: every example says so
        hello["error"] = f"the device {start['device']} cannot be used: {error}"
    torch = sys.modules.get("torch")
    hello["versions"] = {
        "python": ".".join(map(str, sys.version_info[:3])),
        **({"torch": str(torch.__version__)} if torch else {}),
    }
    guard = Guard(Path(start["root"]), set(start["modules"]))
    sys.addaudithook(guard.audit)
    send(sock, hello)
    Document(shell, guard).serve(sock)


@functools.cache
def _modules_under(root: str) -> list[str]:
    """The zygote's modules whose files lie under ``root``, found once before it forks (a child
    that read every module would copy thousands of memory pages that it shares with the zygote)."""
    loaded = [(name, m) for name, m in list(sys.modules.items()) if isinstance(m, ModuleType)]
    return [name for name, m in loaded if _in_project(vars(m).get("__file__"), root)]


def _in_project(path: object, root: str) -> bool:
    """Whether a module's file may be the project's (a first sieve, by the path's text): under
    ``root``, and not in the environment (which may sit inside it, with thousands of modules)."""
    installed = tuple(os.path.join(p, "") for p in (sys.prefix, sys.base_prefix))
    return isinstance(path, str) and path.startswith(root) and not path.startswith(installed)


def zygote(control: socket.socket, preload: list[str]) -> None:
    """Import ``preload``, build the shell, then fork one child per document request."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in preload:
        with contextlib.suppress(Exception):  # the document's own import fails with a clear message
            importlib.import_module(name)
    shell = make_shell()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        except OSError:
            return
        if not data:
            return
        start = json.loads(data)
        start["modules"] = _modules_under(start["root"])
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                with socket.socket(fileno=fds[0]) as sock:
                    _document(sock, shell, start)
            except BaseException:
                traceback.print_exc()
                status = 1
            finally:
                os._exit(status)  # no atexit handler of a cell runs
        os.close(fds[0])
        control.send(json.dumps({"pid": pid}).encode("utf-8"))


if __name__ == "__main__":
    with socket.socket(fileno=int(sys.argv[1])) as control_socket:
        zygote(control_socket, json.loads(sys.argv[2]))
