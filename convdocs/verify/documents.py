"""One parse path: what a document's examples are, for collection, the record and the stamps alike.

A *document* is a Markdown page (``.md``, ``.markdown``), a notebook (``.ipynb``) or a Python
module whose docstrings hold examples (``.py``). ``read_source`` turns one into a ``Source``:
its cells and problems at their places in the file. The test collection makes one test per
example from it, the record counts and fingerprints the same examples, and the site's stamps
read the record through it, so the three can never disagree about what a page holds.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import doctest
import functools
import hashlib
import itertools
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convdocs.verify.cells import (
    OUTPUTS,
    Cell,
    Claim,
    Fence,
    Marker,
    Problem,
    read_cells,
    split_lines,
)
from convdocs.verify.config import ProjectConfig, load_project
from convdocs.verify.notebook import NotebookCell, read_notebook
from convdocs.verify.rendered import disagreements

# the suffixes of the Markdown files that MkDocs renders
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkdn", ".mkd"})
_KINDS = {**dict.fromkeys(MARKDOWN_SUFFIXES, "page"), ".ipynb": "notebook", ".py": "docstring"}
SUFFIXES = frozenset(_KINDS)

Example = Cell | NotebookCell | Problem | Claim


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
    docstrings: tuple[tuple[int, int, bool, str], ...] = ()
    """For a module: each docstring's span between its quotes, whether it is raw, its quotes."""

    @property
    def example_count(self) -> int:
        return len(self.examples)

    def cells(self) -> list[Cell | NotebookCell]:
        """The examples that are code: cells of a page or docstring, or a notebook's code cells."""
        return [e for e in self.examples if isinstance(e, (Cell, NotebookCell))]


_LANGUAGE = re.compile(r"^[a-z]{2}(?:[_-][A-Z]{2})?$")


def language_of(path: str | Path) -> str | None:
    """The language a file names before its extension (``zh`` for ``pooling.zh.md``), if any."""
    suffixes = Path(path).suffixes
    if len(suffixes) >= 2 and _LANGUAGE.match(suffixes[-2][1:]):
        return suffixes[-2][1:]
    return None


def original_of(path: str | Path) -> Path | None:
    """The document that ``path`` translates (``pooling.md`` for ``pooling.zh.md``), or None
    when ``path`` is not a translation."""
    path = Path(path)
    language = language_of(path)
    if language is None:
        return None
    return path.with_name(path.name.removesuffix(f".{language}{path.suffix}") + path.suffix)


