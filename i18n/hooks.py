"""MkDocs hooks for the Chinese edition (listed under ``hooks:`` in mkdocs.yml).

mkdocs-static-i18n rebuilds MkDocs' list of files for each language after every other plugin
has seen it (its ``on_files`` runs at priority -100), and in doing so drops the wrapper with
which mkdocs-jupyter makes a notebook a page: the notebook is then copied as a static file over
its own page's ``index.html``, and the page shows raw JSON (ultrabug/mkdocs-static-i18n#198).
Running after it, this hook makes each notebook that mkdocs-jupyter renders a page again, and
gives each language its own search index, whose texts show formulas as plain text, not TeX; the
language menu of a notebook leads to the other edition's notebook.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page


class NotebookPage(File):
    """A notebook file that MkDocs builds as a page (mkdocs-jupyter renders it)."""

    def is_documentation_page(self) -> bool:
        return True


@event_priority(-200)  # after mkdocs-static-i18n
def on_files(files: Files, config: MkDocsConfig) -> Files:
    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is None:
        return files
    for file in files:
        if not file.is_documentation_page() and jupyter.should_include(file):
            file.__class__ = NotebookPage
    return files


def _other_languages(config: MkDocsConfig) -> list[str]:
    """The languages mkdocs-static-i18n builds under /<language>/ (all but the default)."""
    plugin = config.plugins.get("i18n")
    languages = getattr(getattr(plugin, "config", None), "languages", None) or []
    return [str(lang.locale) for lang in languages if not lang.default and lang.build]


# --- search results without TeX ---------------------------------------------------------------

# a formula: \( \) on one line, \[ \] on several, never around a quote (code, a regex in a string)
_MATH = re.compile(r'\\\(([^"\n]*?)\\\)|\\\[([^"]*?)\\\]')
_SYMBOLS = {
    "times": "×", "cdot": "·", "sum": "∑", "int": "∫", "partial": "∂", "infty": "∞",  # noqa: RUF001
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "approx": "≈", "in": "∈", "pm": "±",
    "star": "⋆", "top": "⊤", "dots": "…", "ldots": "…", "cdots": "⋯",  # noqa: RUF001
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉",
    "Delta": "Δ", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "eta": "η",  # noqa: RUF001
    "lambda": "λ", "mu": "μ", "sigma": "σ", "theta": "θ", "epsilon": "ε",  # noqa: RUF001
    "left": "", "right": "", "quad": " ", "qquad": " ",
}  # fmt: skip
_FRACTION = re.compile(r"\\[td]?frac\{([^{}]*)\}\{([^{}]*)\}")
_SHORT_FRACTION = re.compile(r"\\[td]?frac\s*(\w)\s*(\w)")  # \tfrac12
_BINOMIAL = re.compile(r"\\binom\{([^{}]*)\}\{([^{}]*)\}")
_MATRIX = re.compile(r"\\begin\{[bpv]?matrix\}(.*?)\\end\{[bpv]?matrix\}", re.S)
_SCRIPT = re.compile(r"([_^])\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+)|\\(.)")
_NAMELESS = set("mathrm mathcal mathbf mathbb mathit operatorname text begin end".split())
_BRACES = {"{": "\0", "}": "\1"}  # escaped braces, kept while the grouping ones go


def _group(text: str) -> str:
    text = text.strip()
    return text if re.fullmatch(r"\w+", text) else f"({text})"


def _plain(tex: str) -> str:
    """A formula as plain text: symbols for commands (``\\times``, ``\\le``, ``\\sum``), a
    fraction as a/b, a subscript of several characters in parentheses (``∑_(a=0)^(k-1)``)."""
    tex = _MATRIX.sub(
        lambda m: "[" + re.sub(r"\s*&(amp;)?\s*", ", ", m[1]).replace("\\\\", ";").strip() + "]",
        tex,
    )
    for _ in range(3):  # nested fractions, innermost first
        tex = _FRACTION.sub(lambda m: f"{_group(m[1])}/{_group(m[2])}", tex)
    tex = _SHORT_FRACTION.sub(r"\1/\2", tex)
    tex = _BINOMIAL.sub(lambda m: f"C({m[1]}, {m[2]})", tex)

    def command(match: re.Match[str]) -> str:
        name, other = match.groups()
        if name is not None:  # \max stays max; \mathrm{x} is x
            return "" if name in _NAMELESS else _SYMBOLS.get(name, name)
        if other in _BRACES:
            return _BRACES[other]
        return other if other in "[]()|_^%$#&" else " "  # \, \; \  and \\ are spaces

    tex = _COMMAND.sub(command, tex)
    for _ in range(3):
        tex = _SCRIPT.sub(lambda m: m[1] + _group(m[2]), tex)
    tex = tex.replace("{", "").replace("}", "").replace("\0", "{").replace("\1", "}")
    return re.sub(r"[ \t]{2,}", " ", tex).strip()


def without_tex(text: str) -> str:
    """Search-result text with each formula (``\\(...\\)``, ``\\[...\\]``) as plain text: the
    search shows the words of a page's HTML, where arithmatex leaves the TeX for MathJax."""
    return _MATH.sub(lambda m: _plain(m[1] if m[1] is not None else m[2]), text)


