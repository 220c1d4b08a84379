"""One verification run: its settings, the edits it queues, the outcomes it counts.

The pytest plugin makes one ``Session`` per pytest config and keeps it in ``config.stash``;
a test can make its own (``Session(Settings(project, device="cpu"))``) and evaluate documents
with it, without touching any other run. Nothing about a run lives in module globals.

Collection goes through ``documents.read_source``, like the record and the stamps. Each page
runs in a fresh state (``state.PageState``): torch's defaults, seeds, an empty working folder,
and checks that it patches no module and prints the same under another hidden seed.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sybil import Document, Region, Sybil

from convdocs.verify import evaluate, record
from convdocs.verify.cells import Claim, Problem
from convdocs.verify.config import Settings
from convdocs.verify.documents import SUFFIXES, Source, kind_of, page_imports, read_source
from convdocs.verify.edits import EditQueue, read_text
from convdocs.verify.notebook import NotebookCell
from convdocs.verify.state import VISIBLE_SEED, PageState, ProcessState, seed_everything

DEVICE_ENV = "CONVDOCS_DEVICE"
"""The environment variable through which the examples learn their device
(``convdocs.default_device()`` reads it); set for each document while it runs."""


class PagePatchedModules(Exception):
    """Raised after a page that changed attributes of imported modules (they are put back)."""


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
    """A verification run: ``settings``, the ``queue`` of edits (update mode), the ``outcomes``
    of each document's examples and what the examples printed and read (for the record)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = EditQueue()
        self.outcomes: dict[str, dict[str, int]] = {}
        self.observed: dict[tuple[str, int], dict[str, Any]] = {}
        """What each example printed and which project files its page read, by (path, line)."""
        self.printed: dict[str, dict[int, str | None]] = {}
        self.reads: dict[str, set[str]] = {}
        self._pages: dict[int, PageState] = {}
        self.collected: set[Path] = set()
        """The documents pytest handed to this session for collection."""
        self._saved_device: dict[int, str | None] = {}
        self._process_state: ProcessState | None = None
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
            elif isinstance(example, Claim):
                evaluator = evaluate.evaluate_claim
            elif isinstance(example, NotebookCell):
                evaluator = evaluate.evaluate_notebook_cell
            else:
                evaluator = evaluate.evaluate_cell
            yield Region(
                example.start,
                example.end,
                example,
                functools.partial(evaluate.guarded, evaluator, self),
            )

    def document(self, path: str | Path, text: str | None = None) -> Document:
        """Parse one document into sybil examples bound to this session (``text`` overrides the file)."""
        path = os.path.abspath(path)
        if text is None:
            return self.sybils[self._kind(path)].parse(Path(path))
        document = VerifiedDocument(text, str(path))
        for region in self.regions(document):
            document.add(region)
        return document

    def evaluate(
        self, path: str | Path, text: str | None = None, *, first_failure: bool = False
    ) -> list[str]:
        """Run the examples of one document, in order, in a fresh state; return the failures
        (all of them, or only the first when ``first_failure``)."""
        from sybil.example import SybilFailure

        document = self.document(path, text)
        failures: list[str] = []
        self.setup_document(document.namespace)
        try:
            for example in document.examples():
                try:
                    example.evaluate()
                except SybilFailure as failure:
                    failures.append(str(failure))
                    if first_failure:
                        break
        finally:
            try:
                self.teardown_document(document.namespace)
            except PagePatchedModules as error:
                failures.append(
                    f"{os.path.relpath(document.path, self.settings.project.root)}: {error}"
                )
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
        from convdocs.verify.items import VerifiedFile

        self.collected.add(Path(file_path).resolve())
        return VerifiedFile.from_parent(parent, path=file_path, sybils=[self.sybils[kind]])

    # --- each document's fresh start -------------------------------------------------------

    def setup_document(self, namespace: dict[str, Any]) -> None:
        """Before a document: torch's defaults (and numpy's, decimal's, IPython's printing) as
        the run began, this run's device, seeds, an empty working folder."""
        if self._process_state is None:
            seed_everything(VISIBLE_SEED)  # imports numpy when it is installed, before the capture
            self._process_state = ProcessState.capture()
        self._process_state.restore()
        seed_everything(VISIBLE_SEED)
        if "matplotlib" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close("all")
            plt.rcdefaults()
        self._saved_device[id(namespace)] = os.environ.get(DEVICE_ENV)
        os.environ[DEVICE_ENV] = self.settings.device
        self._pages[id(namespace)] = PageState.enter(self.settings.project.root)
        namespace.setdefault("__name__", "__convdocs_page__")

    def page_state(self, example: Any) -> PageState:
        """The state of the page ``example`` belongs to, started at its first example."""
        if id(example.namespace) not in self._pages:
            self.setup_document(example.namespace)  # evaluated without sybil's setup
        state = self._pages[id(example.namespace)]
        if state.snapshot is None:
            state.start(page_imports(example.document.source))
        return state

    def teardown_document(self, namespace: dict[str, Any]) -> None:
        """After a document: close its figures, leave its folder, give back the environment's
        device; put back any module it patched (its cell has failed for it already)."""
        if "matplotlib" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close("all")
        state = self._pages.pop(id(namespace), None)
        patches: list[str] = []
        if state is not None:
            if state.snapshot is not None and state.snapshot.changes():
                state.snapshot.restore()
            patches = state.leave()
        saved = self._saved_device.pop(id(namespace), None)
        if saved is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = saved
        if patches:
            raise PagePatchedModules(
                f"the page changed {', '.join(patches[:5])}"
                + (f" and {len(patches) - 5} more" if len(patches) > 5 else "")
                + ": a page may not patch modules, it would change what the pages after it print "
                "(the harness has put them back)"
            )

    # --- outcomes and the end of the run ----------------------------------------------------

    def observe(self, example: Any, output: str | None) -> None:
        """Note what an example printed and what its page has read so far, for its report."""
        state = self._pages.get(id(example.namespace))
        reads = sorted(state.guard.reads) if state is not None else []
        self.observed[(os.path.abspath(example.document.path), example.line)] = {
            "output": output,
            "reads": reads,
        }

    def take_observation(self, path: str, line: int) -> dict[str, Any] | None:
        return self.observed.pop((os.path.abspath(path), line), None)

    def note_outcome(
        self,
        nodeid: str,
        passed: bool,
        failed: bool,
        skipped: bool,
        observation: dict[str, Any] | None = None,
    ) -> None:
        """Count one report of a sybil item (``path::sybil:...``), with what it printed and read."""
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
        if observation is not None:
            line = int(name.split("line:", 1)[1].split(",", 1)[0])
            self.printed.setdefault(path, {})[line] = observation["output"]
            self.reads.setdefault(path, set()).update(observation["reads"])

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
            record.note_run(
                record_data,
                path,
                source,
                self.settings,
                counts,
                printed=self.printed.get(path, {}),
                data_files=sorted(self.reads.get(path, set())),
            )
        record.save(root, record_data)

    def listed_documents(self) -> list[Path]:
        """Every document under the project's ``paths`` (but in dot-folders and caches)."""
        found = []
        for base in self.settings.project.paths:
            candidates = [base] if base.is_file() else base.rglob("*")
            for path in candidates:
                relative = path.relative_to(base) if path != base else Path(path.name)
                if (
                    path.is_file()
                    and kind_of(path) is not None
                    and not any(
                        part.startswith(".") or part == "__pycache__" for part in relative.parts
                    )
                ):
                    found.append(path.resolve())
        return sorted(found)

    def apply_edits(self) -> list[str]:
        """Write the queued edits (update mode); return the paths that changed."""
        return self.queue.apply()
