"""MkDocs hooks: show readers the markers and the verification stamp of every page.

Listed under ``hooks:`` in mkdocs.yml. Markers (``<!-- convdocs: ... -->``) are HTML comments
in the source; here they become a visible line next to the cell they govern. The stamp says
how many examples the page has and where this exact version of it last passed, from the
verification record that test runs write.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from convdocs.verify import record
from convdocs.verify.cells import Cell, Marker, iter_fences, iter_markers, read_cells
from convdocs.verify.config import load_project
from convdocs.verify.documents import MARKDOWN_SUFFIXES, kind_of, read_source
from convdocs.verify.rules import DEVICE_KINDS, DEVICE_NAMES

if TYPE_CHECKING:  # the checker itself runs without MkDocs (on a GPU machine, say)
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page


def plugin_error(message: str) -> Exception:
    """MkDocs' PluginError (a build stops with the message), or a plain error without MkDocs."""
    try:
        from mkdocs.exceptions import PluginError
    except ImportError:
        return RuntimeError(message)
    return PluginError(message)


# What the site says around the code, in each language of the site (mkdocs-static-i18n builds
# one language after the other; Material's ``theme.language`` names the one being built).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "on_device": " on {device}",
        "colon": ": ",
        "skip": "Not run by the checks",
        "shown_only": "Shown, not run: {reason}",
        "source": "The source of <code>{name}</code>, checked against the package by the test suite.",
        "figure": "This code draws the figure below; the test suite checks the committed image "
        "against what it draws{tol}.",
        "figure_tol": " (RMS tolerance {tol}{reason})",
        "page_scope": "this page's outputs",
        "cell_scope": "the output below",
        "tolerance": "Checks compare {scope} with {tolerance}.",
        "examples": "{count} example",
        "examples_plural": "{count} examples",
        "not_run": ", {count} not run ({reasons})",
        "verified": "verified on {device} with torch {torch} on {date}",
        "unverified": "{device}: not yet verified for this version of the page",
        "earlier": "{device}: run on {machine} on {date}, for an earlier version of the page",
        "never": "{device}: not run on one yet",
        "details": "Machines and tolerances",
        "machine": "{device}: {machine}",
        "gpu_digits": "the outputs shown are the CPU's: on a GPU, digits may differ within the "
        "tolerance.",
        "guide": "How examples are verified",
        "site_tolerance": "Outputs are compared with rtol={rtol}, atol={atol}",
        "notebook_tolerance": "this notebook's with {tolerance}",
        "page_tolerance": "this page's with {tolerance}",
        "cell_tolerances": "{count} output with the tolerance noted next to it",
        "cell_tolerances_plural": "{count} outputs with the tolerance noted next to it",
        "list": "; ",
        "end": ".",
        "only_in_english": "",
        "d2l": 'This page follows <a href="https://d2l.ai/chapter_convolutional-neural-networks/{file}.html">section {en} of <i>Dive into Deep Learning</i></a>.',
    },
    "zh": {
        "on_device": "（{device} 上）",
        "colon": "：",
        "skip": "检查不运行此代码",
        "shown_only": "仅展示，不运行：{reason}",
        "source": "<code>{name}</code> 的源代码，测试套件会将它与包中的代码逐字比对。",
        "figure": "这段代码绘制下图；测试套件将提交的图像与它绘制的图像进行比较{tol}。",
        "figure_tol": "（均方根容差 {tol}{reason}）",
        "page_scope": "本页的输出",
        "cell_scope": "下面的输出",
        "tolerance": "检查比较{scope}时的容差为 {tolerance}。",
        "examples": "{count} 个示例",
        "examples_plural": "{count} 个示例",
        "not_run": "，{count} 个未运行（{reasons}）",
        "verified": "已在 {device} 上用 torch {torch} 验证，{date}",
        "unverified": "{device}：本页的这一版本尚未验证",
        "earlier": "{device}：{date} 在 {machine} 上运行过本页的较早版本",
        "never": "{device}：尚未在其上运行",
        "details": "机器和容差",
        "machine": "{device}：{machine}",
        "gpu_digits": "页面展示的是 CPU 的输出：在 GPU 上，数字可能在容差范围内有所不同。",
        "guide": "示例如何验证",
        "site_tolerance": "输出的比较容差为 rtol={rtol}，atol={atol}",
        "notebook_tolerance": "本笔记本的容差为 {tolerance}",
        "page_tolerance": "本页的容差为 {tolerance}",
        "cell_tolerances": "{count} 个输出使用旁边注明的容差",
        "cell_tolerances_plural": "{count} 个输出使用旁边注明的容差",
        "list": "；",
        "end": "。",
        "only_in_english": "本页只有英文版。",
        "d2l": '本页对应<a href="https://zh.d2l.ai/chapter_convolutional-neural-networks/{file}.html">《动手学深度学习》{zh} 节</a>。',
    },
}