@event_priority(-200)  # after mkdocs-static-i18n has merged every language's search entries
def on_post_build(config: MkDocsConfig) -> None:
    """One search index per language: mkdocs-static-i18n merges the entries of every language
    into ``search/search_index.json``, so that searching ``corr2d`` on an English page lists
    each Chinese twin beside its page (the code is the same). The Chinese pages' entries move to
    ``zh/search/search_index.json``, which Chinese pages search (overrides/main.html points their
    search at it), with their locations relative to ``zh/``."""
    index_path = Path(config["site_dir"]) / "search" / "search_index.json"
    if not index_path.is_file():
        return
    index = json.loads(index_path.read_text(encoding="utf-8"))
    for entry in index["docs"]:
        for key in ("title", "text"):
            if key in entry:
                entry[key] = without_tex(entry[key])
    for language in _other_languages(config):
        prefix = f"{language}/"
        theirs = [d for d in index["docs"] if d["location"].startswith(prefix)]
        if not theirs:
            continue  # a build of one language, before mkdocs-static-i18n merges them
        index["docs"] = [d for d in index["docs"] if not d["location"].startswith(prefix)]
        own = {
            **index,
            "docs": [{**d, "location": d["location"][len(prefix) :]} for d in theirs],
        }
        target = index_path.parent.parent / language / "search" / "search_index.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps(own, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
    index_path.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")


@event_priority(-200)  # after mkdocs-static-i18n has pointed the language menu at the page
def on_page_context(context: dict, page: Page, config: MkDocsConfig, nav: object) -> dict:
    """The header's language menu of a notebook leads to the same notebook in the other
    edition. mkdocs-static-i18n finds a page's twins when it sorts the files, before this
    module's ``on_files`` makes the notebooks pages, so it knew none for them and left the
    menu of /zh/notebook/ pointing at the English home page."""
    # mkdocs-static-i18n sets the attribute (config.extra is a UserDict), which the template
    # reads before the key
    alternates = getattr(config.extra, "alternate", None) or config.extra.get("alternate")
    if not alternates or not page.file.src_uri.endswith(".ipynb"):
        return context
    plugin = config.plugins.get("i18n")
    default = getattr(plugin, "default_language", None)
    url = page.url
    for language in _other_languages(config):
        url = url.removeprefix(f"{language}/")  # the default edition's address of this page
    links = [
        {**alternate, "link": url if alternate["lang"] == default else f"{alternate['lang']}/{url}"}
        if alternate.get("lang")
        else alternate
        for alternate in alternates
    ]
    setattr(config.extra, "alternate", links)  # noqa: B010 (an attribute the schema does not name)
    return context


_HEAD_ALTERNATE = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')


def on_post_page(output: str, page: object, config: MkDocsConfig) -> str:
    """No language alternates in the head. mkdocs-static-i18n points them at the same page in
    the other edition; Material fetches "sitemap.xml" next to each (it expects an edition's
    root there), a request that fails on every page. The header's language menu keeps the
    links, and sitemap.xml names every page's alternates for search engines."""
    head, _, body = output.partition("</head>")
    output = _HEAD_ALTERNATE.sub("", head) + "</head>" + body if body else output
    src_uri = getattr(getattr(page, "file", None), "src_uri", "")
    if src_uri.endswith(".ipynb"):
        output = _shared_notebook_styles(output, str(getattr(page, "url", "")), config)
    return output


_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
_SHARED_STYLE_MIN = 50_000  # characters: JupyterLab's stylesheet, not a page's own small styles


