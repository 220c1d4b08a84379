"""One verification run: its settings, the edits it queues, the outcomes it counts.

The pytest plugin makes one ``Session`` per pytest config and keeps it in ``config.stash``;
a test can make its own (``Session(Settings(project, device="cpu"))``) and evaluate documents
with it, without touching any other run. Nothing about a run lives in module globals.

Collection goes through ``documents.read_source``, like the record and the stamps. Each
document runs in processes of its own (``runner.DocumentRun``), forked from a warm zygote that
imported the documents' third-party modules once: nothing a page does reaches this process or
the next page.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sybil import Document, Region, Sybil

from convdocs.verify import evaluate, record
from convdocs.verify.cells import Cell, Claim, Problem
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL
from convdocs.verify.config import (
    DEFAULT_TIMEOUT,
    DEVICE_ENV,
    ProjectConfig,
    Settings,
    device_named,
    number,
    unchecked_named,
)
from convdocs.verify.documents import SUFFIXES, Source, kind_of, read_source, third_party_imports
from convdocs.verify.edits import EditQueue, read_text
from convdocs.verify.notebook import NotebookCell
from convdocs.verify.runner import DocumentRun, ProcessEnded, zygote_for
from convdocs.verify.translations import original_of, vouched_by


class VerifiedDocument(Document):
    """A sybil document read through ``documents.read_source``, from its file's text as stored
    (or from ``text``); ``source`` holds what it found."""

    source: Source

    @classmethod
    def parse(cls, path: str, *parsers: Any, text: str | None = None, **_: Any) -> Document:
        document = cls(read_text(path) if text is None else text, path)
        for parser in parsers:
            for region in parser(document):
                document.add(region)
        return document


_EVALUATORS: dict[type, Callable[[evaluate.Outcome], str | None]] = {
    Problem: evaluate.evaluate_problem,
    Claim: evaluate.evaluate_claim,
    NotebookCell: evaluate.evaluate_notebook_cell,
    Cell: evaluate.evaluate_cell,
}


class _Sybil(Sybil):
    """sybil's ``Sybil``; on an xdist worker (``grouped``), each example's name ends in
    ``@`` and its document's path, the group by which ``--dist loadgroup`` keeps the examples
    of a document, which share its processes, on one worker."""

    grouped = False

    def identify(self, example: Any) -> str:
        name = super().identify(example)
        return f"{name}@{os.path.relpath(example.path, self.path)}" if self.grouped else name


class Session:
    """A verification run: ``settings``, the ``queue`` of edits (update mode), the ``outcomes``
    of each document's examples and what the examples printed and read (for the record)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = EditQueue()
        self.outcomes: dict[str, dict[str, int]] = {}
        self.observed: dict[tuple[str, int], dict[str, Any]] = {}
        """What each example printed and which project files its page read, by (path, line)."""
        self.observations: dict[str, list[dict[str, Any]]] = {}
        """The ``observed`` of each reported example, by the document's path in its report."""
        self.preload: set[str] = set()
        """The third-party modules the collected documents import, for the zygote."""
        self._runs: dict[int, DocumentRun] = {}
        self._ended: dict[int, str] = {}
        self.device_from_run = False
        self.collected: set[Path] = set()
        """The documents pytest handed to this session for collection."""
        common: dict[str, Any] = dict(
            parsers=[self.regions],
            path=str(settings.project.root),
            patterns=[f"*{s}" for s in SUFFIXES],
            teardown=self.teardown_document,
            document_types={suffix: VerifiedDocument for suffix in SUFFIXES},
        )
        self.sybils = {
            kind: _Sybil(name=kind, **common) for kind in ("page", "notebook", "docstring")
        }

    # --- reading -------------------------------------------------------------------------

    def regions(self, document: Document) -> Iterator[Region]:
        """A sybil parser: one region per example that ``read_source`` finds."""
        if self.device_from_run:  # parsers() without a device: the run's, known by now
            self.device_from_run = False
            device = device_named(os.environ.get(DEVICE_ENV) or "cpu", f"--device (${DEVICE_ENV})")
            self.settings = dataclasses.replace(self.settings, device=device)
        source = read_source(document.path, document.text, self.settings.project)
        document.source = source  # type: ignore[attr-defined]
        self.preload |= third_party_imports(source, self.settings.project.root)
        # the original whose run vouches for it, unless this run rewrites outputs
        original = None if self.settings.update else vouched_by(source)
        for example in source.examples:
            evaluator = _EVALUATORS[type(example)]
            if original is not None and not isinstance(example, Problem):
                reason = (
                    f"not run again: {os.path.relpath(original, self.settings.project.root)} "
                    "shows the same code and outputs and runs them"
                )
                evaluator = functools.partial(evaluate.skip_example, reason)
            yield Region(
                example.start, example.end, example, functools.partial(self.judge, evaluator)
            )

    def judge(self, evaluator: Callable[[evaluate.Outcome], str | None], example: Any) -> Any:
        """Evaluate ``example`` (sybil calls this) and record its outcome: what it printed, the
        edits of the update mode, and the end of its document's processes when it asks for it."""
        __tracebackhide__ = True
        outcome = evaluate.Outcome(self.settings, example, lambda: self.document_run(example))
        try:
            return evaluate.guarded(evaluator, outcome)
        finally:
            self.observe(example, outcome.printed)
            self.queue.add(*outcome.edits)
            if outcome.ended is not None:
                self.end_document(example, outcome.ended)

    def document(self, path: str | Path, text: str | None = None) -> Document:
        """Parse one document into sybil examples bound to this session (``text`` overrides the file)."""
        return VerifiedDocument.parse(os.path.abspath(path), self.regions, text=text)

    def judge_each(
        self, path: str | Path, text: str | None = None, *, first_failure: bool = False
    ) -> list[tuple[str, str]]:
        """Run the examples of one document, in order, in a fresh state; return each one's
        outcome as pytest reports it: ``("passed", "")``, ``("failed", message)`` or
        ``("skipped", reason)`` (up to the first failure only, with ``first_failure``)."""
        import pytest
        from sybil.example import SybilFailure

        document = self.document(path, text)
        found: list[tuple[str, str]] = []
        try:
            for example in document.examples():
                try:
                    example.evaluate()
                except SybilFailure as failure:
                    found.append(("failed", str(failure)))
                    if first_failure:
                        break
                except pytest.skip.Exception as skip:
                    found.append(("skipped", str(skip.msg)))
                else:
                    found.append(("passed", ""))
        finally:
            self.teardown_document(document.namespace)
        return found

    def collect_file(self, file_path: Path, parent: Any) -> Any:
        """The pytest collector for ``file_path`` if the project lists it, else None."""
        kind = kind_of(file_path)
        if kind is None or not self.settings.project.covers(file_path):
            return None
        from sybil.integration.pytest import SybilFile

        self.collected.add(Path(file_path).resolve())
        return SybilFile.from_parent(parent, path=file_path, sybils=[self.sybils[kind]])

    # --- each document's fresh start -------------------------------------------------------

    def document_run(self, example: Any) -> DocumentRun:
        """The processes of the document ``example`` belongs to, started at its first example.

        Raises:
            pytest.skip.Exception: when an earlier example ended the document's process (that
                example has failed for it).
        """
        import pytest

        key = id(example.namespace)
        if key in self._ended:
            raise pytest.skip.Exception(f"not run: {self._ended[key]}", _use_item_location=True)
        run = self._runs.get(key)
        if run is None:
            self.close()  # a Sybil of a project's own has no teardown for us
            project = self.settings.project
            kind, folder = kind_of(example.path), os.path.dirname(os.path.abspath(example.path))
            relative = os.path.relpath(os.path.abspath(example.path), project.root)
            src = project.root / "src" if relative.startswith("src" + os.sep) else project.root
            lenient_root = str(project.root) if project.unchecked == "skip" else None
            run = DocumentRun(
                zygote_for(self.preload),
                root=project.root,
                device=self.settings.device,
                timeout=project.timeout,
                shadow=self.settings.shadow,
                # a notebook runs in its folder, as Jupyter runs it (reads work, writes do not),
                # and imports from it; a module's docstrings import it as pytest's doctests do
                # (a project's own docs: in its root, where pytest runs them and peers do)
                workdir=folder if kind == "notebook" else lenient_root,
                path={"notebook": (folder,), "docstring": (str(src),)}.get(str(kind), ()),
            )
            self._runs[key] = run
            hello = run.visible.hello
            if "error" in hello or hello.get("device") != self.settings.device:
                self.end_document(example, str(hello.get("error", "the device is not the run's")))
                raise ProcessEnded(str(hello.get("error", "runs on another device")))
        return run

    def end_document(self, example: Any, why: str) -> None:
        """Stop the document's processes; its later examples are skipped, saying why."""
        self._close(id(example.namespace))
        where = (
            f"{os.path.relpath(example.document.path, self.settings.project.root)}:{example.line}"
        )
        self._ended[id(example.namespace)] = f"the example at {where} {why}"

    def teardown_document(self, namespace: dict[str, Any]) -> None:
        """After a document: end its processes."""
        self._close(id(namespace))
        self._ended.pop(id(namespace), None)

    def close(self) -> None:
        """End the processes of documents still open (at the end of the run)."""
        for key in list(self._runs):
            self._close(key)

    def _close(self, key: int) -> None:
        if (run := self._runs.pop(key, None)) is not None:
            run.close()

    def observe(self, example: Any, output: str | None) -> None:
        """Note what an example printed, the text it was collected from, which project files its
        document has read so far and what its process said of its device, for its report."""
        run = self._runs.get(id(example.namespace))
        self.observed[(os.path.abspath(example.document.path), example.line)] = {
            "line": example.line,
            "text": example.document.text,
            "output": output,
            "reads": sorted(run.reads) if run is not None else [],
            "device_name": run.visible.hello.get("device_name") if run is not None else None,
            "versions": run.visible.hello.get("versions") if run is not None else None,
        }

    # --- outcomes and the end of the run ----------------------------------------------------

    def note_outcome(self, report: Any) -> None:
        """Count one report of a sybil item (``path::sybil:...``), with what it printed and read
        (``pytest_plugin._Hooks`` attaches it to the report)."""
        path, _, name = report.nodeid.partition("::")
        if not name.startswith("sybil:"):
            return
        counts = self.outcomes.setdefault(path, {"passed": 0, "failed": 0, "skipped": 0})
        if report.failed:
            counts["failed"] += 1
        elif report.when == "call" and report.passed:
            counts["passed"] += 1
        elif report.skipped:
            counts["skipped"] += 1
        for key, observation in report.user_properties:
            if key == "convdocs":
                self.observations.setdefault(path, []).append(observation)

    def write_record(self) -> None:
        """Record each document whose examples all ran in this session and none failed, from
        the text they were collected from and the device their processes reported. Nothing is
        written unless the project's table names a record file."""
        root = self.settings.project.root
        if self.settings.project.record is None:
            return
        record_data = record.load(self.settings.project.record)
        for path, counts in sorted(self.outcomes.items()):
            if counts["skipped"] and not counts["passed"] and original_of(path) is not None:
                record_data["documents"].pop(path, None)  # its original's run vouches for it
                continue
            seen = self.observations.get(path, [])
            texts = {o["text"] for o in seen}
            ran = [o for o in seen if o["device_name"] is not None]  # in the document's processes
            names = {o["device_name"] for o in ran}
            if counts["failed"] or not counts["passed"] or len(texts) != 1 or len(names) != 1:
                continue
            source = read_source(root / path, next(iter(texts)), self.settings.project)
            if counts["passed"] + counts["skipped"] != source.example_count:
                continue
            record.note_run(
                record_data,
                path,
                source,
                self.settings,
                counts,
                printed={o["line"]: o["output"] for o in seen},
                data_files=sorted({file for o in seen for file in o["reads"]}),
                device_name=next(iter(names)),
                versions=ran[-1]["versions"],
            )
        record.save(self.settings.project.record, record_data)

    def listed_documents(self) -> list[Path]:
        """Every document under the project's ``paths`` (but in dot-folders and caches)."""
        found = []
        for base in self.settings.project.paths:
            for path in [base] if base.is_file() else base.rglob("*"):
                parts = path.relative_to(base).parts if path != base else (path.name,)
                hidden = any(part.startswith(".") or part == "__pycache__" for part in parts)
                if path.is_file() and kind_of(path) is not None and not hidden:
                    found.append(path.resolve())
        return sorted(found)


