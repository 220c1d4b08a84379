"""Figures: the committed PNG must match what the page's code draws, within a pixel tolerance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from convdocs.verify.child import _figures
from convdocs.verify.edits import EditQueue, FileWrite
from convdocs.verify.figures import Drawn, figure_difference, figure_problem

PAGE_TEXT = "# Page\n\n![a diagonal line](figures/line.png)\n"


def capture_figures() -> Drawn:
    """What the document's process sends back of the open figures (and closes them)."""
    import base64

    found = _figures()
    return Drawn(found["count"], found["png"] and base64.b64decode(found["png"]))


def draw():
    _, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "page.md"
    path.write_text(PAGE_TEXT)
    yield path
    plt.close("all")


def check(page, update=False, text=PAGE_TEXT, tol=2.0, strict=True):
    """Check the drawn figure; when updating, write what was drawn as the update mode does (at the end)."""
    drawn = capture_figures()
    problem = figure_problem("page.md", str(page), text, "figures/line.png", drawn)
    if problem or drawn.png is None:
        return problem
    failure = figure_difference("page.md", str(page), "figures/line.png", tol, drawn.png, strict)
    if update and failure is not None:
        queue = EditQueue()
        queue.add(FileWrite(str(page.parent / "figures/line.png"), drawn.png))
        assert queue.apply() == [str(page.parent / "figures/line.png")]
        return None
    return failure


def test_nothing_is_written_while_checking(page):
    draw()
    drawn = capture_figures()
    assert drawn.png is not None and drawn.png.startswith(b"\x89PNG")
    failure = figure_difference("page.md", str(page), "figures/line.png", 2.0, drawn.png, True)
    assert failure is not None and "is missing" in failure
    assert not (page.parent / "figures").exists()


def test_update_writes_then_check_passes(page):
    draw()
    assert "is missing" in check(page)
    draw()
    assert check(page, update=True) is None
    assert (page.parent / "figures/line.png").is_file()
    draw()
    assert check(page) is None


def test_an_altered_figure_fails(page):
    draw()
    check(page, update=True)
    committed = page.parent / "figures/line.png"
    pixels = np.array(Image.open(committed).convert("RGBA"))
    pixels[40:80, 60:120, :3] = 255 - pixels[40:80, 60:120, :3]
    Image.fromarray(pixels).save(committed)
    draw()
    failure = check(page)
    assert failure is not None and "no longer matches what the code draws (RMS" in failure
    draw()
    assert check(page, update=True) is None
    draw()
    assert check(page) is None


def test_changed_code_fails(page):
    draw()
    check(page, update=True)
    _, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    assert "no longer matches" in check(page)


def test_exactly_one_figure_and_alt_text(page):
    assert "it drew 0" in check(page)
    draw()
    draw()
    assert "it drew 2" in check(page)
    draw()
    assert "with alt text" in check(page, text="![](figures/line.png)")


def test_a_figure_of_another_size_fails_and_the_update_redraws_it(page):
    draw()
    check(page, update=True)
    _, ax = plt.subplots(figsize=(4, 2))  # wider than the committed one
    ax.plot([0, 1], [0, 1])
    failure = check(page)
    assert failure is not None and "no longer matches what the code draws" in failure
    assert "size" in failure
    _, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    assert check(page, update=True) is None
    _, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    assert check(page) is None


def test_a_changed_label_fails_where_the_rms_would_not_see_it(page):
    def labelled(label):
        _, ax = plt.subplots(figsize=(12, 8))  # large: one label is a small share of it
        ax.plot([0, 1, 2], [0.5, 0.8, 0.91])
        ax.set_title(f"test accuracy {label}")

    labelled("91%")
    check(page, update=True)
    labelled("99%")
    assert check(page, strict=False) is None  # the RMS alone stays under its tolerance
    labelled("99%")
    failure = check(page)
    assert failure is not None and "pixels changed colour" in failure
    labelled("91%")
    assert check(page) is None


