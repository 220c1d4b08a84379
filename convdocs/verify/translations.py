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
import tokenize
from collections.abc import Iterable, Mapping
from pathlib import Path

from convdocs.verify.cells import Cell, Claim, Marker
from convdocs.verify.documents import Source, figure_file, original_of, read_source
from convdocs.verify.documents import language_of as language_of  # where a translation sits
from convdocs.verify.documents import translation_of as translation_of
from convdocs.verify.notebook import NotebookCell

# Marker options that are words for the reader, which a translation translates.
TRANSLATABLE_OPTIONS = frozenset({"reason"})


def code_tokens(code: str, *, strings: bool = True) -> list[tuple[int, str]] | str:
    """What a cell's code does, without its comments: its tokens, less comments and the line
    breaks inside brackets or after a comment line (and less the text of its string literals,
    without ``strings``). Code that Python cannot tokenize is kept whole, so that it must match
    exactly."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return code
    return [
        (t.type, t.string if strings or t.type not in _STRINGS else "")
        for t in tokens
        if t.type not in (tokenize.COMMENT, tokenize.NL)
    ]


_STRINGS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def _options(options: Mapping[str, object]) -> list[tuple[str, str]]:
    return sorted((k, str(v)) for k, v in options.items() if k not in TRANSLATABLE_OPTIONS)


def _markers(markers: Iterable[Marker]) -> list[tuple[object, ...]]:
    return [(m.directive, m.words, _options(m.options)) for m in markers]


def _outputs(cell: Cell) -> list[tuple[str, str]]:
    """A cell's output blocks: the shared one, then one per device tab."""
    blocks = [("", cell.output), *cell.device_outputs]
    return [(label, fence.body) for label, fence in blocks if fence is not None]


def _cell_drift(where: str, original: Cell, translation: Cell) -> list[str]:
    problems = []
    if original.marker("source"):  # the package's own source, comments and all
        if original.code.body != translation.code.body:
            problems.append(f"{where}: the source shown differs (it must be the package's, as is)")
    elif code_tokens(original.code.body, strings=not (figure := original.marker("figure"))) != (
        code_tokens(translation.code.body, strings=not figure)
    ):
        problems.append(f"{where}: the code differs (beyond its comments, and a figure's strings)")
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
    if [*map(_options, original.tolerances)] != [*map(_options, translation.tolerances)]:
        problems.append(f"{translation.path}: its tolerances differ from {original.path}'s")
    return problems


def vouched_by(translation: Source) -> Path | None:
    """The original whose run vouches for ``translation``: one that shows the same code and
    outputs (``drift`` finds nothing) and the same figures. None for a document that runs
    itself: no translation, one that drifts, or one whose figure cells draw in its own words
    (their strings differ) or that has an image of its own (``figure_file``), so that its
    figures are checked as it shows them."""
    path = original_of(translation.path)
    if path is None or not path.is_file() or drift(original := read_source(path), translation):
        return None
    for cell, twin in zip(original.cells(), translation.cells(), strict=True):
        if not isinstance(cell, Cell) or not isinstance(twin, Cell):
            continue  # a notebook's cells: drift compares them whole
        figure = twin.marker("figure")
        own = (
            figure
            and figure_file(translation.path, figure.words[0]) != path.parent / figure.words[0]
        )
        if own or code_tokens(cell.code.body) != code_tokens(twin.code.body):
            return None
    return path


def _line(cell: Cell | NotebookCell) -> int:
    return cell.code.line if isinstance(cell, Cell) else cell.line
