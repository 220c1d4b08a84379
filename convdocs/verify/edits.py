"""The update mode's writer: a queue of edits collected during a run, applied once at its end.

Three kinds of edit: a ``TextEdit`` replaces a span of a page or module (an output block, a
source listing), a ``NotebookOutput`` replaces a notebook cell's stored outputs, and a
``FileWrite`` replaces a whole file (a figure). ``EditQueue.apply`` writes each file once,
atomically, after checking that nothing changed it since it was read; until then no file is
touched, so a run that stops half-way writes nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def sha256(text: str) -> str:
    """The hex SHA-256 of a text, as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: str | Path) -> str:
    """A file's text exactly as stored: UTF-8, line endings kept (``\\r\\n`` stays ``\\r\\n``)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def write_atomically(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (a temporary file, then a rename); keep its mode."""
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def indent_lines(body: str, indent: str) -> str:
    """Indent the non-empty lines of ``body``; the result ends with exactly one newline."""
    lines = body.rstrip("\n").split("\n")
    return "".join((indent + line if line.strip() else "") + "\n" for line in lines)


@dataclass(frozen=True)
class TextEdit:
    """Replace ``text[start:end]`` of a file with ``new``; ``original_sha256`` guards against stale edits."""

    path: str
    start: int
    end: int
    new: str
    original_sha256: str


@dataclass(frozen=True)
class NotebookOutput:
    """Replace the stored outputs of cell ``index`` of a notebook with what it shows now (as
    Jupyter stores outputs)."""

    path: str
    index: int
    outputs: tuple[dict, ...]
    original_sha256: str


@dataclass(frozen=True)
class FileWrite:
    """Replace a whole file (a figure) with ``data``."""

    path: str
    data: bytes


Edit = TextEdit | NotebookOutput | FileWrite


def _apply_text_edits(path: str, text: str, edits: list[TextEdit]) -> str:
    ordered = sorted(edits, key=lambda e: e.start)
    for first, second in itertools.pairwise(ordered):
        if second.start < first.end:
            raise ValueError(
                f"overlapping edits in {path} at offsets {first.start} and {second.start}"
            )
    newline = "\r\n" if "\r\n" in text else "\n"
    for edit in reversed(ordered):
        new = edit.new.replace("\r\n", "\n").replace("\n", newline)
        text = text[: edit.start] + new + text[edit.end :]
    return text


class EditQueue:
    """The edits of one run, in the order they were found; ``apply`` writes them at the end."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []

    def add(self, *edits: Edit) -> None:
        self.edits.extend(edits)

    def apply(self) -> list[str]:
        """Write every queued edit, each file once and atomically; return the paths that changed.

        Raises:
            ValueError: if a file changed since it was read, or two edits of one file overlap.
        """
        by_path: dict[str, list[Edit]] = {}
        for edit in self.edits:
            by_path.setdefault(edit.path, []).append(edit)
        self.edits = []
        changed = []
        for path, edits in sorted(by_path.items()):
            writes = [e for e in edits if isinstance(e, FileWrite)]
            if writes:
                data = writes[-1].data
                if not Path(path).is_file() or Path(path).read_bytes() != data:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    write_atomically(path, data)
                    changed.append(path)
                continue
            text = read_text(path)
            if any(
                e.original_sha256 != sha256(text) for e in edits if not isinstance(e, FileWrite)
            ):
                raise ValueError(f"{path} changed while the tests ran; not rewriting it")
            text_edits = [e for e in edits if isinstance(e, TextEdit)]
            notebook_outputs = {e.index: e.outputs for e in edits if isinstance(e, NotebookOutput)}
            new_text = _apply_text_edits(path, text, text_edits)
            if notebook_outputs:
                from convdocs.verify.notebook import with_outputs

                new_text = with_outputs(new_text, notebook_outputs)
            if new_text != text:
                write_atomically(path, new_text.encode("utf-8"))
                changed.append(path)
        return changed