def _text(language: str) -> dict[str, str]:
    """The site's words in ``language`` (a locale such as ``zh`` or ``zh_CN``; English otherwise)."""
    return TEXT.get(language.split("_")[0].split("-")[0], TEXT["en"])


def _tolerance_text(options: Mapping[str, object], language: str = "en") -> str:
    words = _text(language)
    values = ", ".join(f"{k}={options[k]}" for k in ("rtol", "atol") if k in options)
    device = options.get("device")
    name = DEVICE_NAMES.get(str(device).split(":")[0], str(device))
    where = words["on_device"].format(device=name) if device else ""
    reason = f"{words['colon']}{options['reason']}" if options.get("reason") else ""
    return f"{values}{where}{reason}"


def _marker_note(marker: Marker, language: str = "en", before_python: bool = True) -> str:
    words = _text(language)
    options = marker.options
    if marker.directive == "skip" and not before_python:  # a shell command, a config file
        note = words["shown_only"].format(reason=html.escape(options.get("reason", "")))
        return f'<p class="convdocs-note">{note}</p>\n'
    if marker.directive == "skip":
        return f'!!! warning "{words["skip"]}"\n    {html.escape(options.get("reason", ""))}\n'
    if marker.directive == "source":
        note = words["source"].format(name=html.escape(marker.words[0]))
        return f'<p class="convdocs-note">{note}</p>\n'
    if marker.directive in ("examples-from", "prose"):
        return ""  # the stamp covers the documents; a claim's numbers are in the paragraph itself
    if marker.directive == "figure":
        tol = ""
        if "tol" in options:
            reason = f"{words['colon']}{options['reason']}" if options.get("reason") else ""
            tol = html.escape(words["figure_tol"].format(tol=options["tol"], reason=reason))
        return f'<p class="convdocs-note">{words["figure"].format(tol=tol)}</p>\n'
    scope = words["page_scope" if marker.directive == "page-tolerance" else "cell_scope"]
    tolerance = html.escape(_tolerance_text(options, language))
    return f'<p class="convdocs-note">{words["tolerance"].format(scope=scope, tolerance=tolerance)}</p>\n'


def page_languages(page: Page, config: MkDocsConfig) -> tuple[str, str]:
    """(the language of the site being built, the language the page's file is written in).
    They differ where mkdocs-static-i18n falls back to the English file of a page that has no
    translation (the API reference on the Chinese site)."""
    built = str(config["theme"].get("language") or "en")
    return built, str(getattr(page.file, "locale", None) or built)


