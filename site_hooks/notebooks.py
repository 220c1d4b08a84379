"""Every page as a notebook: generated from the page, committed under notebooks/, linked on the page.

Each page of docs/ with checked cells becomes an nbformat v4 notebook (``notebook_of``): its prose
as markdown cells (convdocs markers removed, admonitions as bold titles, links and images as
absolute URLs of the published site so that they work in Colab), each checked Python cell as a
code cell whose stored outputs are the page's CPU output block (a figure cell's output is the
page's committed PNG), in the page's order. Before them, a markdown cell and a code cell that
installs convdocs where it is missing. The lecture notebook (docs/notebook.ipynb) gets the same
two cells in front of its own.

The notebooks are committed, because Colab opens notebooks from the repository (the site is
published as a Pages artifact, not from a branch): ``make notebooks`` (``python -m
site_hooks.notebooks``) writes them, ``--check`` lists the ones that differ, and
tests/test_page_notebooks.py fails when one is not what this module makes from its page now.

As an MkDocs hook (listed under ``hooks:`` in mkdocs.yml, after site_hooks/verification.py) it
puts a "Download the notebook" and an "Open in Colab" link under each page's title, next to
the D2L link, and copies the committed notebooks into the built site.
"""

from __future__ import annotations

import argparse
import base64
import functools
import html
import posixpath
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import yaml

from convdocs.verify.cells import Cell, Marker, iter_fences, iter_markers
from convdocs.verify.documents import Source, figure_file, project_root_of, read_source
from convdocs.verify.figures import image_reference
from convdocs.verify.translations import language_of, original_of

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
DOCS = "docs"
FOLDER = "notebooks"
"""Where the notebooks are committed, and where the built site serves them (same layout)."""
REPOSITORY = "convdocs/convdocs"
BRANCH = "main"
COLAB = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/"
INSTALL = (
    "try:\n"
    "    import convdocs\n"
    "except ImportError:  # Colab, or a Python without convdocs: install it from GitHub\n"
    f'    %pip install -q "convdocs @ git+https://github.com/{REPOSITORY}"'
)

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "intro": "This notebook is the page [{title}]({url}) of convdocs, generated from it: the "
        "prose, the code and the outputs verified on the CPU. The first code cell installs "
        "[convdocs](https://github.com/{repository}) from GitHub where it is missing (on "
        "Colab, say) and does nothing where it is already installed.",
        "download": "Download the notebook",
        "colab": "Open in Colab",
        "links": "This page as a notebook",
        "not_run": "Not run by the checks: {reason}",
        "source": "The source of `{name}` in the package (shown, not run).",
        "docstrings": "The examples in the docstrings of `{name}`",
    },
    "zh": {
        "intro": "本笔记本由 convdocs 的页面[{title}]({url})生成：包含页面的文字、代码以及在 CPU "
        "上验证过的输出。第一个代码单元在缺少 [convdocs](https://github.com/{repository}) 时"
        "（例如在 Colab 上）从 GitHub 安装它；已经安装时什么也不做。",
        "download": "下载笔记本",
        "colab": "在 Colab 中打开",
        "links": "本页的笔记本",
        "not_run": "检查不运行此代码：{reason}",
        "source": "包中 `{name}` 的源代码（仅展示，不运行）。",
        "docstrings": "`{name}` 文档字符串中的示例",
    },
}


def _words(language: str | None) -> dict[str, str]:
    return TEXT.get((language or "en").split("_")[0].split("-")[0], TEXT["en"])


