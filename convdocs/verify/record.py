"""The verification record: which exact version of each document passed, on which device and torch.

Test runs write it to the file the table's ``record`` names (this project's is
``verification-record.json``; a table without ``record`` gets none); the site's build reads it
to stamp every page. Each device kind has its own entry per document:

* ``fingerprint``: ``documents.fingerprint`` of what that run checked: the code, markers and
  outputs compared on that device, the page's tolerances, the torch version, the project files
  its run imported or read (``data_files``), and the images it draws;
* ``outputs``: what each example printed on that device, in the order of the document;
* ``torch``, ``device_name``, ``date``, the counts, and a ``signature`` over all of these.

A stamp shows a run only while it holds: the signature matches the entry, the fingerprint
matches the document and its dependencies as they are now, every stored output matches what
the page shows for that device within its tolerance, and, for the CPU, the torch installed
where the site is built is the run's. Edit the page, the package, a figure, a data file or a
tolerance, and the stamp reads "not yet verified" until the suite passes again; edit the record
by hand, and the signature or the outputs give it away.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

from convdocs.verify import tolerances
from convdocs.verify.cells import Cell, Claim, Problem
from convdocs.verify.compare import compare_outputs
from convdocs.verify.config import ProjectConfig, Settings
from convdocs.verify.documents import Source, fingerprint, read_source
from convdocs.verify.edits import write_atomically
from convdocs.verify.rules import DEVICE_KINDS
from convdocs.verify.translations import vouched_by

FORMAT = 3


class RecordError(ValueError):
    """The record file cannot be read."""


def empty() -> dict[str, Any]:
    return {"format": FORMAT, "documents": {}}


def load(path: Path | None) -> dict[str, Any]:
    """The record in the file ``path`` (the table's ``record``), or an empty one: for no file,
    and for a record of an older format.

    Raises:
        RecordError: if the file is not JSON or not a record.
    """
    if path is None or not Path(path).is_file():
        return empty()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordError(
            f"{path} is not valid JSON ({error}); delete it and run the tests to write it again"
        ) from None
    if not isinstance(data, dict):
        raise RecordError(f"{path} is not a verification record (expected a JSON object)")
    if data.get("format") != FORMAT:  # an older layout: not to be checked against today's
        return empty()
    documents = data.get("documents")
    if not isinstance(documents, dict) or not all(
        isinstance(runs, dict) and all(isinstance(run, dict) for run in runs.values())
        for runs in documents.values()
    ):
        raise RecordError(
            f"{path} is not a verification record (its 'documents' are not runs by device)"
        )
    return data


def save(path: Path, record_data: dict[str, Any]) -> None:
    """Write the record to the file ``path`` atomically, with sorted keys so that diffs stay
    small."""
    path = Path(path)
    text = json.dumps(record_data, indent=2, sort_keys=True) + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    write_atomically(path, text.encode("utf-8"))


VERSIONED = {"torch": "torch", "numpy": "numpy", "ipython": "IPython"}
"""The packages whose versions change what examples print (torch computes, numpy and IPython
format), recorded with each run beside Python's: the name recorded, and the module."""


def versions_here() -> dict[str, str]:
    """The versions of Python and of ``VERSIONED`` as the running interpreter imports them
    (``torch.__version__``, which names the build, e.g. ``2.11.0+cu130``); a package that is
    missing is left out."""
    import importlib
    import platform

    found = {"python": platform.python_version()}
    for name, module in VERSIONED.items():
        try:
            found[name] = str(importlib.import_module(module).__version__)
        except ImportError:
            pass
    return found


def context(project: ProjectConfig, versions: dict[str, str]) -> dict[str, Any]:
    """The settings a run's outputs depend on, beside the document and its files."""
    return {"rtol": project.rtol, "atol": project.atol, "versions": versions}


def signature(run: dict[str, Any]) -> str:
    """A SHA-256 over every field of a run but the signature itself."""
    fields = {key: value for key, value in run.items() if key != "signature"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()


def example_line(source: Source, example: object) -> int:
    """The line at which an example starts, as pytest and sybil report it."""
    return source.text.count("\n", 0, example.start) + 1  # type: ignore[attr-defined]


def note_run(
    record_data: dict[str, Any],
    path: str,
    source: Source,
    settings: Settings,
    counts: dict[str, int],
    *,
    printed: dict[int, str | None],
    data_files: list[str],
    device_name: str,
    versions: dict[str, str],
) -> None:
    """Record that ``source`` (at ``path``, relative to the root) passed with ``settings``.

    An entry that already says the same keeps its date, so that re-running unchanged pages
    leaves the file as it is.
    """
    kind, project = settings.device_kind, settings.project
    versions = {**versions_here(), **versions}
    entry: dict[str, Any] = {
        "fingerprint": fingerprint(
            source, kind, context(project, versions), root=project.root, files=data_files
        ),
        "versions": versions,
        "data_files": data_files,
        "outputs": [printed.get(example_line(source, example)) for example in source.examples],
        "examples": source.example_count,
        "passed": counts["passed"],
        "skipped": counts["skipped"],
        "torch": versions.get("torch", "none"),
        "device_name": device_name,
    }
    runs = record_data["documents"].setdefault(path, {})
    previous = runs.get(kind, {})
    unchanged = {key: previous.get(key) for key in entry} == entry
    entry["date"] = (unchanged and previous.get("date")) or datetime.date.today().isoformat()
    entry["signature"] = signature(entry)
    runs[kind] = entry


def why_invalid(
    run: dict[str, Any], source: Source, kind: str, project: ProjectConfig
) -> str | None:
    """Why a stored run does not vouch for ``source`` as it is now (None when it does)."""
    needed = set("fingerprint signature torch versions device_name date outputs data_files".split())
    if not needed <= set(run):
        return f"the entry lacks {', '.join(sorted(needed - set(run)))}"
    if run["signature"] != signature(run):
        return "its signature does not match its contents (edited by hand?)"
    if kind == "cpu":  # the site is built where the CPU runs: the same versions must be installed
        here = versions_here()
        changed = [
            f"{name} {run['versions'].get(name)} -> {here[name]}"
            for name in here
            if name != "python" and run["versions"].get(name) != here[name]
        ]
        if changed:
            return f"it ran with other versions than are installed now ({', '.join(changed)})"
    settings_then = context(project, run["versions"])
    now = fingerprint(source, kind, settings_then, root=project.root, files=run["data_files"])
    if run["fingerprint"] != now:
        return "the document or a file it depends on changed since"
    if len(run["outputs"]) != source.example_count:
        return "its outputs do not cover the document's examples"
    for example, output in zip(source.examples, run["outputs"], strict=True):
        if isinstance(example, Problem):
            return "the document has a problem"
        if isinstance(example, Claim):
            continue
        if isinstance(example, Cell):
            if example.marker("skip") or example.marker("source") or example.session:
                continue  # not run, a source, or a session (its outputs are its code's text)
            shown = example.output_for(kind)
            tolerance = tolerances.for_cell(example, kind, project)
            expected = "" if shown is None else shown.body
        elif {"nbval-skip", "nbval-ignore-output"} & set(example.tags):
            continue  # not run, or its outputs not compared (reported so)
        else:
            tolerance = tolerances.for_notebook(source.tolerances, kind, project)
            expected = "".join(text for name, text in example.expected if name == "output")
        if output is None or not compare_outputs(
            expected, output, rtol=tolerance.rtol, atol=tolerance.atol
        ):
            return f"its output for line {example_line(source, example)} is not what the page shows"
    return None


def valid_runs(
    record_data: dict[str, Any], project: ProjectConfig, document: str
) -> dict[str, dict[str, Any]]:
    """The runs of ``document`` that vouch for it as it is now, by device kind; a translation
    whose original's run vouches for it (``translations.vouched_by``) has its original's."""
    stands_for = _runs_for(project, document)
    if stands_for != document:
        return valid_runs(record_data, project, stands_for)
    source = read_source(project.root / document)
    runs = record_data.get("documents", {}).get(document, {})
    return {
        kind: run
        for kind, run in runs.items()
        if kind in DEVICE_KINDS and why_invalid(run, source, kind, project) is None
    }


def stamp(
    record_data: dict[str, Any], project: ProjectConfig, documents: list[str]
) -> dict[str, Any]:
    """What a stamp says for the examples of ``documents`` (paths relative to the root).

    Returns ``{"examples": N, "skipped": [reasons], "runs": {kind: run}, "earlier": {kind: run},
    "shared_outputs": bool}``: a device kind is in ``runs`` only when every document, as it is
    now, passed on it with one torch version (the run shown is the oldest of those), and in
    ``earlier`` when it is not but a document has a run on it for an earlier version;
    ``shared_outputs`` says whether some output is shown once for every device.
    """
    sources = [read_source(project.root / d) for d in documents]
    skipped = [
        cell.marker("skip").options["reason"]  # type: ignore[union-attr]
        for source in sources
        for cell in source.cells()
        if isinstance(cell, Cell) and cell.marker("skip") is not None
    ]
    valid = [valid_runs(record_data, project, d) for d in documents]
    stored = [record_data.get("documents", {}).get(_runs_for(project, d), {}) for d in documents]
    combined, earlier = {}, {}
    for kind in DEVICE_KINDS:
        runs = [found[kind] for found in valid if kind in found]
        stored_runs = [runs[kind] for runs in stored if kind in runs]
        genuine = [run for run in stored_runs if run.get("signature") == signature(run)]
        if len(runs) == len(valid) and len({run["torch"] for run in runs}) == 1:
            combined[kind] = min(runs, key=lambda run: run["date"])
        elif genuine:
            earlier[kind] = max(genuine, key=lambda run: str(run.get("date")))
    return {
        "examples": sum(s.example_count for s in sources),
        "skipped": skipped,
        "runs": combined,
        "earlier": earlier,
        "shared_outputs": any(
            isinstance(cell, Cell) and cell.output is not None
            for source in sources
            for cell in source.cells()
        ),
    }


def _runs_for(project: ProjectConfig, document: str) -> str:
    """The document whose entry in the record stands for ``document``: its original, for a
    translation that its original's run vouches for (``translations.vouched_by``)."""
    original = vouched_by(read_source(project.root / document))
    return document if original is None else original.relative_to(project.root).as_posix()
