"""The update mode's writer: collect edits to pages, then apply them atomically, once per file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` of a file with ``new``; ``original`` guards against stale edits."""

    path: str
    start: int
    end: int
    new: str
    original_sha256: str


def sha256(text: str) -> str:
    """The hex SHA-256 of a text, as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fenced(body: str, indent: str, lang: str) -> str:
    """A fence of ``lang`` around ``body``, every line indented by ``indent``."""
    return f"{indent}```{lang}\n{indent_lines(body, indent)}{indent}```"


def indent_lines(body: str, indent: str) -> str:
    """Indent the non-empty lines of ``body``; the result ends with exactly one newline."""
    lines = body.rstrip("\n").split("\n")
    return "".join((indent + line if line.strip() else "") + "\n" for line in lines)


def write_atomically(path: Path, data: bytes) -> None:
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


pending: list[Edit] = []
"""Edits found during this run, applied by ``apply_all`` at its end."""
figures_written: list[str] = []
"""Figures the update mode redrew during this run."""


def apply(path: str, edits: list[Edit]) -> bool:
    """Apply ``edits`` to one file atomically; return whether it changed.

    Raises:
        ValueError: if the file changed since it was read, or two edits overlap.
    """
    target = Path(path)
    text = target.read_text(encoding="utf-8")
    for edit in edits:
        if edit.original_sha256 != sha256(text):
            raise ValueError(f"{path} changed while the tests ran; not rewriting it")
    ordered = sorted(edits, key=lambda e: e.start)
    for first, second in zip(ordered, ordered[1:]):
        if second.start < first.end:
            raise ValueError(f"overlapping edits in {path} at offsets {first.start} and {second.start}")
    new_text = text
    for edit in reversed(ordered):
        new_text = new_text[:edit.start] + edit.new + new_text[edit.end:]
    if new_text == text:
        return False
    write_atomically(target, new_text.encode("utf-8"))
    return True


def apply_all() -> list[str]:
    """Apply and clear every pending edit; return the paths that changed."""
    by_path: dict[str, list[Edit]] = {}
    for edit in pending:
        by_path.setdefault(edit.path, []).append(edit)
    pending.clear()
    changed = [path for path, edits in sorted(by_path.items()) if apply(path, edits)]
    changed += figures_written
    figures_written.clear()
    return changed
