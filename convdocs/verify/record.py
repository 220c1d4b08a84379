"""The verification record: which exact version of each page passed, on which device and torch.

Test runs write it (``verification-record.json`` at the repository root); the site's build
reads it to stamp every page. Entries are keyed by a fingerprint of the page's code and
outputs, so an edited page shows "not yet verified" until the suite passes on it again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from convdocs.verify.cells import read_cells
from convdocs.verify.rewrite import write_atomically

RECORD_NAME = "verification-record.json"


def _markdown_of(path: Path) -> str:
    """The text whose cells are a document's examples: the page, or a module's docstrings."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        from sybil.document import PythonDocStringDocument

        return "\n\n".join(d for _, _, d in PythonDocStringDocument.extract_docstrings(text))
    return text


def fingerprint(path: Path) -> str:
    """A SHA-256 over a document's examples: each cell's code and output block, and its markers."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.suffix == ".ipynb":
        from convdocs.verify.notebook import notebook_cells

        for code, output in notebook_cells(path.read_text(encoding="utf-8")):
            digest.update(code.encode() + b"\0" + output.encode() + b"\0")
        return digest.hexdigest()
    page = read_cells(_markdown_of(path))
    for cell in page.cells:
        markers = " ".join(f"{m.directive} {m.words} {sorted(m.options.items())}" for m in cell.markers)
        output = cell.output.body if cell.output is not None else ""
        digest.update(f"{markers}\0{cell.code.body}\0{output}\0".encode())
    for marker in page.page_markers:
        digest.update(f"{marker.directive} {sorted(marker.options.items())}\0".encode())
    return digest.hexdigest()


def example_count(path: Path) -> int:
    """How many examples the suite collects from a page (cells plus reported problems)."""
    path = Path(path)
    if path.suffix == ".ipynb":
        from convdocs.verify.notebook import notebook_cells

        return len(notebook_cells(path.read_text(encoding="utf-8")))
    page = read_cells(_markdown_of(path))
    return len(page.cells) + len(page.problems)


def load(root: Path) -> dict:
    """The record under ``root``, or an empty one."""
    path = Path(root) / RECORD_NAME
    if not path.is_file():
        return {"pages": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def save(root: Path, record: dict) -> None:
    """Write the record atomically, with sorted keys so that diffs stay small."""
    path = Path(root) / RECORD_NAME
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    write_atomically(path, text.encode("utf-8"))


def note_pass(record: dict, page: str, fingerprint_: str, device: str, torch_version: str,
              examples: int, device_name: str) -> None:
    """Record that this fingerprint of ``page`` passed on ``device``; drop entries for older versions."""
    kind = device.split(":")[0]
    entry = record["pages"].get(page)
    if entry is None or entry.get("fingerprint") != fingerprint_:
        entry = {"fingerprint": fingerprint_, "runs": {}}
        record["pages"][page] = entry
    entry["examples"] = examples
    previous = entry["runs"].get(kind, {})
    if previous.get("torch") != torch_version or previous.get("device_name") != device_name:
        entry["runs"][kind] = {
            "torch": torch_version,
            "device_name": device_name,
            "date": datetime.date.today().isoformat(),
        }


def stamp(record: dict, root: Path, documents: list[str]) -> dict:
    """What a stamp says for the examples of ``documents`` (paths relative to ``root``).

    Returns ``{"examples": N, "runs": {kind: run}}``, where a device kind appears only when
    every document, as it is now, passed on it with one torch version.
    """
    runs: dict[str, dict] | None = None
    examples = 0
    for document in documents:
        examples += example_count(Path(root) / document)
        entry = record.get("pages", {}).get(document)
        current = entry if entry and entry.get("fingerprint") == fingerprint(Path(root) / document) else None
        found = current.get("runs", {}) if current else {}
        if runs is None:
            runs = dict(found)
        else:
            runs = {kind: run for kind, run in runs.items()
                    if kind in found and found[kind]["torch"] == run["torch"]}
    return {"examples": examples, "runs": runs or {}}