def site_url(root: Path = ROOT) -> str:
    """The published site's address (``site_url`` of mkdocs.yml), ending with a slash."""
    config = yaml.load((root / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    url = str(config["site_url"])
    return url if url.endswith("/") else url + "/"


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold ``!!python/name`` and ``!ENV`` tags: read them as plain values."""


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)


# --- which pages, and where their notebooks go -------------------------------------------------


def _page_name(page: Path) -> tuple[str, str | None]:
    """A page's name without language and suffix, and its language (None for English)."""
    original = original_of(page) or page
    return original.name.split(".", 1)[0], language_of(page)


def notebook_path(page: Path) -> str:
    """Where a page's notebook is committed, relative to the project (and to the built site):
    ``notebooks/pooling.ipynb``, ``notebooks/zh/pooling.ipynb``."""
    name, language = _page_name(page)
    return posixpath.join(FOLDER, *([language] if language else []), f"{name}.ipynb")


def page_source(page: Path) -> Source:
    """``read_source`` of a page, read once while the file is unchanged."""
    return _read(str(page.resolve()), page.stat().st_mtime_ns)


@functools.lru_cache(maxsize=128)
def _read(path: str, mtime_ns: int) -> Source:
    return read_source(path)


def examples_from(page: Path) -> list[Path]:
    """The documents whose examples a page renders (its ``examples-from`` marker: the API
    page's modules, whose docstrings hold checked cells)."""
    root = project_root_of(page)
    return [
        root / word
        for marker in page_source(page).page_markers
        if marker.directive == "examples-from"
        for word in marker.words
    ]


def has_notebook(page: Path) -> bool:
    """Whether a document of docs/ gets a notebook: a notebook, or a page with checked cells
    (its own, or those of the docstrings it renders)."""
    if page.suffix == ".ipynb":
        return True
    return page.suffix == ".md" and bool(run_cells(page))


def pages(root: Path = ROOT) -> list[Path]:
    """Every document of docs/ that gets a notebook, in both languages."""
    return [p for p in sorted((root / DOCS).glob("*")) if p.is_file() and has_notebook(p)]


def page_address(docs_relative: str, language: str | None) -> str:
    """Where the site shows a document of docs/ (relative to the site): ``pooling/``,
    ``zh/pooling/``, ``./`` for the home page; other files (images) keep their path."""
    path, _, anchor = docs_relative.partition("#")
    stem, suffix = posixpath.splitext(path)
    if suffix in (".md", ".ipynb"):
        stem = stem.split(".", 1)[0] if "." in posixpath.basename(stem) else stem
        address = "" if stem == "index" else f"{stem.removesuffix('/index')}/"
        if language:
            address = f"{language}/{address}"
    else:
        address = path
    return address + (f"#{anchor}" if anchor else "")


# --- the page's Markdown as notebook Markdown ---------------------------------------------------

_ADMONITION = re.compile(
    r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?[ \t]*$'
)
_AUTODOC = re.compile(r"^:::[ \t]+(?P<name>[\w.]+)[ \t]*$")
_HEADING_ID = re.compile(r"^(#{1,6}[ \t].*?)[ \t]*\{[ \t]*#[\w-]+[ \t]*\}[ \t]*$")
_LINK = re.compile(
    r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?P<title>[ \t]+\"[^\"]*\")?\)"
    r"(?:\{[^}\n]*\})?"  # an attribute list ({ .md-button }): the site's, not Markdown's
)
_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)


def _outside_code(text: str) -> Iterator[tuple[bool, str]]:
    """The text cut into (is code, piece): inline code spans and fenced blocks stay as written."""
    spans = [(f.start, f.end) for f in iter_fences(text)]
    last = 0
    for start, end in spans:
        yield from _outside_spans(text[last:start])
        yield True, text[start:end]
        last = end
    yield from _outside_spans(text[last:])


def _outside_spans(text: str) -> Iterator[tuple[bool, str]]:
    last = 0
    for m in _CODE_SPAN.finditer(text):
        yield False, text[last : m.start()]
        yield True, m.group(0)
        last = m.end()
    yield False, text[last:]


def _prose(text: str, page: Path, base: str, language: str | None) -> str:
    """One stretch of a page's prose (admonitions already unfolded) as a notebook's Markdown:
    headings without their ``{#id}``, links and images to the published site, math as ``$``."""
    lines = []
    for line in text.split("\n"):
        heading, autodoc = _HEADING_ID.match(line), _AUTODOC.match(line)
        if autodoc:  # mkdocstrings renders a docstring there: a link to it on the site
            name = autodoc["name"]
            line = f"[`{name}`]({base}{page_address(page.name, language)}#{name})"
        lines.append(heading[1] if heading else line)
    text = "\n".join(lines)

    def link(m: re.Match[str]) -> str:
        target, title = m["target"], m["title"] or ""
        if target.startswith("#"):  # a section of the page: the notebook's headings have
            target = base + page_address(page.name, language) + target  # no such anchors
        elif not re.match(r"^[a-z][a-z0-9+.-]*:", target):
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page.name), target))
            target = base + page_address(resolved, None if m["bang"] else language)
        return f"{m['bang']}[{m['text']}]({target}{title})"

    def math(m: re.Match[str]) -> str:
        return f"${m[1].strip()}$" if m[1] is not None else f"$${m[2]}$$"

    pieces = []
    for is_code, piece in _outside_code(text):
        pieces.append(piece if is_code else _MATH.sub(math, _LINK.sub(link, piece)))
    return "".join(pieces).strip("\n")