def translation_of(path: str | Path, language: str) -> Path:
    """Where the ``language`` translation of ``path`` sits: ``pooling.zh.md`` for
    ``pooling.md`` (whether it exists or not)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{language}{path.suffix}")


def figure_file(document: str | Path, target: str, *, written: bool = False) -> Path:
    """The image that ``document``'s figure marker ``target`` names, as mkdocs-static-i18n
    serves it: for a translation, its own ``name.zh.png`` beside ``name.png`` where there is
    one, and always where the update mode writes (a translation never redraws its original's)."""
    plain = Path(document).parent / target
    language = language_of(document)
    if language is None:
        return plain
    own = translation_of(plain, language)
    return own if written or own.is_file() else plain


def kind_of(path: str | Path) -> str | None:
    """The kind of document a path names (``page``, ``notebook``, ``docstring``), or None."""
    return _KINDS.get(Path(path).suffix)


def read_source(
    path: str | Path, text: str | None = None, project: ProjectConfig | None = None
) -> Source:
    """Read a document (from ``text`` when given, else from the file) into a ``Source``, as
    ``project`` asks (its output forms, what a block shown and not run is), by default as the
    table of the project it lies in asks, or a strict one without it.

    Raises:
        ValueError: if ``path`` is not a kind of document the checker reads.
    """
    kind = kind_of(path)
    if kind is None:
        raise ValueError(f"{path} is not a document: expected one of {', '.join(sorted(SUFFIXES))}")
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    if project is None:
        project = load_project(project_root_of(Path(path)))
    outputs, unchecked = (project.outputs, project.unchecked) if project else (OUTPUTS, "fail")
    return _read(str(path), kind, text, outputs, unchecked)


@functools.lru_cache(maxsize=256)
def _read(path: str, kind: str, text: str, outputs: tuple[str, ...], unchecked: str) -> Source:
    """``read_source`` of a text read before (the site's hook asks for a page several times, and
    rendering it for the cross-check is most of the cost): a ``Source`` is immutable."""
    if kind == "notebook":
        return _notebook_source(path, text, unchecked)
    if kind == "docstring":
        return _docstring_source(path, text, unchecked)
    page = read_cells(text, unchecked=unchecked, outputs=outputs)
    problems = [*page.problems, *_missing_examples_from(Path(path), page.page_markers)]
    # the cross-check with the site's rendering; a project that lets blocks go unchecked may
    # be read on GitHub or PyPI, each rendering otherwise: its fences in comments are skipped
    if unchecked == "fail" and not problems:
        problems += _not_as_shown(Path(path), text, page.fences)
    examples: list[Example] = sorted([*page.cells, *problems, *page.claims], key=lambda e: e.start)
    return Source(str(path), kind, text, tuple(examples), tuple(page.page_markers))


def project_root_of(path: Path) -> Path:
    """The folder of the nearest pyproject.toml above ``path`` (the folder of ``path`` if none)."""
    path = Path(path).resolve()
    return next((p for p in path.parents if (p / "pyproject.toml").is_file()), path.parent)


def _missing_examples_from(path: Path, markers: Iterable[Marker]) -> list[Problem]:
    """An ``examples-from`` marker must name documents that exist (paths from the project root)."""
    root = project_root_of(path)
    return [
        Problem(
            f"the examples-from marker names {word}, which does not exist under {root}",
            marker.start,
            marker.end,
            marker.line,
        )
        for marker in markers
        if marker.directive == "examples-from"
        for word in marker.words
        if not (root / word).is_file()
    ]


def _not_as_shown(path: Path, text: str, fences: list[Fence]) -> list[Problem]:
    """Where the site renders the page's code blocks otherwise than the reader reads them: one
    problem at the end of the page, naming each place. An unfenced session is compared as its
    block shows it, without its indentation."""
    bodies = [(f.line, f.body if f.fence else textwrap.dedent(f.indent + f.body)) for f in fences]
    found = disagreements(text, bodies, project_root_of(path))
    if not found:
        return []
    message = "the document's code blocks are not what its Markdown renders:\n" + "\n".join(
        f"  line {line}: {message}" for line, message in found
    )
    return [Problem(message, len(text), len(text), found[0][0])]


def _unreadable(path: str, kind: str, text: str, message: str) -> Source:
    """A document that cannot be read: one problem, at its start."""
    return Source(path, kind, text, (Problem(message, 0, min(1, len(text)), 1),))


def _notebook_source(path: str, text: str, unchecked: str) -> Source:
    try:
        notebook = read_notebook(text, path, unchecked)
    except ValueError as error:
        return _unreadable(path, "notebook", text, str(error))
    examples: list[Example] = sorted([*notebook.cells, *notebook.problems], key=lambda e: e.start)
    return Source(path, "notebook", text, tuple(examples), (), notebook.tolerances)


def _docstring_nodes(tree: ast.Module, nested: bool = True) -> Iterator[ast.Constant]:
    """The string constants that documentation tools read as docstrings: the first statement
    of a module, class or function, and the string right after an assignment in a module or
    class body (an attribute docstring, which mkdocstrings renders too), or assigned to an
    ``__doc__`` in a module's body (``f.__doc__ = "..."``, which doctest collects); without
    ``nested``, none inside a function's body, which doctest does not collect."""
    functions = (ast.AsyncFunctionDef, ast.FunctionDef)
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if nested or not isinstance(node, functions):
            todo += ast.iter_child_nodes(node)
        if not isinstance(node, (*functions, ast.ClassDef, ast.Module)):
            continue
        for previous, statement in itertools.pairwise([None, *node.body]):
            attribute = isinstance(node, (ast.Module, ast.ClassDef)) and isinstance(
                previous, (ast.Assign, ast.AnnAssign)
            )
            value = getattr(statement, "value", None)
            if isinstance(node, ast.Module) and isinstance(statement, ast.Assign):
                shown = any(getattr(t, "attr", "") == "__doc__" for t in statement.targets)
            else:
                shown = (previous is None or attribute) and isinstance(statement, ast.Expr)
            if shown and isinstance(value, ast.Constant) and isinstance(value.value, str):
                yield value


def docstrings(text: str, nested: bool = True) -> Iterator[tuple[int, int, str, bool, str]]:
    """Every docstring of a module's source (``_docstring_nodes``): ``(start, end, value, raw,
    quote)``, where ``text[start:end]`` is the docstring as written between its quotes."""
    tree = ast.parse(text)
    lines = [line.encode("utf-8") for line in split_lines(text)]
    starts = [0, *itertools.accumulate(map(len, lines))]
    data = b"".join(lines)

    def offset(lineno: int, col_offset: int) -> int:  # an AST position counts UTF-8 bytes
        return len(data[: starts[lineno - 1] + col_offset].decode("utf-8", errors="ignore"))

    for constant in _docstring_nodes(tree, nested):
        value = constant.value
        assert isinstance(value, str)
        begin = offset(constant.lineno, constant.col_offset)
        finish = offset(constant.end_lineno or constant.lineno, constant.end_col_offset or 0)
        quote = re.match(r"(?P<prefix>[rRuU]?)(?P<quote>\"\"\"|'''|\"|')", text[begin:finish])
        if quote is None:
            continue
        raw, quotes = quote["prefix"].lower() == "r", quote["quote"]
        yield begin + quote.end(), finish - len(quotes), value, raw, quotes


_ESCAPES = (
    "this docstring has escape sequences, so its examples as written differ from the text the "
    'API page shows; make it a raw docstring (r"""...""") or drop the escapes'
)


def _docstring_source(path: str, text: str, unchecked: str) -> Source:
    examples: list[Example] = []
    markers: list[Marker] = []
    try:
        found = sorted(docstrings(text, nested=unchecked == "fail"))
    except SyntaxError as error:
        return _unreadable(path, "docstring", text, f"{path} does not compile: {error}")
    spans = tuple((start, end, raw, quote) for start, end, _, raw, quote in found)
    for start, end, value, raw, _ in found:
        written = text[start:end]
        # as doctest reads it: its value (an update refuses to write into it)
        move = _mover(written, value, start) if written != value and not raw else None
        as_read = value if unchecked == "skip" and move is not None else written
        # the module's text up to the docstring blanked (lines kept): positions are the module's;
        # its value starts a line, as doctest reads it (after `"""\`, its first line is the next)
        blank = re.sub(r"[^\r\n]", " ", text[:start])
        if as_read is value and (newline := blank.rfind("\n")) >= 0:
            blank = blank[:newline] + blank[newline + 1 :] + "\n"
        page = read_cells(blank + as_read, True, unchecked)
        if not page.cells and not page.problems and not page.claims:
            continue
        if as_read != value:
            examples.append(Problem.within(text, _ESCAPES, start, end))
            continue
        if as_read != written and move is not None:  # where each example is written
            page.cells = [_moved(c, move, text) for c in page.cells]
            page.problems = [_moved(p, move, text) for p in page.problems]
            page.claims = [_moved(c, move, text) for c in page.claims]
        examples += [*page.cells, *page.problems, *page.claims]
        markers += page.page_markers
    examples.sort(key=lambda e: e.start)
    return Source(path, "docstring", text, tuple(examples), tuple(markers), docstrings=spans)


_ESCAPE = re.compile(
    r"\\(?:\r\n|N\{[^}\n]*\}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.)", re.S
)


def _mover(written: str, value: str, start: int) -> Callable[[int], int] | None:
    """Where an offset in ``start`` blanks and then ``value`` (what Python reads from the plain
    docstring ``written``, from ``start`` on in the module) lies in the module: each character
    of ``value`` where its escape or itself is written. None when they do not line up."""
    places: list[int] = []
    done = 0
    for m in _ESCAPE.finditer(written):
        places += range(done, m.start())
        escape = m.group()
        known = escape[1] in "\r\n\\'\"abfnrtvNxuU01234567"
        if escape[1:] not in ("\n", "\r\n"):  # a line continuation reads as nothing
            places += [m.start()] if known else range(m.start(), m.end())  # (\d stays)
        done = m.end()
    places += [*range(done, len(written)), len(written)]
    if len(places) != len(value) + 1:
        return None
    return lambda offset: (
        offset if offset < start else start + places[min(offset - start, len(value))]
    )


def _moved(item: Any, move: Callable[[int], int], text: str) -> Any:
    """``item`` (an example, or a part of one) with its offsets moved by ``move`` into
    ``text``, and its lines theirs there."""
    changes: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(item)}
    for name in ("start", "end", "body_start", "body_end"):
        if name in names:
            changes[name] = move(getattr(item, name))
    for name, at in (("line", "start"), ("body_line", "body_start")):
        if name in names:
            changes[name] = text.count("\n", 0, changes[at]) + 1
    for name in ("code", "output"):
        if getattr(item, name, None) is not None:
            changes[name] = _moved(getattr(item, name), move, text)
    if isinstance(item, Cell):
        changes["markers"] = tuple(_moved(m, move, text) for m in item.markers)
        changes["device_outputs"] = tuple(
            (k, _moved(f, move, text)) for k, f in item.device_outputs
        )
    return dataclasses.replace(item, **changes)


