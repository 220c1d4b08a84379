"""The verification machinery: read cells from pages, run them, compare and rewrite outputs.

A pytest plugin (``pytest_plugin``, entry point ``convdocs``) that a project turns on with a
``[tool.convdocs.verify]`` table (``config``). Reading: ``cells`` (Markdown) with ``rules``
(what a page may not do), ``notebook`` (``.ipynb``) and ``documents`` (the one parse path,
docstrings included, dependencies and fingerprints). Running and judging: ``execute`` (a cell in
its sandbox), ``state`` (a fresh state per page), ``compare``, ``tolerances``, ``evaluate``,
``figures``. Writing: ``edits`` (the update mode's queue) and ``record`` (the verification
record behind the stamps). ``session`` holds one run's state, ``items`` are its pytest items,
and ``mkdocs_hooks`` shows markers and stamps on the site.
"""

from convdocs.verify.compare import Comparison, compare_outputs

__all__ = ["Comparison", "compare_outputs"]