def _unfolded(text: str) -> dict[int, tuple[int, str | None]]:
    """How each line of a page (by its offset) reads in a notebook, where admonitions do not
    exist: ``(columns to remove, replacement)``. An admonition's first line becomes its title
    in bold, and its body (indented four spaces more) moves to the margin."""
    plan: dict[int, tuple[int, str | None]] = {}
    bodies: list[int] = []  # the indent of each open admonition's body
    offset = 0
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        indent = len(bare) - len(bare.lstrip(" "))
        if bare.strip():
            while bodies and indent < bodies[-1]:
                bodies.pop()
        strip = 4 * len(bodies)
        m = _ADMONITION.match(bare)
        if m:
            title = m["title"] if m["title"] is not None else m["kind"].capitalize()
            bold = f"{' ' * max(0, indent - strip)}**{title}**\n" if title else ""
            plan[offset] = (0, bold)  # a paragraph of its own
            bodies.append(indent + 4)
        elif strip:
            plan[offset] = (min(strip, indent), None)
        offset += len(line)
    return plan


# --- the notebook ------------------------------------------------------------------------------


def _cell_id(number: int) -> str:
    return f"cell-{number}"


def notebook_of(page: Path, base: str | None = None) -> nbformat.NotebookNode:
    """The notebook of a document of docs/ (a page with checked cells, or the lecture notebook),
    with links and images pointing at the site published at ``base`` (mkdocs.yml's site_url)."""
    base = site_url(page.resolve().parents[1]) if base is None else base
    name, language = _page_name(page)
    words = _words(language)
    cells: list[nbformat.NotebookNode] = []
    if page.suffix == ".ipynb":
        original = nbformat.read(page, as_version=4)
        title = _title(
            "\n".join(c.source for c in original.cells if c.cell_type == "markdown"), name
        )
        body = [nbformat.from_dict(dict(c)) for c in original.cells]
        metadata = original.metadata
    else:
        source = page_source(page)
        title = _title(source.text, name)
        body = _page_cells(page, source.text, base, language, words)
        metadata = {}
    url = f"{base}{page_address(page.name if not language else name + page.suffix, language)}"
    cells.append(
        nbformat.v4.new_markdown_cell(
            words["intro"].format(title=title, url=url, repository=REPOSITORY)
        )
    )
    cells.append(nbformat.v4.new_code_cell(INSTALL))
    cells += body
    for number, cell in enumerate(cells):
        cell["id"] = _cell_id(number)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = nbformat.from_dict(
        {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            **{k: v for k, v in dict(metadata).items() if k not in ("kernelspec", "language_info")},
            "convdocs_source": posixpath.join(DOCS, page.name),
        }
    )
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return notebook


def _marker_lines(text: str) -> Iterator[int]:
    """Where each convdocs marker of a page starts (a marker shown inside a code block, as the
    guide shows them, is not one)."""
    fences = [(f.start, f.end) for f in iter_fences(text)]
    for item in iter_markers(text):
        if isinstance(item, Marker) and not any(s <= item.start < e for s, e in fences):
            yield item.start


def run_cells(page: Path) -> list[Cell]:
    """The cells of a page that its notebook runs (in order, after the install cell): every
    checked cell but those shown only (a skip marker, or a source marker)."""
    return [
        cell
        for document in (page, *examples_from(page))
        for cell in page_source(document).cells()
        if isinstance(cell, Cell) and cell.marker("skip") is None and cell.marker("source") is None
    ]


def _title(markdown: str, fallback: str) -> str:
    m = re.search(r"^#[ \t]+(.+?)[ \t]*(?:\{[^}]*\})?[ \t]*$", markdown, re.M)
    return m[1] if m else fallback