def _output_fences(markdown: str) -> list[tuple[int, int, str]]:
    """Replacements that mark every output block (``text`` fence after a cell, or in a device
    tab) with the class ``convdocs-output``: its opening line becomes ```` ```{.text ...} ````."""
    found = []
    for fence in read_cells(markdown).output_fences():
        line_end = re.compile(r"[\r\n]|$").search(markdown, fence.start)
        assert line_end is not None  # "$" always matches
        found.append((fence.start, line_end.start(), f"{fence.fence}{{.text .convdocs-output}}"))
    return found


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace each marker outside code fences with a note a reader can see (a tolerance once
    per page: a later cell with the same tolerance repeats nothing), and mark every output block
    as output (a class a stylesheet can show apart from code)."""
    fences = list(iter_fences(markdown))
    inside = [(f.start, f.end) for f in fences]
    replacements = _output_fences(markdown)
    said: set[str] = set()
    for item in iter_markers(markdown):
        if not isinstance(item, Marker) or any(s <= item.start < e for s, e in inside):
            continue
        following = next((f for f in fences if f.start > item.end), None)
        before_python = following is None or following.kind == "python"
        line = markdown[item.start : item.end]
        indent = line[: len(line) - len(line.lstrip(" \t"))]  # inside an admonition or a list
        note = "".join(
            indent + row if row.strip() else row
            for row in _marker_note(
                item, page_languages(page, config)[1], before_python
            ).splitlines(True)
        )
        if item.directive == "tolerance" and note in said:
            note = ""
        said.add(note)
        replacements.append((item.start, item.end, note))
    pieces, last = [], 0
    for start, end, new in sorted(replacements):
        pieces += [markdown[last:start], new]
        last = end
    pieces.append(markdown[last:])
    return "".join(pieces)


_AUTODOC = re.compile(r"^:::[ \t]+(?P<name>[\w.]+)[ \t]*$", re.M)


def rendered_module(root: Path, dotted: str) -> str:
    """The file (relative to ``root``) whose docstrings an mkdocstrings ``::: dotted`` line shows.

    Raises:
        PluginError (``plugin_error``): if the object cannot be imported, or lives outside the project.
    """
    import importlib
    import inspect

    parts = dotted.split(".")
    obj: object = None
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError as error:
            raise plugin_error(f"::: {dotted} names nothing importable: {error}") from None
        break
    else:
        raise plugin_error(f"::: {dotted} names nothing importable")
    try:
        source = inspect.getsourcefile(obj)  # type: ignore[arg-type]
    except TypeError:
        source = None
    if source is None or root.resolve() not in Path(source).resolve().parents:
        raise plugin_error(f"::: {dotted} shows docstrings from outside the project ({source})")
    return Path(source).resolve().relative_to(root.resolve()).as_posix()


def documents_of(root: Path, docs_dir: Path, src_path: str) -> list[str]:
    """The documents whose examples a page shows (relative to ``root``): itself, the modules
    whose docstrings its ``::: name`` lines render, and the paths its ``examples-from`` marker
    names. A rendered module must be among the checked documents.

    Raises:
        PluginError (``plugin_error``): if a page renders docstrings the checker does not verify.
    """
    path = docs_dir / src_path
    if kind_of(path) not in ("page", "notebook"):
        return []
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    documents = [relative] if read_source(path).example_count else []
    if path.suffix in MARKDOWN_SUFFIXES:
        text = path.read_text(encoding="utf-8")
        for item in iter_markers(text):
            if isinstance(item, Marker) and item.directive == "examples-from":
                documents += list(item.words)
        project = load_project(root)
        for m in _AUTODOC.finditer(text):
            module = rendered_module(root, m["name"])
            if project is not None and not project.covers(root / module):
                raise plugin_error(
                    f"{src_path} renders the docstrings of {module} (::: {m['name']}), which "
                    "[tool.convdocs.verify] paths does not list, so their examples are not checked"
                )
            if module not in documents:
                documents.append(module)
    return documents


def stamp_html(
    root: Path, documents: list[str], guide: str | None = None, language: str = "en"
) -> str:
    """The stamp for the examples of ``documents``, as an HTML badge: how many, which are not run
    and why, whether they are verified on each device (and where and with which torch), the
    tolerances in force, and a link to ``guide`` (the page that explains the checks)."""
    project = load_project(root)
    if project is None:
        raise plugin_error(
            f"{root}/pyproject.toml has no [tool.convdocs.verify] table: nothing to stamp"
        )
    if project.record is None:
        raise plugin_error(
            f"{root}/pyproject.toml: [tool.convdocs.verify] names no record file (record = "
            "'verification-record.json'): the stamps have nothing to show"
        )
    try:
        state = record.stamp(record.load(project.record), project, documents)
    except record.RecordError as error:
        raise plugin_error(str(error)) from None
    words = _text(language)
    count = state["examples"]
    head = words["examples" if count == 1 else "examples_plural"].format(count=count)
    if state["skipped"]:
        reasons = words["list"].join(html.escape(r) for r in state["skipped"])
        head += words["not_run"].format(count=len(state["skipped"]), reasons=reasons)
    parts = [f'<span class="convdocs-stamp__count">{head}</span>']
    machines = []
    for kind in DEVICE_KINDS:
        run, earlier = state["runs"].get(kind), state["earlier"].get(kind)
        name = DEVICE_NAMES[kind]
        if run:
            said = words["verified"].format(
                device=name, torch=html.escape(run["torch"]), date=html.escape(run["date"])
            )
            machines.append(words["machine"].format(device=name, machine=run["device_name"]))
            parts.append(
                '<span class="convdocs-stamp__run convdocs-stamp__run--verified">'
                f'<span aria-hidden="true">✓ </span>{said}</span>'
            )
        elif kind == "cpu":  # the site is built where the CPU runs: this one is a fault
            parts.append(
                '<span class="convdocs-stamp__run convdocs-stamp__run--unverified">'
                f'<span aria-hidden="true">✗ </span>{words["unverified"].format(device=name)}</span>'
            )
        else:  # another device: said neutrally, whether it ran an earlier version or never
            said = (
                words["earlier"].format(
                    device=name,
                    machine=html.escape(earlier["device_name"]),
                    date=html.escape(earlier["date"]),
                )
                if earlier
                else words["never"].format(device=name)
            )
            parts.append(
                f'<span class="convdocs-stamp__run convdocs-stamp__run--other">{said}</span>'
            )
    if guide is not None:
        parts.append(
            f'<a class="convdocs-stamp__guide" href="{html.escape(guide)}">{words["guide"]}</a>'
        )
    notes = [words["site_tolerance"].format(rtol=f"{project.rtol:g}", atol=f"{project.atol:g}")]
    for document in documents:
        source = read_source(root / document)
        for options in source.tolerances:
            tolerance = html.escape(_tolerance_text(options, language))
            notes.append(words["notebook_tolerance"].format(tolerance=tolerance))
        for marker in source.page_markers:
            if marker.directive == "page-tolerance":
                tolerance = html.escape(_tolerance_text(marker.options, language))
                notes.append(words["page_tolerance"].format(tolerance=tolerance))
        cells = sum(1 for e in source.cells() if isinstance(e, Cell) and e.marker("tolerance"))
        if cells:
            key = "cell_tolerances" if cells == 1 else "cell_tolerances_plural"
            notes.append(words[key].format(count=cells))
    if state["shared_outputs"]:
        notes.append(words["gpu_digits"].rstrip(words["end"]))
    details = words["list"].join(html.escape(m) for m in machines)
    return (
        '<p class="convdocs-stamp" data-convdocs-stamp>'
        + " · ".join(parts)
        + "</p>"
        + '<details class="convdocs-note" data-convdocs-tolerance>'
        + f"<summary>{words['details']}</summary>"
        + (f"{details}{words['end']} " if details else "")
        + words["list"].join(notes)
        + words["end"]
        + "</details>"
    )


_SCROLLING = re.compile(
    r'<(div|pre)\b(?=[^>]*class="[^"]*\b(?:highlight-ipynb|jp-OutputArea-output)\b)(?![^>]*tabindex)'
)


def on_page_content(html_text: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Put the stamp under the title of every page that shows examples; let the keyboard reach
    a notebook's scrolling code and outputs (axe: scrollable-region-focusable)."""
    from mkdocs.utils import get_relative_url

    root = Path(config["config_file_path"]).parent
    if page.file.src_path.endswith(".ipynb"):
        html_text = _SCROLLING.sub(lambda m: f'<{m[1]} tabindex="0"', html_text)
    built, written = page_languages(page, config)
    extra = ""
    if written != built:  # a page shown untranslated: its text keeps its own language
        html_text = f'<div lang="{html.escape(written)}">{html_text}</div>'
        notice = _text(built)["only_in_english"]
        if notice:
            extra = f'<p class="convdocs-note" data-convdocs-untranslated>{notice}</p>'
    section = (config.get("extra") or {}).get("d2l", {}).get(_stem(page.file.src_path))
    if section:
        file, en, zh = section
        link = _text(built)["d2l"].format(file=file, en=en, zh=zh)
        extra += f'<p class="convdocs-note" data-convdocs-d2l>{link}</p>'
    documents = documents_of(root, Path(config["docs_dir"]), page.file.src_path)
    if not documents:
        return _after_title(html_text, extra)
    # the guide in the language being built (mkdocs-static-i18n puts it under /zh/ and so on)
    prefix = "" if built == _default_language(config) else f"{built}/"
    guide_url = f"{prefix}verification/"
    guide = get_relative_url(guide_url, page.url) if page.url != guide_url else None
    return _after_title(html_text, stamp_html(root, documents, guide, built) + extra)


def _default_language(config: MkDocsConfig) -> str:
    """The language built at the site's root (mkdocs-static-i18n's default; English without it)."""
    plugin = config["plugins"].get("i18n")
    for language in getattr(getattr(plugin, "config", None), "languages", None) or []:
        if language.default:
            return str(language.locale)
    return "en"


def _stem(src_path: str) -> str:
    """A page's name without its folder, language and suffix (``pooling`` for ``pooling.zh.md``)."""
    name = Path(src_path).name
    return name.split(".", 1)[0]


def _after_title(html_text: str, addition: str) -> str:
    """``addition`` right after the page's title (at the top when it has none)."""
    match = re.search(r"</h1>", html_text)
    if match:
        return html_text[: match.end()] + addition + html_text[match.end() :]
    return addition + html_text