def _shared_notebook_styles(output: str, url: str, config: MkDocsConfig) -> str:
    """A notebook page links JupyterLab's stylesheet (570 kB, which mkdocs-jupyter writes into
    every notebook page) from one file that the browser caches, instead of carrying it: the
    page's HTML shrinks from 680 kB to about 110 kB. The stylesheet refers to no file (its
    images are data: URLs), so it reads the same from anywhere."""

    def link(match: re.Match[str]) -> str:
        css = match[1]
        if len(css) < _SHARED_STYLE_MIN:
            return match[0]
        name = f"assets/stylesheets/jupyter-{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
        target = Path(config["site_dir"]) / name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(css, encoding="utf-8")
        return f'<link rel="stylesheet" href="{get_relative_url(name, url)}">'

    return _STYLE.sub(link, output)


_DEFAULT_EDITION_TEMPLATES: dict[str, str] = {}


def on_post_template(output_content: str, template_name: str, config: MkDocsConfig) -> str:
    """The pages made from a template alone (404.html): no alternates in the head either, and
    the default edition's page. mkdocs-static-i18n builds each edition into the same site, so
    the last edition built would otherwise leave its own 404.html at the root, where GitHub
    Pages serves it for every missing address (overrides/404.html says "not found" in Chinese
    itself under /zh/)."""
    output = on_post_page(output_content, None, config)
    plugin = config.plugins.get("i18n")
    current = getattr(plugin, "current_language", None)
    if plugin is None or current == getattr(plugin, "default_language", current):
        _DEFAULT_EDITION_TEMPLATES[template_name] = output
        return output
    return _DEFAULT_EDITION_TEMPLATES.get(template_name, output)


_STREAM = (  # a stream output as mkdocs-jupyter writes it; {mime} is text/plain for stdout
    '<div class="jp-OutputArea-child">\n<div class="jp-OutputPrompt jp-OutputArea-prompt"></div>\n'
    '<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="{mime}" tabindex="0">\n'
    "<pre>{text}</pre>\n</div>\n</div>\n"
)


def _stream_pattern(mime: str, text: str) -> str:
    return re.escape(_STREAM).replace(r"\{mime\}", mime).replace(r"\{text\}", text)


_TWO_STREAMS = re.compile(
    _stream_pattern(r'(?P<mime>[^"]+)', r"(?P<first>(?:(?!</pre>).)*)")
    + _stream_pattern(r"(?P=mime)", r"(?P<second>(?:(?!</pre>).)*)"),
    re.S,
)


def one_block_per_stream(html: str) -> str:
    """A cell's printout in one output block: the kernel sends what a cell prints in pieces (one
    every fraction of a second), which the notebook's build keeps as separate outputs, shown as
    separate blocks (a training loop's 20 lines in three). Adjacent outputs of the same stream
    are joined, as Jupyter shows them and as the notebook file stores them."""
    while True:
        joined = _TWO_STREAMS.sub(
            lambda m: _STREAM.format(mime=m["mime"], text=m["first"] + m["second"]), html
        )
        if joined == html:
            return html
        html = joined


_HEADING = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)<a class="anchor-link" href="#[^"]*">')


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """A notebook's printouts come one block per stream (``one_block_per_stream``), and its
    headings get the anchors its table of contents links to. mkdocs-jupyter
    makes the two apart: the contents with Python-Markdown's unique slugs (``_1``, ``2d_1``),
    the headings with a plain slug, which is empty or the same for Chinese headings such as
    测试 2D 卷积运算 and 卷积2D网络, so the links of the Chinese notebook's contents led nowhere."""
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    html = one_block_per_stream(html)
    anchors = []
    stack = list(reversed(page.toc.items))
    while stack:
        item = stack.pop()
        anchors.append(item.id)
        stack.extend(reversed(item.children))
    headings = list(_HEADING.finditer(html))
    if len(headings) != len(anchors):
        return html  # not the structure this fix knows: leave the page as mkdocs-jupyter made it
    pieces, last = [], 0
    for match, anchor in zip(headings, anchors, strict=True):
        level, _, title = match.groups()
        pieces += [
            html[last : match.start()],
            f'<h{level} id="{anchor}">{title}<a class="anchor-link" href="#{anchor}">',
        ]
        last = match.end()
    return "".join(pieces) + html[last:]