def _page_cells(
    page: Path, text: str, base: str, language: str | None, words: dict[str, str]
) -> list[nbformat.NotebookNode]:
    """A page's prose and cells, in order, as notebook cells."""
    markers = set(_marker_lines(text))
    plan = _unfolded(text)
    found: list[nbformat.NotebookNode] = []
    prose: list[str] = []
    count = 0
    position = 0
    image_to_drop: str | None = None

    def flush() -> None:
        nonlocal image_to_drop
        joined = "".join(prose)
        prose.clear()
        if image_to_drop is not None:  # the figure is the cell's output: not shown twice
            joined = re.sub(
                r"^[ \t]*!\[[^\]]*\]\(" + re.escape(image_to_drop) + r"\)[ \t]*\n?",
                "",
                joined,
                count=1,
                flags=re.M,
            )
            image_to_drop = None
        markdown = _prose(joined, page, base, language)
        if markdown.strip():
            found.append(nbformat.v4.new_markdown_cell(markdown))

    def add_prose(start: int, end: int) -> None:
        """The page's lines from ``start`` to ``end``, unfolded, without convdocs markers."""
        offset = start
        for line in text[start:end].splitlines(keepends=True):
            here, offset = offset, offset + len(line)
            if here in markers:
                continue
            strip, replacement = plan.get(here, (0, None))
            if replacement is not None:
                line = replacement + "\n"
            prose.append(line[strip:])

    def add_cell(cell: Cell, document: Path, document_text: str) -> None:
        nonlocal count, image_to_drop
        code = cell.code.body.rstrip("\n")
        skip, source = cell.marker("skip"), cell.marker("source")
        if skip is not None or source is not None:
            note = (
                words["not_run"].format(reason=skip.options.get("reason", ""))
                if skip is not None
                else words["source"].format(name=source.words[0] if source else "")
            )
            found.append(nbformat.v4.new_markdown_cell(f"*{note}*\n\n```python\n{code}\n```"))
            return
        count += 1
        output = cell.output_for("cpu")
        # the page's output block as one stream: what the cell printed, its value and any
        # warning, in the order the page shows them
        outputs = (
            [nbformat.v4.new_output("stream", name="stdout", text=output.body)]
            if output is not None and output.body
            else []
        )
        figure = cell.marker("figure")
        if figure is not None:
            target = figure.words[0]
            png = figure_file(document, target).read_bytes()  # a translation's own, if any
            alt = image_reference(document_text, target) or target
            outputs.append(
                nbformat.v4.new_output(
                    "display_data",
                    data={"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt},
                )
            )
            image_to_drop = target
        found.append(nbformat.v4.new_code_cell(code, execution_count=count, outputs=outputs))

    for cell in page_source(page).cells():
        assert isinstance(cell, Cell)
        add_prose(position, cell.start)
        position = cell.end
        flush()
        add_cell(cell, page, text)
    add_prose(position, len(text))
    flush()
    root = project_root_of(page)
    for document in examples_from(page):  # the API page: its modules' docstring examples
        source = page_source(document)
        if not source.cells():
            continue
        name = document.relative_to(root).with_suffix("").as_posix().replace("/", ".")
        found.append(nbformat.v4.new_markdown_cell(f"## {words['docstrings'].format(name=name)}"))
        for cell in source.cells():
            assert isinstance(cell, Cell)
            add_cell(cell, document, source.text)
    return found


def notebook_text(page: Path, base: str | None = None) -> str:
    """The notebook of ``page`` as the committed file holds it."""
    return nbformat.writes(notebook_of(page, base), indent=1) + "\n"


# --- make notebooks -----------------------------------------------------------------------------


def stale(root: Path = ROOT) -> list[str]:
    """The committed notebooks that are missing or differ from what their pages make now, and
    the committed ones that no page makes any more (paths relative to ``root``)."""
    base = site_url(root)
    wanted = {notebook_path(p): p for p in pages(root)}
    found = []
    for relative, page in wanted.items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != notebook_text(page, base):
            found.append(relative)
    committed = {p.relative_to(root).as_posix() for p in (root / FOLDER).rglob("*.ipynb")}
    return sorted([*found, *(committed - wanted.keys())])


def write(root: Path = ROOT) -> list[str]:
    """Write every page's notebook under notebooks/ (and remove those of no page); the paths written."""
    base = site_url(root)
    wanted = {notebook_path(p): p for p in pages(root)}
    changed = []
    for relative, page in wanted.items():
        path = root / relative
        text = notebook_text(page, base)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(relative)
    for old in (root / FOLDER).rglob("*.ipynb"):
        if old.relative_to(root).as_posix() not in wanted:
            old.unlink()
            changed.append(old.relative_to(root).as_posix())
    return sorted(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m site_hooks.notebooks",
        description="Write each page's notebook under notebooks/ (make notebooks).",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; list the notebooks that differ"
    )
    arguments = parser.parse_args(argv)
    if arguments.check:
        found = stale()
        for relative in found:
            print(f"{relative} is not what its page makes now: run `make notebooks`")
        return 1 if found else 0
    for relative in write():
        print(f"wrote {relative}")
    return 0


# --- the MkDocs hook ------------------------------------------------------------------------------

_ICONS = ("material/download.svg", "simple/googlecolab.svg")


def _icon(name: str) -> str:
    """An icon that Material ships (drawn inline: nothing is loaded from another host)."""
    import importlib.util

    spec = importlib.util.find_spec("material")
    assert spec is not None and spec.origin is not None, "mkdocs-material is not installed"
    svg = (Path(spec.origin).parent / "templates" / ".icons" / name).read_text("utf-8")
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)


