"""MkDocs hooks: show readers the markers and the verification stamp of every page.

Listed under ``hooks:`` in mkdocs.yml. Markers (``<!-- convdocs: ... -->``) are HTML comments
in the source; here they become a visible line next to the cell they govern. The stamp says
how many examples the page has and where this exact version of it last passed, from the
verification record that test runs write.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from convdocs.verify import record
from convdocs.verify.cells import Marker, iter_fences, iter_markers
from convdocs.verify.config import load_project
from convdocs.verify.documents import MARKDOWN_SUFFIXES, kind_of, read_source

_DEVICE_NAMES = {"cpu": "CPU", "cuda": "GPU"}


def _marker_note(marker: Marker) -> str:
    options = marker.options
    if marker.directive == "skip":
        return f'!!! warning "Not run by the checks"\n    {options.get("reason", "")}\n'
    if marker.directive == "source":
        return (
            f'<p class="convdocs-note">The source of <code>{html.escape(marker.words[0] if marker.words else "")}'
            "</code>, checked against the package by the test suite.</p>\n"
        )
    if marker.directive == "examples-from":
        return ""
    if marker.directive == "figure":
        return (
            '<p class="convdocs-note">This code draws the figure below; the test suite checks the '
            "committed image against what it draws.</p>\n"
        )
    tolerance = ", ".join(f"{k}={v}" for k, v in options.items() if k in ("rtol", "atol"))
    where = (
        f" on {_DEVICE_NAMES.get(options['device'], options['device'])}"
        if "device" in options
        else ""
    )
    scope = "this page's outputs" if marker.directive == "page-tolerance" else "the output below"
    reason = f": {options['reason']}" if options.get("reason") else ""
    return f'<p class="convdocs-note">Checks compare {scope} with {tolerance}{where}{reason}.</p>\n'


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace each marker outside code fences with a note a reader can see."""
    inside = [(f.start, f.end) for f in iter_fences(markdown)]
    pieces, last = [], 0
    for item in iter_markers(markdown):
        if not isinstance(item, Marker) or any(s <= item.start < e for s, e in inside):
            continue
        pieces += [markdown[last : item.start], _marker_note(item)]
        last = item.end
    pieces.append(markdown[last:])
    return "".join(pieces)


def documents_of(root: Path, src_path: str) -> list[str]:
    """The documents whose examples a page shows: itself, plus any ``examples-from`` marker's paths."""
    path = root / "docs" / src_path
    if kind_of(path) not in ("page", "notebook"):
        return []
    documents = [f"docs/{src_path}"] if read_source(path).example_count else []
    if path.suffix in MARKDOWN_SUFFIXES:
        for item in iter_markers(path.read_text(encoding="utf-8")):
            if isinstance(item, Marker) and item.directive == "examples-from":
                documents += list(item.words)
    return documents


def stamp_html(root: Path, documents: list[str]) -> str:
    """The stamp for the examples of ``documents``, as HTML."""
    project = load_project(root)
    context = {"rtol": project.rtol, "atol": project.atol} if project else {}
    state = record.stamp(record.load(root), root, documents, context)
    count = state["examples"]
    parts = [f"{count} example{'s' if count != 1 else ''}"]
    for kind in record.DEVICE_KINDS:
        run = state["runs"].get(kind)
        name = _DEVICE_NAMES[kind]
        if run:
            parts.append(
                f"verified on {name} ({html.escape(run['device_name'])}) with "
                f"torch {html.escape(run['torch'])} on {html.escape(run['date'])}"
            )
        else:
            parts.append(f"{name}: not yet verified for this version of the page")
    return '<p class="convdocs-stamp" data-convdocs-stamp>' + " · ".join(parts) + "</p>"


def on_page_content(content: str, page, config, files) -> str:
    """Put the stamp under the title of every page that shows examples."""
    root = Path(config["config_file_path"]).parent
    documents = documents_of(root, page.file.src_path)
    if not documents:
        return content
    stamp = stamp_html(root, documents)
    match = re.search(r"</h1>", content)
    if match:
        return content[: match.end()] + stamp + content[match.end() :]
    return stamp + content
