"""Translations run the same code: a document and its translation may differ in prose and in
code comments, never in what runs or what it prints.

A translation sits next to its original with a language before the extension, as
mkdocs-static-i18n's suffix layout has it: ``docs/pooling.zh.md`` translates ``docs/pooling.md``,
``docs/notebook.zh.ipynb`` translates ``docs/notebook.ipynb``. ``drift`` lists every difference
that matters; the checker verifies each document on its own, so both editions print what they
show, and ``drift`` keeps them showing the same.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from pathlib import Path

from convdocs.verify.cells import Cell, Claim, Marker
from convdocs.verify.documents import Source
from convdocs.verify.notebook import NotebookCell

_LANGUAGE = re.compile(r"^[a-z]{2}(?:[_-][A-Z]{2})?$")

# Marker options that are words for the reader, which a translation translates.
TRANSLATABLE_OPTIONS = frozenset({"reason"})


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


def code_tokens(code: str) -> list[tuple[int, str]] | str:
    """What a cell's code does, without its comments: its tokens, less comments and the line
    breaks inside brackets or after a comment line. Code that Python cannot tokenize is kept
    whole, so that it must match exactly."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code
    return [(t.type, t.string) for t in tokens if t.type not in (tokenize.COMMENT, tokenize.NL)]


def _marker_key(marker: Marker) -> tuple[object, ...]:
    options = {k: v for k, v in marker.options.items() if k not in TRANSLATABLE_OPTIONS}
    return (marker.directive, marker.words, tuple(sorted(options.items())))


def _markers(markers: Iterable[Marker]) -> list[tuple[object, ...]]:
    return [_marker_key(m) for m in markers]


def _tolerances(tolerances: Iterable[Mapping[str, object]]) -> list[tuple[object, ...]]:
    return [
        tuple(sorted((k, str(v)) for k, v in t.items() if k not in TRANSLATABLE_OPTIONS))
        for t in tolerances
    ]


def _outputs(cell: Cell) -> list[tuple[str, str]]:
    """A cell's output blocks: the shared one, then one per device tab."""
    blocks = [("", cell.output), *cell.device_outputs]
    return [(label, fence.body) for label, fence in blocks if fence is not None]


def _cell_drift(where: str, original: Cell, translation: Cell) -> list[str]:
    problems = []
    if original.marker("source"):  # the package's own source, comments and all
        if original.code.body != translation.code.body:
            problems.append(f"{where}: the source shown differs (it must be the package's, as is)")
    elif code_tokens(original.code.body) != code_tokens(translation.code.body):
        problems.append(f"{where}: the code differs (beyond its comments)")
    if _markers(original.markers) != _markers(translation.markers):
        problems.append(f"{where}: its markers differ (only a reason may be translated)")
    if _outputs(original) != _outputs(translation):
        problems.append(f"{where}: the output shown differs")
    return problems


def drift(original: Source, translation: Source) -> list[str]:
    """Every way in which ``translation`` runs or shows other code, outputs, markers, checked
    numbers or tolerances than ``original`` (empty when it is a faithful translation)."""
    problems = []
    cells, twins = original.cells(), translation.cells()
    if len(cells) != len(twins):
        problems.append(
            f"{translation.path} has {len(twins)} cells, {original.path} has {len(cells)}"
        )
    for number, (cell, twin) in enumerate(zip(cells, twins, strict=False), start=1):
        where = f"{translation.path}, cell {number} (line {_line(twin)})"
        if isinstance(cell, Cell) and isinstance(twin, Cell):
            problems += _cell_drift(where, cell, twin)
        elif isinstance(cell, NotebookCell) and isinstance(twin, NotebookCell):
            if code_tokens(cell.code) != code_tokens(twin.code):
                problems.append(f"{where}: the code differs (beyond its comments)")
            if cell.expected != twin.expected:
                problems.append(f"{where}: the stored output differs")
        else:
            problems.append(f"{where}: a {type(twin).__name__}, not a {type(cell).__name__}")
    claims = [c.claims for c in original.examples if isinstance(c, Claim)]
    twin_claims = [c.claims for c in translation.examples if isinstance(c, Claim)]
    if claims != twin_claims:
        problems.append(
            f"{translation.path}: its numbers in prose (prose markers) differ from {original.path}'s"
        )
    if _markers(original.page_markers) != _markers(translation.page_markers):
        problems.append(f"{translation.path}: its page markers differ from {original.path}'s")
    if _tolerances(original.tolerances) != _tolerances(translation.tolerances):
        problems.append(f"{translation.path}: its tolerances differ from {original.path}'s")
    return problems


def _line(cell: Cell | NotebookCell) -> int:
    return cell.code.line if isinstance(cell, Cell) else cell.line
