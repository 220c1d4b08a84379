"""Run one example and judge it: a cell of a page or docstring, a notebook cell, or a problem.

Every evaluator takes an ``Outcome``: the run's settings and a sybil ``Example`` whose
``parsed`` is what ``documents.read_source`` found. It returns None when the example holds, or
the failure message, and leaves in the outcome what the session records: what the example
printed, and, in update mode, the edits that rewrite an output instead of failing. Nothing here
knows the session, or any page.

A cell runs twice (``run_twice``): in the document's process, and in a shadow process whose
random generators started from another hidden seed; the outputs must agree. Both are children
of ``runner.Zygote``: nothing a cell does reaches this process, which only compares.
"""

from __future__ import annotations

import difflib
import doctest
import functools
import os
import pickle
import re
import traceback
from base64 import b64decode
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from _pytest.doctest import _get_checker

from convdocs.verify import tolerances
from convdocs.verify.cells import Cell, Claim, Fence, Marker, Problem, doctest_parser
from convdocs.verify.compare import compare_outputs
from convdocs.verify.documents import figure_file
from convdocs.verify.edits import (
    FileWrite,
    NotebookOutput,
    TextEdit,
    indent_lines,
    read_text,
    sha256,
)
from convdocs.verify.figures import (
    DEFAULT_TOL,
    Drawn,
    figure_difference,
    figure_problem,
    image_difference,
)
from convdocs.verify.notebook import IMAGES, STREAMS, NotebookCell, shown_by
from convdocs.verify.rules import DEVICE_NAMES
from convdocs.verify.runner import ProcessEnded, changed_files, project_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from convdocs.verify.config import Settings
    from convdocs.verify.edits import Edit
    from convdocs.verify.runner import DocumentRun


@dataclass
class Outcome:
    """One example's judgement: what an evaluator is given (the run's settings, the example, and
    how to start its document's processes) and what it gives back beside its failure message
    (what the example printed, the edits the update mode makes, and why its document's
    processes must end), which the session then records. Evaluators know nothing of the session."""

    settings: Settings
    example: Any
    start: Callable[[], DocumentRun]
    printed: str | None = None
    edits: list[Edit] = field(default_factory=list)
    ended: str | None = None

    @functools.cached_property
    def run(self) -> DocumentRun:
        """The document's processes, started at its first example that needs them."""
        return self.start()

    @property
    def page(self) -> str:
        """The document's path as failures name it: relative to the project's root."""
        return os.path.relpath(self.example.document.path, self.settings.project.root)


def guarded(evaluator: Callable[[Outcome], str | None], outcome: Outcome) -> str | None:
    """Run an evaluator; a bug in the checker becomes a failure that names the page and line."""
    __tracebackhide__ = True
    where = f"{outcome.page}:{outcome.example.line}"
    try:
        return evaluator(outcome)  # (a skip is no Exception: pytest's outcomes are BaseExceptions)
    except ProcessEnded as error:  # the document's process could not start, or is gone
        return f"{where}: {error}"
    except Exception as error:  # the checker itself failed: say where, never crash pytest
        detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return f"{where}: the checker failed on this example\n{detail}"


