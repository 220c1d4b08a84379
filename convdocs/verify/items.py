"""The pytest items of the examples: sybil's, made robust and clear about where they fail.

Sybil's item assumes that whatever fails inside it is a ``SybilFailure`` raised by an
evaluator. Anything else (a warning turned into an error by the project's ``filterwarnings``, an
unraisable exception reported while the example ran) made its traceback filter crash pytest
with an INTERNALERROR that named no page. Here such a failure is reported like any other: the
document and line first, then what happened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sybil.example import SybilFailure
from sybil.integration.pytest import SybilFile, SybilItem


class VerifiedItem(SybilItem):
    """One example as a pytest item."""

    def _traceback_filter(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        try:
            return super()._traceback_filter(excinfo)
        except IndexError:  # the failure did not come through sybil's example: keep it whole
            return excinfo.traceback

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SybilFailure):
            return super().repr_failure(excinfo, style)
        where = f"{os.path.relpath(self.example.path, self.config.rootpath)}:{self.example.line}"
        return f"{where}: the example failed outside its check: {excinfo.exconly()}\n\n" + str(
            super().repr_failure(excinfo, style)
        )


class VerifiedFile(SybilFile):
    """A document as a pytest collector of ``VerifiedItem``s."""

    def collect(self) -> Iterator[VerifiedItem]:
        for sybil in self.sybils:
            document = sybil.parse(self.path)
            self.documents.append(document)
            try:
                name = self.path.relative_to(self.config.rootpath).as_posix()
            except ValueError:
                name = self.path.as_posix()
            group = pytest.mark.xdist_group(name=name)
            for example in document.examples():
                item = VerifiedItem.from_parent(self, sybil=sybil, example=example)
                item.add_marker(group)  # a page's examples share a namespace: one worker
                yield item