# --- a figure's words are its page's ------------------------------------------------------------
# A figure holds numbers, symbols, mathtext and the names the page's code uses, set in a monospace
# font so that they read as code: those read the same in both editions, and the Chinese page
# shows the PNG its English twin draws. A figure may also hold words, but only in the language of
# its page: the Chinese twin's figure cell then draws it in its own words (its strings differ,
# nothing else may), in its own image (figures/name.zh.png, which mkdocs-static-i18n serves on
# the Chinese pages), and runs itself so that its image is checked. This reads each figure
# cell's code, without running it, for the strings that reach the figure as text: the arguments
# of matplotlib's text calls (and of the page's drawing helpers that pass one on), followed to
# the names, loops and functions of the cell that bind them.

import ast  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from convdocs.verify.cells import Cell  # noqa: E402
from convdocs.verify.documents import read_source  # noqa: E402
from convdocs.verify.translations import (  # noqa: E402
    figure_file,
    language_of,
    translation_of,
    vouched_by,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
# Matplotlib calls that put text in a figure, and the position of their text argument.
TEXT_CALLS = {
    "set_title": 0, "set_xlabel": 0, "set_ylabel": 0, "suptitle": 0, "supxlabel": 0,
    "supylabel": 0, "text": 2, "figtext": 2, "annotate": 0, "legend": 0, "set_label": 0,
    "set_text": 0, "set_xticklabels": 0, "set_yticklabels": 0,
}  # fmt: skip
TEXT_KEYWORDS = {"label", "labels", "s", "text", "title", "xlabel", "ylabel"}
MATH = re.compile(r"(?<!\\)\$.*?(?<!\\)\$")
WORD = re.compile(r"[^\W\d_][\w.]*")
DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _strings(node: ast.AST) -> list[str]:
    """The string constants of an expression that can become text: not a subscript's key, not
    a comparison's operand, not a styling keyword's value (``ha=``, ``color=``), not a call's
    own option (``ax.axis("off")``)."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.Subscript):
        return _strings(node.value)
    if isinstance(node, ast.Compare):
        return []
    if isinstance(node, ast.keyword):
        return _strings(node.value) if node.arg in TEXT_KEYWORDS else []
    if isinstance(node, ast.Call):
        parts = [
            node.func,
            *node.keywords,
            *(a for a in node.args if not isinstance(a, ast.Constant)),
        ]
        return [s for part in parts for s in _strings(part)]
    return [s for child in ast.iter_child_nodes(node) for s in _strings(child)]


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _monospace(call: ast.Call, cell: ast.AST) -> bool:
    """Whether a text call sets its text in a monospace font (or its cell sets all text so)."""
    options = [
        kw.value
        for kw in call.keywords
        if kw.arg in {"family", "fontfamily", "prop", "fontdict", "fontproperties"}
    ]
    everywhere = [
        n for n in ast.walk(cell) if isinstance(n, ast.Constant) and n.value == "font.family"
    ]
    return any(
        isinstance(c, ast.Constant) and c.value == "monospace"
        for node in options + ([cell] if everywhere else [])
        for c in ast.walk(node)
    )


def _text_calls(tree: ast.AST, helpers: dict[str, ast.FunctionDef]):
    """Each text call of ``tree`` as (the expression it shows, whether it is in monospace); a call
    of a page helper that passes one of its parameters on as text counts as a text call."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    legend_mono = any(
        _monospace(c, tree) for c in calls if getattr(c.func, "attr", None) == "legend"
    )
    for call in calls:
        mono = _monospace(call, tree)
        for kw in call.keywords:
            if kw.arg in TEXT_KEYWORDS:
                yield kw.value, mono or (kw.arg == "label" and legend_mono)
        if isinstance(call.func, ast.Attribute) and call.func.attr in TEXT_CALLS:
            position = TEXT_CALLS[call.func.attr]
            if len(call.args) > position:
                yield call.args[position], mono
        elif isinstance(call.func, ast.Name) and call.func.id in helpers:
            helper = helpers[call.func.id]
            names = [a.arg for a in helper.args.args]
            for inner, inner_mono in _text_calls(helper, {}):
                if isinstance(inner, ast.Name) and inner.id in names:
                    position = names.index(inner.id)
                    if len(call.args) > position:
                        yield call.args[position], inner_mono


