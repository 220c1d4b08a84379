"""The verification machinery: read cells from pages, run them, compare and rewrite outputs.

A pytest plugin (``pytest_plugin``, entry point ``convdocs``) that a project turns on with a
``[tool.convdocs.verify]`` table (``config``). Reading: ``cells`` (Markdown) with ``rules``
(what a page may not do) and ``rendered`` (the cross-check with the page the site renders),
``notebook`` (``.ipynb``) and ``documents`` (the one parse path, docstrings included,
dependencies and fingerprints). Running: ``runner`` (this side) and ``child`` (each document in
a process of its own, forked from a warm zygote, its cells run in an IPython shell). Judging:
``compare``, ``tolerances``, ``evaluate``, ``figures``. Writing: ``edits`` (the update mode's
queue) and ``record`` (the verification record behind the stamps, which the site's MkDocs hook
``site_hooks/verification.py`` shows). ``session`` holds one run's state, ``items`` are its pytest
items.
"""

from typing import Any

from convdocs.verify.compare import Comparison, compare_outputs


def __getattr__(name: str) -> Any:
    """``parsers`` (``session.parsers``, convdocs's readers for a Sybil of your own), imported
    on first use, so that importing ``convdocs.verify`` stays light."""
    if name == "parsers":
        from convdocs.verify.session import parsers

        return parsers
    raise AttributeError(f"module 'convdocs.verify' has no attribute {name!r}")


__all__ = ["Comparison", "compare_outputs", "parsers"]
