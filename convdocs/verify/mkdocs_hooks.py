"""MkDocs hooks: show readers the markers and the verification stamp of every page.

Listed under ``hooks:`` in mkdocs.yml. Markers (``<!-- convdocs: ... -->``) are HTML comments
in the source; here they become a visible line next to the cell they govern. The stamp says
how many examples the page has and where this exact version of it last passed, from the
verification record that test runs write.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from convdocs.verify import record
from convdocs.verify.cells import Cell, Marker, iter_fences, iter_markers, read_cells
from convdocs.verify.config import load_project
from convdocs.verify.documents import MARKDOWN_SUFFIXES, kind_of, read_source

if TYPE_CHECKING:  # the checker itself runs without MkDocs (on a GPU machine, say)
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page


def plugin_error(message: str) -> Exception:
    """MkDocs' PluginError (a build stops with the message), or a plain error without MkDocs."""
    try:
        from mkdocs.exceptions import PluginError
    except ImportError:
        return RuntimeError(message)
    return PluginError(message)


_DEVICE_NAMES = {"cpu": "CPU", "cuda": "GPU"}


def _tolerance_text(options: Mapping[str, object]) -> str:
    values = ", ".join(f"{k}={options[k]}" for k in ("rtol", "atol") if k in options)
    device = options.get("device")
    where = f" on {_DEVICE_NAMES.get(str(device).split(':')[0], str(device))}" if device else ""
    reason = f": {options['reason']}" if options.get("reason") else ""
    return f"{values}{where}{reason}"


def _marker_note(marker: Marker) -> str:
    options = marker.options
    if marker.directive == "skip":
        return (
            f'!!! warning "Not run by the checks"\n    {html.escape(options.get("reason", ""))}\n'
        )
    if marker.directive == "source":
        return (
            f'<p class="convdocs-note">The source of <code>{html.escape(marker.words[0])}'
            "</code>, checked against the package by the test suite.</p>\n"
        )
    if marker.directive in ("examples-from", "prose"):
        return ""  # the stamp covers the documents; a claim's numbers are in the paragraph itself
    if marker.directive == "figure":
        tol = ""
        if "tol" in options:
            reason = f": {options['reason']}" if options.get("reason") else ""
            tol = html.escape(f" (RMS tolerance {options['tol']}{reason})")
        return (
            '<p class="convdocs-note">This code draws the figure below; the test suite checks the '
            f"committed image against what it draws{tol}.</p>\n"
        )
    scope = "this page's outputs" if marker.directive == "page-tolerance" else "the output below"
    return f'<p class="convdocs-note">Checks compare {scope} with {html.escape(_tolerance_text(options))}.</p>\n'


