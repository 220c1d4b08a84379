"""One verification run: its settings, the edits it queues, the outcomes it counts.

The pytest plugin makes one ``Session`` per pytest config and keeps it in ``config.stash``;
a test can make its own (``Session(Settings(project, device="cpu"))``) and evaluate documents
with it, without touching any other run. Nothing about a run lives in module globals.

Collection goes through ``documents.read_source``, like the record and the stamps.
"""

from __future__ import annotations

import functools
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sybil import Document, Region, Sybil

from convdocs.verify import evaluate, record
from convdocs.verify.cells import Problem
from convdocs.verify.config import Settings
from convdocs.verify.documents import SUFFIXES, Source, kind_of, read_source
from convdocs.verify.edits import EditQueue, read_text
from convdocs.verify.notebook import NotebookCell

DEVICE_ENV = "CONVDOCS_DEVICE"
"""The environment variable through which the examples learn their device
(``convdocs.default_device()`` reads it); set for each document while it runs."""


class VerifiedDocument(Document):
    """A sybil document read through ``documents.read_source``; ``source`` holds what it found."""

    source: Source

    @classmethod
    def parse(cls, path: str, *parsers: Any, encoding: str = "utf-8") -> Document:
        document = cls(read_text(path), path)
        for parser in parsers:
            for region in parser(document):
                document.add(region)
        return document


class Session:
    """A verification run: ``settings``, the ``queue`` of edits (update mode) and the
    ``outcomes`` of each document's examples (for the record)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = EditQueue()
        self.outcomes: dict[str, dict[str, int]] = {}
        self._saved_device: str | None = None
        common: dict[str, Any] = dict(
            parsers=[self.regions],
            path=str(settings.project.root),
            patterns=[f"*{s}" for s in SUFFIXES],
            setup=self.setup_document,
            teardown=self.teardown_document,
            document_types={suffix: VerifiedDocument for suffix in SUFFIXES},
        )
        self.sybils = {
            kind: Sybil(name=kind, **common) for kind in ("page", "notebook", "docstring")
        }

    # --- reading -------------------------------------------------------------------------

    def regions(self, document: Document) -> Iterator[Region]:
        """A sybil parser: one region per example that ``read_source`` finds."""
        source = read_source(document.path, document.text)
        document.source = source  # type: ignore[attr-defined]
        for example in source.examples:
            evaluator: Callable[[Session, Any], str | None]
            if isinstance(example, Problem):
                evaluator = evaluate.evaluate_problem
            elif isinstance(example, NotebookCell):
                evaluator = evaluate.evaluate_notebook_cell
            else:
                evaluator = evaluate.evaluate_cell
            yield Region(example.start, example.end, example, functools.partial(evaluator, self))

    def document(self, path: str | Path, text: str | None = None) -> Document:
        """Parse one document into sybil examples bound to this session (``text`` overrides the file)."""
        if text is None:
            return self.sybils[self._kind(path)].parse(Path(path))
        document = VerifiedDocument(text, str(path))
        for region in self.regions(document):
            document.add(region)
        return document

    def evaluate(self, path: str | Path, text: str | None = None) -> list[str]:
        """Run every example of one document, in order, in a fresh state; return the failures."""
        from sybil.example import SybilFailure

        document = self.document(path, text)
        failures = []
        self.setup_document(document.namespace)
        try:
            for example in document.examples():
                try:
                    example.evaluate()
                except SybilFailure as failure:
                    failures.append(str(failure))
        finally:
            self.teardown_document(document.namespace)
        return failures

    @staticmethod
    def _kind(path: str | Path) -> str:
        kind = kind_of(path)
        if kind is None:
            raise ValueError(
                f"{path} is not a document: expected one of {', '.join(sorted(SUFFIXES))}"
            )
        return kind

    def collect_file(self, file_path: Path, parent: Any) -> Any:
        """The pytest collector for ``file_path`` if the project lists it, else None."""
        kind = kind_of(file_path)
        if kind is None or not self.settings.project.covers(file_path):
            return None
        from sybil.integration.pytest import SybilFile

        return SybilFile.from_parent(parent, path=file_path, sybils=[self.sybils[kind]])

    # --- each document's fresh start -------------------------------------------------------

    def setup_document(self, namespace: dict[str, Any]) -> None:
        """Before a document: this run's device, seeds 0 and torch's default print options."""
        import torch

        self._saved_device = os.environ.get(DEVICE_ENV)
        os.environ[DEVICE_ENV] = self.settings.device
        torch.manual_seed(0)
        random.seed(0)
        try:
            import numpy
        except ImportError:
            pass
        else:
            numpy.random.seed(0)
        torch.set_printoptions(profile="default", sci_mode=None)
        if "matplotlib" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close("all")
            plt.rcdefaults()
        namespace.setdefault("__name__", "__convdocs_page__")

    def teardown_document(self, namespace: dict[str, Any]) -> None:
        """After a document: close its figures and give back the environment's device."""
        if "matplotlib" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close("all")
        if self._saved_device is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = self._saved_device

    # --- outcomes and the end of the run ----------------------------------------------------

    def note_outcome(self, nodeid: str, passed: bool, failed: bool, skipped: bool) -> None:
        """Count one report of a sybil item (``path::sybil:...``)."""
        path, _, name = nodeid.partition("::")
        if not name.startswith("sybil:"):
            return
        counts = self.outcomes.setdefault(path, {"passed": 0, "failed": 0, "skipped": 0})
        if failed:
            counts["failed"] += 1
        elif passed:
            counts["passed"] += 1
        elif skipped:
            counts["skipped"] += 1

    def write_record(self) -> None:
        """Record each document whose examples all ran in this session and none failed."""
        root = self.settings.project.root
        record_data = record.load(root)
        for path, counts in sorted(self.outcomes.items()):
            document = root / path
            if counts["failed"] or not counts["passed"] or not document.is_file():
                continue
            source = read_source(document)
            if counts["passed"] + counts["skipped"] != source.example_count:
                continue
            record.note_run(record_data, path, source, self.settings, counts)
        record.save(root, record_data)

    def apply_edits(self) -> list[str]:
        """Write the queued edits (update mode); return the paths that changed."""
        return self.queue.apply()