def links_html(notebook: str, download_href: str, language: str | None) -> str:
    """The two links of a page: download its notebook (``download_href``, relative to the page),
    and open ``notebook`` (its path in the repository) in Colab, in ``language`` (the reader's:
    that of the edition, also where a page is shown untranslated)."""
    words = _words(language)
    download, colab = (_icon(name) for name in _ICONS)
    lang = html.escape((language or "en").split("_")[0])
    return (
        f'<nav class="convdocs-notebook" lang="{lang}" aria-label="{html.escape(words["links"])}" '
        "data-convdocs-notebook>"
        f'<a class="md-button convdocs-download" href="{html.escape(download_href)}" download>'
        f"{download}<span>{words['download']}</span></a>"
        f'<a class="md-button convdocs-colab" href="{html.escape(COLAB + notebook)}" '
        f"data-convdocs-colab>{colab}<span>{words['colab']}</span></a>"
        "</nav>"
    )


def on_page_content(html_text: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """The page's notebook links under its title, after the stamp and the D2L link."""
    from mkdocs.utils import get_relative_url

    root = Path(config["config_file_path"]).parent
    source = Path(config["docs_dir"]) / page.file.src_path
    if not source.is_file() or source.suffix not in (".md", ".ipynb"):
        return html_text
    relative = notebook_path(source)
    if not (root / relative).is_file():
        return html_text  # a page without checked cells (the tests fail for a missing one)
    edition = str(config["theme"].get("language") or "en")  # the edition being built
    links = links_html(relative, get_relative_url(relative, page.url), edition)
    d2l = re.search(r"<p[^>]*\bdata-convdocs-d2l\b[^>]*>.*?</p>", html_text, re.S)
    stamp = re.search(r"<details[^>]*\bdata-convdocs-tolerance\b.*?</details>", html_text, re.S)
    title = re.search(r"</h1>", html_text)
    place = next((m.end() for m in (d2l, stamp, title) if m is not None), 0)
    return html_text[:place] + links + html_text[place:]


def on_post_build(config: MkDocsConfig) -> None:
    """Copy the committed notebooks into the built site (notebooks/ at its root)."""
    root = Path(config["config_file_path"]).parent
    site = Path(config["site_dir"])
    plugin = config["plugins"].get("i18n")
    language = getattr(plugin, "current_language", None)
    default = getattr(plugin, "default_language", None)
    if language and default and language != default and site.name == language:
        site = site.parent  # mkdocs-static-i18n builds another edition into /<language>/
    if (root / FOLDER).is_dir():
        shutil.copytree(root / FOLDER, site / FOLDER, dirs_exist_ok=True)


if __name__ == "__main__":
    sys.exit(main())