def _output_fences(markdown: str) -> list[tuple[int, int, str]]:
    """Replacements that mark every output block (``text`` fence after a cell, or in a device
    tab) with the class ``convdocs-output``: its opening line becomes ```` ```{.text ...} ````."""
    found = []
    for fence in read_cells(markdown).output_fences():
        line_end = re.compile(r"[\r\n]|$").search(markdown, fence.start)
        assert line_end is not None  # "$" always matches
        found.append((fence.start, line_end.start(), f"{fence.fence}{{.text .convdocs-output}}"))
    return found


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace each marker outside code fences with a note a reader can see, and mark every
    output block as output (a class a stylesheet can show apart from code)."""
    inside = [(f.start, f.end) for f in iter_fences(markdown)]
    replacements = _output_fences(markdown)
    for item in iter_markers(markdown):
        if not isinstance(item, Marker) or any(s <= item.start < e for s, e in inside):
            continue
        line = markdown[item.start : item.end]
        indent = line[: len(line) - len(line.lstrip(" \t"))]  # inside an admonition or a list
        note = "".join(
            indent + row if row.strip() else row for row in _marker_note(item).splitlines(True)
        )
        replacements.append((item.start, item.end, note))
    pieces, last = [], 0
    for start, end, new in sorted(replacements):
        pieces += [markdown[last:start], new]
        last = end
    pieces.append(markdown[last:])
    return "".join(pieces)


_AUTODOC = re.compile(r"^:::[ \t]+(?P<name>[\w.]+)[ \t]*$", re.M)


def rendered_module(root: Path, dotted: str) -> str:
    """The file (relative to ``root``) whose docstrings an mkdocstrings ``::: dotted`` line shows.

    Raises:
        PluginError (``plugin_error``): if the object cannot be imported, or lives outside the project.
    """
    import importlib
    import inspect

    parts = dotted.split(".")
    obj: object = None
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError as error:
            raise plugin_error(f"::: {dotted} names nothing importable: {error}") from None
        break
    else:
        raise plugin_error(f"::: {dotted} names nothing importable")
    try:
        source = inspect.getsourcefile(obj)  # type: ignore[arg-type]
    except TypeError:
        source = None
    if source is None or root.resolve() not in Path(source).resolve().parents:
        raise plugin_error(f"::: {dotted} shows docstrings from outside the project ({source})")
    return Path(source).resolve().relative_to(root.resolve()).as_posix()


def documents_of(root: Path, docs_dir: Path, src_path: str) -> list[str]:
    """The documents whose examples a page shows (relative to ``root``): itself, the modules
    whose docstrings its ``::: name`` lines render, and the paths its ``examples-from`` marker
    names. A rendered module must be among the checked documents.

    Raises:
        PluginError (``plugin_error``): if a page renders docstrings the checker does not verify.
    """
    path = docs_dir / src_path
    if kind_of(path) not in ("page", "notebook"):
        return []
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    documents = [relative] if read_source(path).example_count else []
    if path.suffix in MARKDOWN_SUFFIXES:
        text = path.read_text(encoding="utf-8")
        for item in iter_markers(text):
            if isinstance(item, Marker) and item.directive == "examples-from":
                documents += list(item.words)
        project = load_project(root)
        for m in _AUTODOC.finditer(text):
            module = rendered_module(root, m["name"])
            if project is not None and not project.covers(root / module):
                raise plugin_error(
                    f"{src_path} renders the docstrings of {module} (::: {m['name']}), which "
                    "[tool.convdocs.verify] paths does not list, so their examples are not checked"
                )
            if module not in documents:
                documents.append(module)
    return documents


def stamp_html(root: Path, documents: list[str], guide: str | None = None) -> str:
    """The stamp for the examples of ``documents``, as an HTML badge: how many, which are not run
    and why, whether they are verified on each device (and where and with which torch), the
    tolerances in force, and a link to ``guide`` (the page that explains the checks)."""
    project = load_project(root)
    if project is None:
        raise plugin_error(
            f"{root}/pyproject.toml has no [tool.convdocs.verify] table: nothing to stamp"
        )
    try:
        state = record.stamp(record.load(root), project, documents)
    except record.RecordError as error:
        raise plugin_error(str(error)) from None
    count = state["examples"]
    head = f"{count} example{'s' if count != 1 else ''}"
    if state["skipped"]:
        skipped = len(state["skipped"])
        head += f", {skipped} not run ({'; '.join(html.escape(r) for r in state['skipped'])})"
    parts = [f'<span class="convdocs-stamp__count">{head}</span>']
    for kind in record.DEVICE_KINDS:
        run = state["runs"].get(kind)
        name = _DEVICE_NAMES[kind]
        if run:
            parts.append(
                f'<span class="convdocs-stamp__run convdocs-stamp__run--verified">'
                f'<span aria-hidden="true">✓ </span>verified on {name} ({html.escape(run["device_name"])}) '
                f"with torch {html.escape(run['torch'])} on {html.escape(run['date'])}</span>"
            )
        else:
            parts.append(
                f'<span class="convdocs-stamp__run convdocs-stamp__run--unverified">'
                f'<span aria-hidden="true">✗ </span>{name}: not yet verified for this version of the page</span>'
            )
    if guide is not None:
        parts.append(
            f'<a class="convdocs-stamp__guide" href="{html.escape(guide)}">How examples are verified</a>'
        )
    notes = [f"Outputs are compared with rtol={project.rtol:g}, atol={project.atol:g}"]
    for document in documents:
        source = read_source(root / document)
        for options in source.tolerances:
            notes.append(f"this notebook's with {html.escape(_tolerance_text(options))}")
        for marker in source.page_markers:
            if marker.directive == "page-tolerance":
                notes.append(f"this page's with {html.escape(_tolerance_text(marker.options))}")
        cells = sum(1 for e in source.cells() if isinstance(e, Cell) and e.marker("tolerance"))
        if cells:
            notes.append(
                f"{cells} output{'s' if cells != 1 else ''} with the tolerance noted next to it"
            )
    return (
        '<p class="convdocs-stamp" data-convdocs-stamp>'
        + " · ".join(parts)
        + "</p>"
        + '<p class="convdocs-note" data-convdocs-tolerance>'
        + "; ".join(notes)
        + ".</p>"
    )


_SCROLLING = re.compile(
    r'<(div|pre)\b(?=[^>]*class="[^"]*\b(?:highlight-ipynb|jp-OutputArea-output)\b)(?![^>]*tabindex)'
)


def on_page_content(html_text: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Put the stamp under the title of every page that shows examples; let the keyboard reach
    a notebook's scrolling code and outputs (axe: scrollable-region-focusable)."""
    from mkdocs.utils import get_relative_url

    root = Path(config["config_file_path"]).parent
    if page.file.src_path.endswith(".ipynb"):
        html_text = _SCROLLING.sub(lambda m: f'<{m[1]} tabindex="0"', html_text)
    documents = documents_of(root, Path(config["docs_dir"]), page.file.src_path)
    if not documents:
        return html_text
    guide = (
        get_relative_url("verification/", page.url)
        if page.file.src_path != "verification.md"
        else None
    )
    stamp = stamp_html(root, documents, guide)
    match = re.search(r"</h1>", html_text)
    if match:
        return html_text[: match.end()] + stamp + html_text[match.end() :]
    return stamp + html_text
