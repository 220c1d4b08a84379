"""The verification record: which exact version of each document passed, on which device and torch.

Test runs write it (``verification-record.json`` at the project root); the site's build reads
it to stamp every page. Each device kind has its own entry per document, holding the
fingerprint of what that run checked (``documents.fingerprint``): the code, the markers, the
outputs compared on that device and the settings in force. A stamp shows a run only while its
fingerprint equals the one computed from the document as it is now, so an edited page reads
"not yet verified" until the suite passes on it again, and a GPU run's update of its own tabs
leaves the CPU's entry valid.

```json
{"format": 2, "documents": {"docs/index.md": {"cpu": {"fingerprint": "...", "examples": 1,
  "passed": 1, "skipped": 0, "torch": "2.13.0+cpu", "device_name": "...", "date": "2026-11-27"}}}}
```
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from convdocs.devices import device_name
from convdocs.verify.config import Settings
from convdocs.verify.documents import Source, fingerprint, read_source
from convdocs.verify.edits import write_atomically

RECORD_NAME = "verification-record.json"
FORMAT = 2
DEVICE_KINDS = ("cpu", "cuda")


class RecordError(ValueError):
    """The record file cannot be read."""


def empty() -> dict[str, Any]:
    return {"format": FORMAT, "documents": {}}


def load(root: Path) -> dict[str, Any]:
    """The record under ``root``, or an empty one (also for a record of an older format).

    Raises:
        RecordError: if the file is not JSON or not a record.
    """
    path = Path(root) / RECORD_NAME
    if not path.is_file():
        return empty()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RecordError(
            f"{path} is not valid JSON ({error}); delete it and run the tests to write it again"
        ) from None
    if not isinstance(data, dict):
        raise RecordError(f"{path} is not a verification record (expected a JSON object)")
    if data.get("format") != FORMAT:
        return (
            empty()
        )  # an older layout: its entries cannot be checked against today's fingerprints
    if not isinstance(data.get("documents"), dict):
        raise RecordError(f"{path} is not a verification record (no 'documents' object)")
    return data


def save(root: Path, record_data: dict[str, Any]) -> None:
    """Write the record atomically, with sorted keys so that diffs stay small."""
    path = Path(root) / RECORD_NAME
    text = json.dumps(record_data, indent=2, sort_keys=True) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    write_atomically(path, text.encode("utf-8"))


def note_run(
    record_data: dict[str, Any],
    path: str,
    source: Source,
    settings: Settings,
    counts: dict[str, int],
) -> None:
    """Record that ``source`` (at ``path``, relative to the root) passed with ``settings``.

    An entry that already says the same (fingerprint, torch, device, counts) keeps its date,
    so that re-running unchanged pages leaves the file as it is.
    """
    import torch

    kind = settings.device_kind
    entry = {
        "fingerprint": fingerprint(source, kind, settings.fingerprint_context()),
        "examples": source.example_count,
        "passed": counts["passed"],
        "skipped": counts["skipped"],
        "torch": torch.__version__,
        "device_name": device_name(settings.device),
    }
    runs = record_data["documents"].setdefault(path, {})
    previous = runs.get(kind, {})
    if {k: previous.get(k) for k in entry} != entry:
        runs[kind] = {**entry, "date": datetime.date.today().isoformat()}


def valid_runs(
    record_data: dict[str, Any], root: Path, document: str, context: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The runs of ``document`` whose fingerprint matches the document as it is now, by device kind."""
    runs = record_data.get("documents", {}).get(document, {})
    if not runs:
        return {}
    source = read_source(Path(root) / document)
    return {
        kind: run
        for kind, run in runs.items()
        if isinstance(run, dict) and run.get("fingerprint") == fingerprint(source, kind, context)
    }


def stamp(
    record_data: dict[str, Any], root: Path, documents: list[str], context: dict[str, Any]
) -> dict[str, Any]:
    """What a stamp says for the examples of ``documents`` (paths relative to ``root``).

    Returns ``{"examples": N, "runs": {kind: run}}``, where a device kind appears only when
    every document, as it is now, passed on it with one torch version; the run shown is the
    oldest of those, with the summed counts.
    """
    examples = sum(read_source(Path(root) / d).example_count for d in documents)
    combined: dict[str, dict[str, Any]] = {}
    for kind in DEVICE_KINDS:
        found = [valid_runs(record_data, root, d, context).get(kind) for d in documents]
        if not found or any(run is None for run in found):
            continue
        runs = [run for run in found if run is not None]
        if len({run["torch"] for run in runs}) != 1:
            continue
        oldest = min(runs, key=lambda run: run["date"])
        combined[kind] = {
            **oldest,
            "passed": sum(r["passed"] for r in runs),
            "skipped": sum(r["skipped"] for r in runs),
        }
    return {"examples": examples, "runs": combined}
