"""The Sybil objects that collect the verified examples: pages, README and docstrings."""

from __future__ import annotations

from sybil import Sybil
from sybil.document import PythonDocStringDocument
from sybil.sybil import SybilCollection

from convdocs.verify.evaluate import parse_cells, reset_page
from convdocs.verify.notebook import NotebookDocument, parse_notebook


def examples(root: str) -> SybilCollection:
    """Every verified example under ``root``: pages and notebooks in ``docs/``, ``README.md``, docstrings."""
    common = dict(parsers=[parse_cells], setup=reset_page, teardown=reset_page)
    return SybilCollection([
        Sybil(path=f"{root}/docs", patterns=["*.md"], name="page", **common),
        Sybil(
            path=f"{root}/docs", patterns=["*.ipynb"], name="notebook", parsers=[parse_notebook],
            setup=reset_page, teardown=reset_page, document_types={".ipynb": NotebookDocument},
        ),
        Sybil(path=root, filenames=["README.md"], excludes=["docs/*", ".venv/*"], name="readme", **common),
        Sybil(
            path=f"{root}/convdocs", patterns=["*.py"], name="docstring",
            document_types={".py": PythonDocStringDocument}, **common,
        ),
    ])