def _marker_text(marker: Marker) -> str:
    return f"{marker.directive} {list(marker.words)} {sorted(marker.options.items())}"


# --- what a document depends on -------------------------------------------------------------


def _imports(tree: ast.AST) -> set[str]:
    """The modules an AST imports: ``import a.b`` gives a.b; ``from a import b`` gives a and a.b
    (b may be a submodule)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return names


def _code_of(example: Example) -> str:
    """What an example runs: a cell's code, a notebook cell's, or a ``>>>`` session's sources."""
    if isinstance(example, Cell) and example.session:
        try:
            found = doctest.DocTestParser().get_examples(example.code.body)
        except ValueError:  # a session doctest cannot read fails on its own
            return ""
        return "".join(shown.source for shown in found)
    if isinstance(example, Cell):
        return example.code.body
    if isinstance(example, NotebookCell):
        return example.code
    return ""


def _wanted_modules(source: Source) -> set[str]:
    """Every module name a document's cells import, or its source markers name."""
    wanted: set[str] = set()
    for example in source.examples:
        with contextlib.suppress(SyntaxError):  # (an empty code imports nothing)
            wanted |= _imports(ast.parse(_code_of(example)))
        if isinstance(example, Cell):
            for marker in example.markers:
                if marker.directive == "source" and marker.words:
                    dotted = marker.words[0].replace(":", ".").split(".")
                    wanted.update(".".join(dotted[:n]) for n in range(1, len(dotted) + 1))
    return wanted