class _Bindings:
    """The expressions that bind each name of a cell: assignments, ``append``, and loops, whose
    targets are followed into the tuples of a literal list (``for name, style in [("a", "o-")]``
    binds ``name`` to ``"a"`` only), through ``enumerate`` and ``zip``."""

    def __init__(self, tree: ast.AST, helpers: dict[str, ast.FunctionDef]):
        self.helpers = helpers
        # name -> (expression, how it binds the name, the index path within it); how: "value"
        # (name = it), "item" (name = an item of it), "member" (it is an item of name)
        self.values: dict[str, list[tuple[ast.AST, str, tuple[int, ...]]]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(target, node.value, "value", ())
            elif isinstance(node, (ast.For, ast.comprehension)):
                self._bind(node.target, node.iter, "item", ())
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in {"append", "extend"} and node.args:
                    how = "member" if node.func.attr == "append" else "value"
                    self._bind(node.func.value, node.args[0], how, ())

    def _bind(self, target: ast.AST, value: ast.AST, how: str, path: tuple[int, ...]):
        if isinstance(target, ast.Subscript):  # stages[-1] = ...
            target, how, path = target.value, "member", ()
        if isinstance(target, ast.Name):
            self.values.setdefault(target.id, []).append((value, how, path))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for i, part in enumerate(target.elts):
                self._bind(part, value, how, (*path, i))

    def _pick(
        self, node: ast.AST, element: bool, path: tuple[int, ...], seen: set[int]
    ) -> list[str]:
        """The strings of the part ``path`` of ``node`` (of each of its elements if ``element``)."""
        if element and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and path:
            if node.func.id == "enumerate" and node.args:
                return self._pick(node.args[0], True, path[1:], seen) if path[0] else []
            if node.func.id == "zip" and len(node.args) > path[0]:
                return self._pick(node.args[path[0]], True, path[1:], seen)
        if element and isinstance(node, (ast.List, ast.Tuple)):
            return [s for elt in node.elts for s in self._pick(elt, False, path, seen)]
        if element and isinstance(node, ast.Name) and path:
            return [
                s
                for value, how, inner in self.values.get(node.id, [])
                if not inner
                for s in self._pick(value, how == "value", path, seen)
            ]
        if not element and path and isinstance(node, (ast.Tuple, ast.List)):
            if len(node.elts) > path[0]:
                return self._pick(node.elts[path[0]], False, path[1:], seen)
        return self.strings(node, seen)

    def strings(self, node: ast.AST, seen: set[int] | None = None) -> list[str]:
        """The strings an expression shown as text may hold."""
        seen = set() if seen is None else seen
        if id(node) in seen:
            return []
        seen.add(id(node))
        found = _strings(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                for value, how, path in self.values.get(sub.id, []):
                    found += self._pick(value, how == "item", path, seen)
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                helper = self.helpers.get(sub.func.id)
                for ret in ast.walk(helper) if helper else ():
                    if isinstance(ret, ast.Return) and ret.value is not None:
                        found += self.strings(ret.value, seen)
        return found


def _names(tree: ast.AST) -> set[str]:
    """The names code uses: variables, attributes, parameters, keywords, imports, and string
    constants shaped like names (a dict key such as ``"min_s"``, ``method="shift_add"``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, (ast.arg, ast.keyword)) and node.arg:
            found.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.update((node.asname or node.name).split("."))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"[A-Za-z_][\w.]*", node.value):
                found.add(node.value)
    return found


def _defined(tree: ast.AST) -> set[str]:
    """The names a figure cell defines or reads from objects: what it assigns, its attributes
    (``.abs``), its imports (not its loop variables, which may be any word)."""
    found = {
        t.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        for target in n.targets
        for t in ast.walk(target)
        if isinstance(t, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.update((node.asname or node.name).split("."))
    return found


def figure_words(path: Path) -> dict[str, list[str]]:
    """For each figure of a page, what of its text is words: a word that is not a name of the
    page's code (outside its figure cells), or such a name not set in monospace. Numbers,
    symbols and mathtext are not words, nor is a single letter."""
    cells = [c for c in read_source(path).cells() if isinstance(c, Cell) and not c.session]
    trees = [(c, ast.parse(c.code.body)) for c in cells]
    vocabulary: set[str] = set()
    helpers: dict[str, ast.FunctionDef] = {}
    for cell, tree in trees:
        helpers.update(_functions(tree))
        vocabulary |= _names(tree) if not cell.marker("figure") else _defined(tree)
    found_words = {}
    for cell, tree in trees:
        marker = cell.marker("figure")
        if marker is None:
            continue
        bindings = _Bindings(tree, helpers)
        found: set[str] = set()
        for shown, mono in _text_calls(tree, helpers):
            for text in bindings.strings(shown):
                for word in WORD.findall(MATH.sub(" ", text)):
                    known = (
                        word in vocabulary
                        or set(word.split(".")) <= vocabulary
                        or DOTTED.fullmatch(word) is not None  # cv2.filter2D
                    )
                    if len(word) > 1 and not (known and mono):
                        found.add(word if known else f"{word} (not a name of the page's code)")
        found_words[marker.words[0]] = sorted(found)
    return found_words


ENGLISH_PAGES = sorted(
    p for p in DOCS.glob("*.md") if language_of(p) is None and "convdocs: figure" in p.read_text()
)


@pytest.mark.parametrize("path", ENGLISH_PAGES, ids=lambda p: p.name)
def test_figures_speak_the_language_of_their_page(path):
    twin = translation_of(path, "zh")
    words = {figure: found for figure, found in figure_words(path).items() if found}
    shared = {f: w for f, w in words.items() if figure_file(twin, f) == figure_file(path, f)}
    assert not shared, (
        f"{path.name}: figures that show words, which {twin.name} shows too (draw them in its "
        "words there, into figures/NAME.zh.png, or say them in the prose, alt text and caption; "
        f"in a figure use numbers, mathtext, and the code's own names in monospace): {shared}"
    )
    latin = {
        figure: latin_words
        for figure, found in figure_words(twin).items()
        if (latin_words := [w for w in found if w.split(" (")[0].isascii()])
    }
    assert not latin, f"{twin.name}: figures that show English words: {latin}"
    if words:  # the twin draws its own images, so it runs itself
        assert vouched_by(read_source(twin)) is None
        assert all(figure_file(twin, f).name.endswith(".zh.png") for f in words)


FIGURE_PAGE = """# A page

```python
losses = [2.0, 1.0]
```

<!-- convdocs: figure figures/loss.png -->
```python
import matplotlib.pyplot as plt


def titled(ax, title):
    ax.set_title(title, family="monospace")


fig, axes = plt.subplots(1, 2)
for ax, (values, label) in zip(axes, [(losses, "losses"), (losses, "$\\\\ell$")]):
    ax.plot(values, "o-", color="tab:red", label=label)
    ax.legend(loc="upper right", prop={"family": "monospace"})
    titled(ax, "losses")
ax.set_xlabel("$t$")
```

![The loss](figures/loss.png)
"""


@pytest.mark.parametrize(
    "change, words",
    [
        (("", ""), []),
        (
            ('set_xlabel("$t$")', 'set_xlabel("epoch $t$")'),
            ["epoch (not a name of the page's code)"],
        ),
        (
            ('titled(ax, "losses")', 'titled(ax, "the losses")'),
            ["the (not a name of the page's code)"],
        ),
        (
            ('(losses, "losses")', '(losses, "loss per epoch")'),
            [
                "epoch (not a name of the page's code)",
                "loss (not a name of the page's code)",
                "per (not a name of the page's code)",
            ],
        ),
        ((', prop={"family": "monospace"}', ""), ["losses"]),
    ],
)
def test_the_words_of_a_figure_are_found(tmp_path, change, words):
    page = tmp_path / "page.md"
    page.write_text(FIGURE_PAGE.replace(*change))
    assert figure_words(page) == {"figures/loss.png": words}
