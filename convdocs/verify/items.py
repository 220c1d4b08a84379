"""The pytest collector of a document: sybil's, with every example of a document kept on one
xdist worker (a document's examples share its processes)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sybil.integration.pytest import SybilFile, SybilItem


class VerifiedFile(SybilFile):
    """A document as a pytest collector of sybil's items, grouped by document."""

    def collect(self) -> Iterator[SybilItem]:
        for sybil in self.sybils:
            document = sybil.parse(self.path)
            self.documents.append(document)
            group = pytest.mark.xdist_group(name=os.path.relpath(self.path, self.config.rootpath))
            for example in document.examples():
                item = SybilItem.from_parent(self, sybil=sybil, example=example)
                item.add_marker(group)
                yield item