def third_party_imports(source: Source, root: Path) -> set[str]:
    """The modules a document's cells import that are not the project's own and can be found
    without importing them: what a warm process may import once for every document."""
    import importlib.util

    root = Path(root).resolve()
    roots, found = (root, root / "src"), set()
    for name in _wanted_modules(source):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names:  # quick to import, and some print as they do
            continue
        if any((r / f"{top}.py").is_file() or (r / top / "__init__.py").is_file() for r in roots):
            continue  # the project's own
        with contextlib.suppress(ImportError, ValueError):
            if importlib.util.find_spec(top) is not None:
                found.add(name)
    return found


def _files(source: Source, root: Path, files: Iterable[str]) -> list[str]:
    """What a run of ``source`` depends on beside its text, relative to ``root``: ``files``, the
    project files its run imported or read (``child.Guard``); the committed images its figure
    markers check; the conftest.py files pytest loads for it."""
    document = Path(source.path).resolve()
    found = {Path(root) / f for f in files}
    for example in source.examples:
        if isinstance(example, Cell):
            for marker in example.markers:
                if marker.directive == "figure" and marker.words:
                    found.add(figure_file(document, marker.words[0]).resolve())
    for folder in [document.parent, *document.parent.parents]:  # pytest's conftest.py files
        if folder != root and root not in folder.parents:
            break
        if (folder / "conftest.py").is_file():
            found.add(folder / "conftest.py")
    return sorted({os.path.relpath(p, root) for p in found})


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def fingerprint(
    source: Source,
    device_kind: str,
    context: Mapping[str, Any],
    *,
    root: Path | None = None,
    files: Iterable[str] = (),
) -> str:
    """A SHA-256 over everything a run of ``source``'s examples on ``device_kind`` depends on.

    It covers every example's code, markers and the output compared on that device (a device
    tab for another device is left out, so a GPU run's update leaves the CPU's stamp alone),
    the page's markers, a notebook's tolerance metadata, ``context`` (the device kind, the
    project's tolerance, the torch version of the run), and, when ``root`` is given, the
    contents of the project ``files`` its run imported or read, of the images its figure
    markers check and of its conftest.py files.
    """
    digest = hashlib.sha256()

    def add(*parts: str) -> None:
        for part in parts:
            digest.update(part.encode("utf-8") + b"\0")

    add(source.kind, device_kind, json.dumps(dict(context), sort_keys=True, default=str))
    for example in source.examples:
        if isinstance(example, Problem):
            add("problem", example.message)
        elif isinstance(example, Claim):
            add("claim", example.paragraph, json.dumps(example.claims))
        elif isinstance(example, NotebookCell):
            add("notebook-cell", example.code, json.dumps(example.expected), example.problem)
            add(example.fault, *example.tags)
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
    if root is not None:
        for relative in _files(source, Path(root).resolve(), files):
            add("file", relative, _file_digest(Path(root) / relative))
    return digest.hexdigest()
