"""What the site shows: a page's code blocks as Python-Markdown renders them with the site's
own extensions (``markdown_extensions`` of the project's mkdocs.yml, plus the ones MkDocs
always adds), to cross-check the reader (``cells``) on every page.

The reader finds fences with its own grammar, because the update mode needs their places in
the file; the site renders with SuperFences. Wherever the two disagree (a fence the site does
not show, a block the reader does not see, a body read otherwise), the page fails, so that what
runs and what is compared is what readers see.
"""

from __future__ import annotations

import difflib
import functools
import html.parser
from pathlib import Path
from typing import Any

MKDOCS_BUILTINS = ("toc", "tables", "fenced_code")
"""The extensions MkDocs adds to every site's own."""
WITHOUT_MKDOCS = tuple(
    "admonition attr_list md_in_html pymdownx.details pymdownx.superfences pymdownx.tabbed".split()
)
"""What a project without mkdocs.yml is read with, beside ``MKDOCS_BUILTINS``: the extensions
whose syntax the checker's own page format uses (device tabs, notes)."""


@functools.lru_cache(maxsize=16)
def extensions(root: Path) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """The Markdown extensions (and their settings) the site at ``root`` renders pages with."""
    mkdocs_yml = Path(root) / "mkdocs.yml"
    if not mkdocs_yml.is_file():
        return (*MKDOCS_BUILTINS, *WITHOUT_MKDOCS), {"pymdownx.tabbed": {"alternate_style": True}}
    try:  # MkDocs' own loader knows its tags (!ENV, !relative)
        from mkdocs.utils.yaml import yaml_load
    except ImportError:
        import yaml

        yaml_load = yaml.safe_load
    with mkdocs_yml.open(encoding="utf-8") as handle:
        data = yaml_load(handle) or {}
    configs: dict[str, dict[str, Any]] = {}
    for item in data.get("markdown_extensions") or []:
        name, config = (item, {}) if isinstance(item, str) else next(iter(item.items()))
        configs[name] = dict(config or {})
    return tuple(dict.fromkeys([*MKDOCS_BUILTINS, *configs])), configs  # each once, in order


class _Blocks(html.parser.HTMLParser):
    """The text of every ``<pre>`` element of an HTML fragment (entities decoded, tags dropped)."""

    def __init__(self) -> None:
        super().__init__()  # character references decoded
        self.blocks: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "pre":
            if not self.depth:
                self.blocks.append("")
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.blocks[-1] += data


@functools.lru_cache(maxsize=64)
def rendered_blocks(text: str, root: Path) -> tuple[str, ...]:
    """The text of each code block of the page ``text``, as the site at ``root`` renders it."""
    import markdown

    names, configs = extensions(root)
    parser = _Blocks()
    parser.feed(markdown.Markdown(extensions=list(names), extension_configs=configs).convert(text))
    parser.close()
    return tuple(parser.blocks)


def _same(body: str) -> str:
    return body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def _quote(body: str) -> str:
    first = _same(body).split("\n", 1)[0]
    return repr(first[:60] + ("…" if len(first) > 60 else ""))


def disagreements(text: str, fences: list[tuple[int, str]], root: Path) -> list[tuple[int, str]]:
    """Where the reader's ``fences`` (line, body) and the site's code blocks differ, as
    (line, message); empty when they are the same blocks, in the same order, text for text."""
    shown = [_same(block) for block in rendered_blocks(text, Path(root))]
    read = [_same(body) for _, body in fences]
    found: list[tuple[int, str]] = []
    matcher = difflib.SequenceMatcher(a=read, b=shown, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        line_before = fences[a0 - 1][0] if a0 else 1
        found += [
            (
                line,
                f"the checker reads a block {_quote(body)} here that the rendered document does not show as "
                "this code (inside a comment or raw HTML, closed or indented otherwise than "
                "SuperFences reads it): write it as a plain fence, closed by the same fence, "
                "indented with spaces",
            )
            for line, body in fences[a0:a1]
            if op != "equal"
        ]
        found += [
            (
                line_before,
                f"the rendered document shows a code block {_quote(block)} after line {line_before} that "
                "the checker does not read, so nothing checks it: write it as a fenced block "
                "(and a skip marker with a reason, if it is not Python that runs)",
            )
            for block in shown[b0:b1]
            if op == "insert"  # a replaced block is reported as read, above
        ]
    return found