def skip_example(reason: str, outcome: Outcome) -> NoReturn:
    """An example not run here (another document's run vouches for it, or it is marked so), or
    not compared: skipped, saying why."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


def evaluate_problem(outcome: Outcome) -> str:
    """A problem is a failure, naming the document and line; one that the project's table lets
    pass (``unchecked = "skip"``) is a skipped example, saying why."""
    problem: Problem = outcome.example.parsed
    if problem.skipped:
        skip_example(f"not run: {problem.message}", outcome)
    return f"{outcome.page}:{problem.line}: {problem.message}"


def evaluate_claim(outcome: Outcome) -> str | None:
    """Check each number of a paragraph against the value it claims to be, rounded as written
    (the expression is evaluated in the document's process, where the marker stands)."""
    claim: Claim = outcome.example.parsed
    where, run = f"{outcome.page}:{claim.line}", outcome.run
    for literal, expression in claim.claims:
        try:
            reply = run.request({"op": "eval", "expression": expression})
        except ProcessEnded as error:
            return f"{where}: the prose claim {literal}={expression} cannot be evaluated: the expression {error}"
        if "error" in reply:
            return f"{where}: the prose claim {literal}={expression} cannot be evaluated: {reply['error']}"
        number = reply["number"]
        if not isinstance(number, (int, float)):
            return f"{where}: the prose claim {literal}={expression} is not a number (got {reply['repr']})"
        mantissa, _, exponent = literal.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        unit = 10.0 ** (int(exponent or 0) - decimals)
        if not abs(number - float(literal)) <= 0.5 * unit * (1 + 1e-9):
            shown = f"{number:.{decimals}f}" if not exponent else f"{number:.{decimals}e}"
            return (
                f"{where}: the paragraph above says {literal}, but {expression} is {number!r} "
                f"({shown} when written with the same digits)"
            )
    return None


def _check_source(outcome: Outcome, cell: Cell, marker: Marker) -> str | None:
    page = outcome.page
    request = {"op": "source", "dotted": marker.words[0]}  # (a ProcessEnded: see ``guarded``)
    reply = outcome.run.request(request)
    if "error" in reply:
        return f"{page}:{marker.line}: {reply['error']}"
    wanted = str(reply["source"])
    if wanted.rstrip() == cell.code.body.replace("\r\n", "\n").rstrip():
        return None
    if outcome.settings.writes_shared_outputs:
        return _queue_edit(outcome, cell, wanted, *_new_body(cell.code, wanted))
    diff = "".join(
        difflib.unified_diff(
            cell.code.body.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"{page} (shown)",
            f"{marker.words[0]} (package)",
        )
    )
    return f"{page}:{cell.code.line}: the code shown is not the source of {marker.words[0]}\n{diff}"


@dataclass(frozen=True)
class Ran:
    """A cell's run: what it showed, as Jupyter stores a cell's outputs (its streams in order,
    and a notebook cell's displays and result too), its final value's text as the display
    formatter shows it, and the figures it drew."""

    outputs: tuple[dict, ...]
    value: str | None
    drawn: Drawn
    exception: str | None = None
    """What a ``>>>`` example raised, as Python's last traceback line has it (sessions only)."""
    shadow: Ran | None = None
    """The shadow run, when the caller judges it itself (``run_twice(compared=False)``)."""

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> Ran:
        png = reply["figures"]["png"]
        drawn = Drawn(int(reply["figures"]["count"]), png and b64decode(png))
        return cls(tuple(reply["outputs"]), reply["value"], drawn, reply.get("exception"))

    def printed(self, *streams: str) -> str:
        """What it wrote to ``streams``, in order, then its value."""
        text = "".join(o["text"] for o in self.outputs if o.get("name") in streams)
        return text + ("" if self.value is None else self.value + "\n")

    @property
    def output(self) -> str:
        """What it printed, then its value: all a page's cell shows."""
        return self.printed("stdout", "stderr")

    @property
    def transcript(self) -> str:
        """Its output and then what it raised: all a session or a must-raise cell shows."""
        return self.output + (self.exception or "")

    @property
    def results(self) -> str:
        """What it wrote to stdout, and its value (a session's output, which leaves stderr out)."""
        return self.printed("stdout")

    @property
    def shown(self) -> tuple[tuple[str, str], ...]:
        """What it showed, by stream and data type (``notebook.shown_by``)."""
        return shown_by(list(self.outputs))[0]

    @property
    def compared(self) -> str:
        """What the shadow run must show alike: its transcript and every display's text (its
        displays' data beside the streams that the transcript holds, images aside)."""
        return self.transcript + "".join(t for k, t in self.shown if k not in {*IMAGES, *STREAMS})


def run_twice(
    outcome: Outcome,
    code: str,
    first_line: int,
    tolerance: tolerances.Tolerance,
    *,
    doctest: bool = False,
    compared: bool = True,
    notebook: bool = False,
    namespace: str = "",
) -> tuple[Ran | None, str | None]:
    """Run ``code`` in the document's process, and in its shadow process, whose random
    generators started from another hidden seed.

    Returns the visible run (None when the cell failed, but for a shadow that printed
    otherwise) and a failure (None when all holds):
    the cell raised or ended its process, left something behind in it (an exit handler, a
    profiler, a signal handler), changed the project's files, or the shadow printed otherwise.
    """
    __tracebackhide__ = True
    run, page, root = outcome.run, outcome.page, outcome.settings.project.root
    files_before = project_files(root)
    request = dict(
        op="run",
        code=code,
        filename=page,
        first_line=first_line,
        session=doctest,
        notebook=notebook,
        namespace=namespace,
    )
    replies = run.request_both(request)
    failure, ran, visible, varies = None, None, replies[0], None
    if isinstance(visible, ProcessEnded):
        failure = outcome.ended = str(visible)
    elif visible["error"]:
        failure = visible["error"]
        run.shadow_broken = True
    elif visible["changes"]:
        failure = f"{' and '.join(visible['changes'])}: an example must not leave anything behind in its process"
    else:
        ran = Ran.from_reply(visible)
    shadow = replies[1] if len(replies) > 1 else None
    if ran is not None and shadow is not None:  # (the shadow runs on, to keep in step)
        if isinstance(shadow, ProcessEnded) or shadow["error"]:
            run.shadow_broken = True
            failure = (
                "fails when the document runs a second time with its random generators seeded "
                "differently (a hidden seed the reader does not know):\n"
                f"{shadow if isinstance(shadow, ProcessEnded) else shadow['error']}"
            )
        elif not compared:  # the caller judges it (a session), or ignores it (%timeit)
            ran = replace(ran, shadow=Ran.from_reply(shadow))
        else:
            other = Ran.from_reply(shadow)
            result = compare_outputs(
                ran.compared, other.compared, rtol=tolerance.rtol, atol=tolerance.atol
            )
            if not result:
                varies = ran  # (it ran: what it left in its process stands)
                failure = (
                    "prints something else when the document runs a second time with its random "
                    "generators seeded differently: its output depends on a seed the reader cannot "
                    "see (or on the time, or the machine). Seed visibly in the document "
                    "(torch.manual_seed(0), or a torch.Generator), or print nothing that varies.\n"
                    f"first difference: {result}\n--- first run\n{ran.output}--- second run\n"
                    f"{other.output}"
                )
    if touched := changed_files(files_before, project_files(root)):
        varies = None
        failure = (
            f"changed files of the project ({', '.join(touched[:5])}): "
            "examples may not write into the project, by any means"
        )
    return (varies, f"{page}:{first_line}: the cell {failure}") if failure else (ran, None)


def _namespace(outcome: Outcome, cell: Cell, session: bool) -> str:
    """Where a document's example runs: in the document's namespace; or, in a project that
    lets blocks go unchecked (``unchecked = "skip"``), as doctest runs it: a page's sessions in
    one of their own (a README's Python block may rebind a name its sessions use), and each
    docstring's examples in one of the docstring's, with its module's names."""
    if outcome.settings.project.unchecked != "skip":
        return ""
    if not outcome.page.endswith(".py"):
        return "sessions" if session else ""
    spans = outcome.example.document.source.docstrings
    return next((f"docstring@{s}" for s, e, *_ in spans if s <= cell.start < e), "docstring")


def _check_figure(outcome: Outcome, marker: Marker, drawn: Drawn) -> str | None:
    page, path, target = outcome.page, outcome.example.document.path, marker.words[0]
    problem = figure_problem(page, path, outcome.example.document.text, target, drawn)
    if problem or drawn.png is None:
        return problem
    tol = float(marker.options.get("tol", DEFAULT_TOL))
    strict = outcome.settings.device_kind == "cpu"
    failure = figure_difference(page, path, target, tol, drawn.png, strict)
    if failure and outcome.settings.writes_shared_outputs:  # the update mode redraws it
        outcome.edits.append(FileWrite(str(figure_file(path, target, written=True)), drawn.png))
        return None
    return failure


def evaluate_cell(outcome: Outcome) -> str | None:
    """Run a cell and compare its output with the block shown for this device."""
    __tracebackhide__ = True
    cell: Cell = outcome.example.parsed
    page, settings = outcome.page, outcome.settings
    if cell.faults:
        return "\n".join(f"{page}:{line}: {message}" for line, message in cell.faults)

    if (skip := cell.marker("skip")) is not None:
        skip_example(f"not run: {skip.options['reason']}", outcome)

    if (source := cell.marker("source")) is not None:
        if cell.output is not None or cell.device_outputs:
            return f"{page}:{source.line}: a source cell shows code only; it cannot have an output block"
        return _check_source(outcome, cell, source)

    if cell.device_outputs and cell.output_for(settings.device_kind) is None:
        tabs = ", ".join(DEVICE_NAMES.get(kind, kind) for kind, _ in cell.device_outputs)
        return f"{page}:{cell.code.line}: this cell shows an output per device ({tabs}), but none for {settings.device}"

    tolerance = tolerances.for_cell(cell, settings.device_kind, settings.project)
    if cell.session:
        return _evaluate_session(outcome, cell, tolerance)
    namespace = _namespace(outcome, cell, session=False)
    if namespace.startswith("docstring") and (failure := _doctest_globals(outcome, namespace)):
        return failure
    shown = cell.output_for(settings.device_kind)
    lenient = settings.project.unchecked == "skip"
    # (a cell of a project's own whose output nothing shows: its shadow only keeps in step)
    ran, failure = run_twice(
        outcome,
        cell.code.body,
        cell.code.body_line,
        tolerance,
        namespace=namespace,
        compared=not (lenient and shown is None),
    )
    if ran is None or failure:
        return failure
    actual = outcome.printed = ran.output

    if (figure := cell.marker("figure")) is not None:
        if failure := _check_figure(outcome, figure, ran.drawn):
            return failure
    elif ran.drawn.count:
        return (
            f"{page}:{cell.code.line}: the cell draws a figure, but no figure marker says which "
            "image the document shows, so nothing compares the two: put "
            "<!-- convdocs: figure figures/NAME.png --> before the cell"
        )

    if shown is None and lenient:
        return None  # it ran; nothing shows what it prints, so nothing is compared
    expected = shown.body if shown is not None else ""
    if lenient:  # what it wrote to stdout and its value, as phmdoctest compares, will do too
        printed = ran.results
        if compare_outputs(expected, printed, rtol=tolerance.rtol, atol=tolerance.atol):
            outcome.printed = printed
            return None
    result = compare_outputs(expected, actual, rtol=tolerance.rtol, atol=tolerance.atol)
    if result:
        return None
    if settings.update and (cell.device_outputs or settings.writes_shared_outputs):
        return _queue_output(outcome, cell, shown, printed if lenient else actual)
    where = (shown or cell.code).line
    label = f" ({DEVICE_NAMES[settings.device_kind]} tab)" if cell.device_outputs else ""
    hint = (
        f"(a run on {settings.device} rewrites only the blocks of its own device tab; this block is "
        "shared by every device: fix the code, or show each device's output in CPU and GPU tabs)"
        if settings.update
        else "(run `pytest --update-outputs` to rewrite the block from the code)"
    )
    shown_text = expected if shown is not None else "(no output block)\n"
    return (
        f"{page}:{where}: the output{label} differs from what the code prints ({tolerance.origin})\n"
        f"first difference: {result}\n"
        f"--- shown in the document\n{shown_text}"
        f"--- printed now\n{actual}{hint}"
    )


def _evaluate_session(outcome: Outcome, cell: Cell, tolerance: tolerances.Tolerance) -> str | None:
    """Run a ``>>>`` session example by example, as doctest reads it (sybil's doctest parser),
    in the document's process; fail once, at the first example that prints otherwise."""
    page, body = outcome.page, cell.code.body
    try:
        regions = list(doctest_parser()(body, page))
    except ValueError as error:  # doctest's own words: a prompt without its space, an indent
        return f"{page}:{cell.code.body_line}: doctest cannot read this session: {error}"
    covered = {
        n
        for r in regions
        for n in range(body.count("\n", 0, r.start), body.count("\n", 0, r.end - 1) + 1)
    }
    lines = body.splitlines()
    stray = [
        n for n, text in enumerate(lines) if n not in covered and not _PROMPT_ONLY.fullmatch(text)
    ]
    if not cell.code.fence or outcome.settings.project.unchecked == "skip":
        stray = []  # a docstring's, or as doctest reads a session: the rest is prose
    if stray or not regions:  # shown in the block, yet no example runs or compares it
        n = stray[0] if stray else 0
        return (
            f"{page}:{cell.code.body_line + n}: this line of the session is neither a `>>>` example "
            f"nor its output, so nothing runs or compares it: {lines[n] if lines else ''!r}"
        )
    if cell.marker("figure") is not None:
        return f"{page}:{cell.line}: a figure marker applies to a python cell, not to a session"
    namespace = _namespace(outcome, cell, session=True)
    # a session sees pytest's doctest_namespace, and a docstring's its module's names, as doctest's
    if failure := _doctest_globals(outcome, namespace):
        return failure
    printed, rewrites, flags = [], [], outcome.settings.doctest_flags
    for region in regions:
        shown: doctest.Example = region.parsed
        line = cell.code.body_line + shown.lineno
        if shown.options.get(doctest.SKIP):  # shown with its `# doctest: +SKIP`, as doctest does
            continue
        ran, failure = run_twice(
            outcome,
            shown.source,
            line,
            tolerance,
            doctest=True,
            compared=False,
            namespace=namespace,
        )
        if ran is None or failure:
            return failure
        printed.append(ran.transcript)
        source = f"{page}:{line}: the session's example >>> {shown.source.splitlines()[0]}"
        if ran.drawn.count:
            return f"{source} draws a figure: draw it in a python cell with a figure marker"
        if (  # the update mode rewrites what the example prints (never a traceback)
            outcome.settings.writes_shared_outputs
            and shown.exc_msg is None
            and ran.exception is None
            and _doctest_difference(shown, ran, tolerance, flags)
        ):
            rewrites.append((region, ran.results))
            shown = doctest.Example(
                shown.source, ran.results, None, shown.lineno, shown.indent, shown.options
            )
        for run, when in (
            (ran, ""),
            (ran.shadow, " when the document runs again under a hidden seed"),
        ):
            difference = "" if run is None else _doctest_difference(shown, run, tolerance, flags)
            if difference:
                return f"{source}{when}\n{difference}"
    outcome.printed = "".join(printed)
    return _rewrite_session(outcome, cell, rewrites) if rewrites else None


def _rewrite_session(outcome: Outcome, cell: Cell, rewrites: list[tuple[Any, str]]) -> str | None:
    """Queue the edit that gives each rewritten example of a session (a sybil region of its
    body) what it prints now, as doctest expects it: indented like its prompt."""
    body = cell.code.body
    for region, output in reversed(rewrites):
        lines = body[region.start : region.end].splitlines(keepends=True)
        want = indent_lines(output, " " * region.parsed.indent) if output.strip() else ""
        source = "".join(lines[: region.parsed.source.count("\n")])
        body = body[: region.start] + source + want + body[region.end :]
    if cell.code.fence:  # a fenced session
        return _queue_edit(outcome, cell, body, *_new_body(cell.code, body))
    # a docstring's, as written between its other lines
    return _queue_edit(outcome, cell, body, cell.code.body_start, cell.code.body_end, body)


_PROMPT_ONLY = re.compile(r"[ \t]*(?:(?:>>>|\.\.\.)(?:[ \t]+#.*)?)?[ \t]*")
"""A session line that need not be covered by an example: blank, or a prompt with a comment."""


def _doctest_globals(outcome: Outcome, namespace: str) -> str | None:
    """Put into the document's ``namespace``, once, what a doctest there sees beside its own
    names: pytest's ``doctest_namespace`` (which a project's conftest.py fills: modules are
    imported, other values sent pickled), and in a docstring of a module (a .py file of the
    project), a copy of that module's globals (``__name__`` and ``__file__`` included)."""
    run, page = outcome.run, outcome.page
    if namespace in run.prepared:
        return None
    run.prepared.add(namespace)
    code = ["import importlib as _m, pickle as _p"]
    for key, value in outcome.example.namespace.get("doctest_namespace", {}).items():
        module = isinstance(value, ModuleType)
        try:
            data = value.__name__ if module else pickle.dumps(value)
        except Exception as error:  # (what cannot be pickled raises anything)
            return f"{page}:1: doctest_namespace[{key!r}] cannot be sent to the document's process: {error}"
        code.append(
            f"globals()[{key!r}] = {'_m.import_module' if module else '_p.loads'}({data!r})"
        )
    if page.endswith(".py"):
        name = page.removesuffix(".py").removesuffix("/__init__").removeprefix("src/")
        code.append(
            f"globals().update({{k: v for k, v in vars(_m.import_module("
            f"{name.replace('/', '.')!r})).items() if k != '__builtins__'}})"
        )
    if len(code) == 1:
        return None
    code.append("del _m, _p")
    request = {"op": "run", "code": "\n".join(code), "filename": page, "first_line": 1}
    request["namespace"] = namespace
    for reply in run.request_both(request):
        if failed := str(reply) if isinstance(reply, ProcessEnded) else reply["error"]:
            return f"{page}:1: what its doctests see (its module, doctest_namespace) cannot be loaded: {failed}"
    return None


DOCTEST_FLAGS = doctest.ELLIPSIS
"""The doctest flags every session has (an example turns others on with ``# doctest: +FLAG``):
``...`` in an expected output stands for any text, as most projects' doctests configure."""


def _doctest_difference(
    shown: doctest.Example, ran: Ran, tolerance: tolerances.Tolerance, project_flags: int = 0
) -> str:
    """Why ``ran`` is not what ``shown`` expects, or "": what it wrote to stdout and its value
    (as doctest, which leaves stderr to the terminal: a warning is no output of a session)
    within the tolerance (device-neutral, as for cells), or as doctest's own checker accepts it (``ELLIPSIS``,
    ``NORMALIZE_WHITESPACE`` and the other flags the example turns on); an expected exception
    by its last traceback line (only its type with ``IGNORE_EXCEPTION_DETAIL``)."""
    flags = DOCTEST_FLAGS | project_flags
    for flag, on in shown.options.items():
        flags = flags | flag if on else flags & ~flag
    checker = _get_checker()  # pytest's (ALLOW_UNICODE, ALLOW_BYTES and NUMBER too)
    if shown.exc_msg is not None:
        if ran.exception is None:
            return f"expected it to raise {shown.exc_msg.strip()}; it raised nothing and printed:\n{ran.output}"
        if flags & doctest.IGNORE_EXCEPTION_DETAIL:
            same = (
                ran.exception.split(":")[0].strip().split(".")[-1]
                == shown.exc_msg.split(":")[0].strip().split(".")[-1]
            )
        else:
            same = checker.check_output(shown.exc_msg, ran.exception, flags)
        return "" if same else f"expected it to raise:\n{shown.exc_msg}it raised:\n{ran.exception}"
    if ran.exception is not None:
        return f"it raised, where the session shows no traceback:\n{ran.exception}"
    result = compare_outputs(shown.want, ran.results, rtol=tolerance.rtol, atol=tolerance.atol)
    if result or checker.check_output(shown.want, ran.results, flags):
        return ""
    return (
        f"it prints otherwise ({tolerance.origin})\nfirst difference: {result}\n"
        f"--- shown in the session\n{shown.want}--- printed now\n{ran.results}"
    )


_UNSHOWABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


def _unwritable(example: Any, new: str) -> str | None:
    """Why ``new`` cannot be written into this document as it is (the document has problems, a
    control character a page cannot show, text that is not valid Unicode, a docstring's quotes
    or escapes), or None."""
    if any(isinstance(e, Problem) and not e.skipped for e in example.document.source.examples):
        return (
            "the update writes nothing into a document with problems (its rendering may not show "
            "this block as the checker reads it): fix them first"
        )
    try:
        new.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"the output is not valid Unicode ({error.reason} at character {error.start}); a page cannot show it"
    if bad := _UNSHOWABLE.search(new):
        return (
            f"the output contains the control character {bad.group()!r}, which a page cannot show as "
            "printed (a lone \\r even ends a Markdown line); print something a reader can see"
        )
    for start, end, raw, quote in example.document.source.docstrings:
        if start <= example.region.start < end:
            if quote in new:
                return f"the output contains {quote}, which would end the docstring; the update cannot write it"
            if "\\" in example.document.text[start:end] and not raw:
                return (
                    "this docstring has escape sequences, so the checker ran it as Python reads "
                    "it, and the update cannot write it as written: make it a raw docstring "
                    '(r"""...""") and update again'
                )
            if "\\" in new and not raw:
                return (
                    "the output contains a backslash, which this docstring would read as an escape: "
                    'make it a raw docstring (r"""...""") and update again'
                )
    return None


def _longest_run(body: str, char: str) -> int:
    """The longest run of ``char`` (three or more) that starts a line of ``body``."""
    runs = re.findall(rf"^[ \t]*({re.escape(char)}{{3,}})", body, re.M)
    return max(map(len, runs), default=0)


def _fence_for(body: str, indent: str, info: str, fence: str = "```") -> str:
    """A fence around ``body`` long enough that no line of it closes the fence early."""
    marker = fence[0] * max(3, len(fence), _longest_run(body, fence[0]) + 1)
    return f"{indent}{marker}{info}\n{indent_lines(body, indent) if body.strip() else ''}{indent}{marker}"


def _new_body(fence: Fence, body: str) -> tuple[int, int, str]:
    """The span and text that put ``body`` in ``fence``: its body only, or the whole fence, made
    longer, when a line of ``body`` would close it early."""
    if _longest_run(body, fence.fence[0]) >= len(fence.fence):
        new = _fence_for(body, fence.indent, fence.info, fence.fence).lstrip(" \t")
        return fence.start, fence.end, new
    return fence.body_start, fence.body_end, indent_lines(body, fence.indent)


def _queue_edit(
    outcome: Outcome, cell: Cell, shows: str, start: int, end: int, new: str
) -> str | None:
    """Queue the edit that replaces ``start:end`` of the document with ``new``, which shows
    ``shows``; or the failure that says why ``shows`` cannot be written (``_unwritable``)."""
    problem = _unwritable(outcome.example, shows)
    if problem:
        return f"{outcome.page}:{cell.code.line}: {problem}"
    path = outcome.example.document.path
    outcome.edits.append(TextEdit(path, start, end, new, sha256(read_text(path))))
    return None


def _queue_output(outcome: Outcome, cell: Cell, shown: Fence | None, actual: str) -> str | None:
    """Queue the edit that makes the page show ``actual`` (or a failure when it cannot be written)."""
    if shown is not None and (actual.strip() or cell.device_outputs):
        return _queue_edit(outcome, cell, actual, *_new_body(shown, actual))
    if shown is not None:
        return _queue_edit(outcome, cell, actual, cell.code.end, shown.end, "")
    outputs = outcome.settings.project.outputs
    language = next((o for o in outputs if not o.endswith(":")), "text")
    block = "\n\n" + _fence_for(actual, cell.code.indent, language)
    return _queue_edit(outcome, cell, actual, cell.code.end, cell.code.end, block)


def evaluate_notebook_cell(outcome: Outcome) -> str | None:
    """Run one notebook cell and compare it with its stored outputs."""
    __tracebackhide__ = True
    example, settings = outcome.example, outcome.settings
    cell: NotebookCell = example.parsed
    where = f"{outcome.page}:{example.line} (cell {cell.index})"
    if cell.fault:
        return f"{where}: {cell.fault}"
    if cell.problem and not settings.writes_shared_outputs:  # (a stored error: not run)
        outcome.ended = "failed, and a notebook's later cells build on it"
        return f"{where}: {cell.problem}"
    tolerance = tolerances.for_notebook(
        example.document.source.tolerances, settings.device_kind, settings.project
    )
    lenient = settings.project.unchecked == "skip"
    if "nbval-skip" in cell.tags and cell.expected and not lenient:
        return f"{where}: the cell is tagged nbval-skip, yet it shows stored outputs nothing checks"
    if "nbval-skip" in cell.tags:
        skip_example("not run: the cell is tagged nbval-skip", outcome)
    compared, raises = "nbval-ignore-output" not in cell.tags, cell.raises
    ran, failure = run_twice(
        outcome, cell.code, cell.line, tolerance, doctest=raises, compared=compared, notebook=True
    )
    if ran is not None and raises and ran.exception is None:
        failure = "the cell is tagged raises-exception, but it raised nothing"
    elif ran and ran.exception and cell.expected_error.strip() not in ("", ran.exception.strip()):
        failure = (
            f"the cell raised {ran.exception.strip()}; its stored error is {cell.expected_error}"
        )
    if ran is None or failure:  # later cells build on this one: they are not run, unless it
        if ran is None or not lenient:  # ran and only printed otherwise (nbval goes on)
            outcome.ended = "failed, and a notebook's later cells build on it"
        return f"{where}: {failure}"
    now = ran.shown
    outcome.printed = "".join(text for name, text in now if name == "output")
    if ran.drawn.count:  # not shown by the inline backend (the cell chose another)
        return f"{where}: the cell draws a figure that it does not show, so nothing checks it"
    if lenient and not (cell.executed and compared):
        return None  # it ran; nbval compares nothing of a cell never run, or tagged so
    if not compared:  # it ran; its outputs are shown unchecked: say so
        skip_example("ran, outputs not compared: the cell is tagged nbval-ignore-output", outcome)
    # where a warning was raised: a temporary file of Jupyter's kernel, or the notebook here
    at = re.compile(rf"^\S*?(?:ipykernel_\d+[/\\]\d+\.py|{re.escape(outcome.page)}):\d+: ", re.M)
    names = dict.fromkeys([*STREAMS, *(k for k, _ in cell.expected), *(k for k, _ in now)])
    strict = settings.device_kind == "cpu"  # where stored outputs are written
    # a project that lets blocks go unchecked compares images by number, as nbval (which
    # leaves them out): another matplotlib draws them a pixel apart
    found = (_difference(n, cell.expected, now, tolerance, strict, at, lenient) for n in names)
    difference = next(filter(None, found), "")
    if not (difference or cell.problem):
        return None
    if settings.writes_shared_outputs:  # the update mode stores what the cell shows now
        path = example.document.path
        outcome.edits.append(NotebookOutput(path, cell.index, ran.outputs, sha256(read_text(path))))
        return None
    return f"{where}: {difference}"


def _difference(
    name: str,
    expected: tuple[tuple[str, str], ...],
    now: tuple[tuple[str, str], ...],
    tolerance: tolerances.Tolerance,
    strict: bool,
    at: re.Pattern[str],
    count_images: bool = False,
) -> str:
    """Why what a notebook cell shows now of ``name`` (a stream, or a data type of its
    displays) is not what it stored, or "": images pixel by pixel (``strict``, see
    ``image_difference``), the rest as text within the tolerance, where ``at`` marks where a
    warning was raised."""
    stored, shown = ([t for k, t in pairs if k == name] for pairs in (expected, now))
    differs = f"the stored {name} differs from what the cell shows"
    if name in IMAGES and len(stored) != len(shown):
        return f"{differs}: it stored {len(stored)} and shows {len(shown)}"
    if name in IMAGES and count_images:
        return ""
    if name in IMAGES:
        for number, (old, new) in enumerate(zip(stored, shown, strict=True), start=1):
            reason = image_difference(b64decode(old), b64decode(new), DEFAULT_TOL, strict)
            if reason:
                return f"{differs}: image {number}: {reason}"
        return ""
    glue = "" if name in STREAMS else "\n"  # a stream's parts, or data that may lack a \n
    old, new = (at.sub("<cell>: ", glue.join(t) + glue * bool(t)) for t in (stored, shown))
    result = compare_outputs(old, new, rtol=tolerance.rtol, atol=tolerance.atol)
    if result:
        return ""
    return (
        f"{differs} ({tolerance.origin})\nfirst difference: {result}\n"
        f"--- stored\n{old}--- shown now\n{new}"
    )