def parsers(
    root: str | Path = ".",
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    device: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    unchecked: str = "skip",
) -> list[Callable[[Document], Iterator[Region]]]:
    """convdocs's readers as sybil parsers, for a ``Sybil`` in a project's own conftest.py:
    each Markdown page, notebook or module a Sybil hands them is read and checked as the table's
    plugin checks it (each document in its own process, outputs compared within ``rtol`` and
    ``atol`` on ``device``), without the table's record or update mode. Without ``device``, the
    documents run where the pytest run asks: ``--device``, else $CONVDOCS_DEVICE, else the CPU
    (read when the first document is collected, after pytest has read its options).
    ``unchecked`` is the table's key (``config``): by default a block shown and not run is a
    skipped example.

    Raises:
        ConfigError (a ValueError): for an ``unchecked`` other than fail or skip, or a
            tolerance or timeout that is not a number in its range; ValueError: for a device
            that is not cpu or cuda[:N].
    """
    folder, where = Path(root).resolve(), "parsers()"
    rtol, atol = number(where, "rtol", rtol), number(where, "atol", atol)
    timeout, unchecked = number(where, "timeout", timeout), unchecked_named(unchecked, where)
    project = ProjectConfig(folder, (folder,), rtol, atol, timeout, unchecked=unchecked)
    session = Session(
        Settings(project, device_named(device, "parsers() device") if device is not None else "cpu")
    )
    session.device_from_run = device is None
    return [session.regions]
