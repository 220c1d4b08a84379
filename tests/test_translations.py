"""The Chinese edition runs the code of the English one: every page but the API reference has a
Chinese twin (``docs/<page>.zh.md``), whose cells, outputs, markers and checked numbers are the
English page's, comments and prose aside; the checker verifies each edition on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from convdocs.verify.documents import SUFFIXES, read_source
from convdocs.verify.translations import drift, language_of, original_of, translation_of
from tests.conftest import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Pages the Chinese navigation shows in English (mkdocs-static-i18n falls back to them).
ENGLISH_ONLY = {"api.md"}

ORIGINALS = sorted(
    p for p in DOCS.rglob("*") if p.suffix in SUFFIXES - {".py"} and language_of(p) is None
)
TRANSLATIONS = sorted(p for p in DOCS.rglob("*") if p.suffix in SUFFIXES and language_of(p))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_has_its_translation(language):
    missing = [
        p.relative_to(DOCS).as_posix()
        for p in ORIGINALS
        if p.relative_to(DOCS).as_posix() not in ENGLISH_ONLY
        and not translation_of(p, language).is_file()
    ]
    assert not missing, f"pages without a {language} twin: {missing}"


def test_every_translation_translates_a_page():
    orphans = [
        p.name for p in TRANSLATIONS if not (original := original_of(p)) or not original.is_file()
    ]
    assert not orphans, f"translations of no page: {orphans}"


@pytest.mark.parametrize("path", TRANSLATIONS, ids=lambda p: p.name)
def test_the_translation_runs_and_shows_what_the_original_does(path):
    original = original_of(path)
    assert original is not None
    problems = drift(read_source(original), read_source(path))
    assert not problems, "\n".join(problems)


# --- the drift check itself ------------------------------------------------------------------

PAGE = """# A page

Some prose with 4 in it.
<!-- convdocs: prose 4=x -->

<!-- convdocs: tolerance rtol=1e-3 reason="rounding" -->
```python
x = 2 + 2  # add
x
```

```text
4
```
"""


def _drift(original: str, translation: str, tmp_path: Path) -> list[str]:
    (tmp_path / "p.md").write_text(original, encoding="utf-8")
    (tmp_path / "p.zh.md").write_text(translation, encoding="utf-8")
    return drift(read_source(tmp_path / "p.md"), read_source(tmp_path / "p.zh.md"))


def test_prose_comments_and_reasons_may_be_translated(tmp_path):
    zh = (
        PAGE.replace("# A page", "# 一页")
        .replace("Some prose with 4 in it.", "这段文字说 4。")
        .replace("# add", "# 相加")
        .replace('reason="rounding"', 'reason="舍入"')
    )
    assert _drift(PAGE, zh, tmp_path) == []


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (("x = 2 + 2", "x = 2 + 3"), "the code differs"),
        (("x = 2 + 2  # add", "x = 2 + 2\nprint()"), "the code differs"),
        (("```text\n4\n```", "```text\n5\n```"), "the output shown differs"),
        (("rtol=1e-3", "rtol=1e-2"), "its markers differ"),
        (("prose 4=x", "prose 4=len([1,2,3,4])"), "numbers in prose"),
        (("```python\nx = 2", "```python\nx = 2\n```\n\n```python\nx = 2"), "cells"),
    ],
)
def test_other_code_outputs_markers_or_numbers_are_drift(
    tmp_path: Path, change: tuple[str, str], found: str
):
    problems = _drift(PAGE, PAGE.replace(*change, 1), tmp_path)
    assert any(found in p for p in problems), problems


def test_a_translation_is_named_by_its_language():
    assert language_of("docs/pooling.zh.md") == "zh"
    assert original_of("docs/pooling.zh.md") == Path("docs/pooling.md")
    assert original_of("docs/notebook.zh.ipynb") == Path("docs/notebook.ipynb")
    assert language_of("docs/padding-and-stride.md") is None
    assert original_of("convdocs/verify/session.py") is None


# d2l-zh's words for the chapter, which a reader of d2l-zh expects to meet (and one it avoids).
D2L_ZH_TERMS = [
    "平移不变性",
    "局部性",
    "互相关运算",
    "卷积核",
    "卷积窗口",
    "标量偏置",
    "二维卷积层",
    "严格卷积运算",
    "水平和垂直翻转",
    "元素",
    "特征映射",
    "感受野",
    "平方误差",
    "学习率",
    "填充",
    "步幅",
    "多输入多输出通道",
    "汇聚层",
    "卷积神经网络（LeNet）",
    "小结",
    "练习",
]
D2L_ZH_TITLES = {
    "fc-to-conv.zh.md": "从全连接层到卷积",
    "cross-correlation.zh.md": "互相关运算",
    "conv2d-layer.zh.md": "卷积层",
    "edge-detection.zh.md": "图像中目标的边缘检测",
    "learning-a-kernel.zh.md": "学习卷积核",
    "convolution.zh.md": "互相关和卷积",
    "receptive-field.zh.md": "特征映射和感受野",
    "summary.zh.md": "小结",
    "exercises.zh.md": "练习",
    "padding-and-stride.zh.md": "填充和步幅",
    "channels.zh.md": "多输入多输出通道",
    "pooling.zh.md": "汇聚层",
    "lenet.zh.md": "卷积神经网络（LeNet）",
}


def test_the_chinese_edition_speaks_d2l_zh():
    text = "".join(p.read_text(encoding="utf-8") for p in TRANSLATIONS if language_of(p) == "zh")
    missing = [term for term in D2L_ZH_TERMS if term not in text]
    assert not missing, f"d2l-zh terms the Chinese edition never uses: {missing}"
    assert "池化" not in text, "d2l-zh says 汇聚 (pooling), not 池化"
    for name, title in D2L_ZH_TITLES.items():
        first = (DOCS / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# {title}", f"{name} is titled {first!r}, d2l-zh says {title}"


# --- figures in a translation's own words ---------------------------------------------------

FIGURE_PAGE = """# A figure

<!-- convdocs: figure figures/f.png -->
```python
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(2, 1))
ax.text(0.5, 0.5, "WORD", ha="center")
ax.set_axis_off()
```

![WORD](figures/f.png)
"""


def test_a_figure_cell_may_draw_in_the_translations_words_and_nothing_else(tmp_path):
    english, spanish = FIGURE_PAGE.replace("WORD", "one"), FIGURE_PAGE.replace("WORD", "uno")
    assert _drift(english, spanish, tmp_path) == []
    other_code = spanish.replace("ha=", "va=")
    assert "the code differs" in " ".join(_drift(english, other_code, tmp_path))
    no_figure = english.replace("<!-- convdocs: figure figures/f.png -->\n", "")
    assert "the code differs" in " ".join(
        _drift(no_figure, no_figure.replace("one", "uno"), tmp_path)
    )


def _judged_figures(tmp_path: Path, english: str, spanish: str, **options) -> dict[str, list]:
    """Each edition of a page judged in-process (``tests.conftest.judged``, with ``options``)."""
    from tests.conftest import judged

    (tmp_path / "pyproject.toml").write_text('[tool.convdocs.verify]\npaths = ["docs"]\n')
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "p.md").write_text(english.replace("WORD", "one"))
    (docs / "p.es.md").write_text(spanish.replace("WORD", "uno"))
    return {name: judged(tmp_path, docs / name, **options) for name in ("p.md", "p.es.md")}


def test_a_translation_that_draws_its_own_figure_runs_itself_against_its_own_image(
    tmp_path, monkeypatch, device
):
    """The update draws the images on the CPU (where shared outputs are written); the checks
    run on the run's device."""
    monkeypatch.delenv("CI", raising=False)
    figures = tmp_path / "docs" / "figures"
    _judged_figures(tmp_path, FIGURE_PAGE, FIGURE_PAGE, update=True)
    english = (figures / "f.png").read_bytes()
    assert (figures / "f.es.png").read_bytes() != english  # written beside, never over, f.png
    found = _judged_figures(tmp_path, FIGURE_PAGE, FIGURE_PAGE, device=str(device))
    assert found == {"p.md": [("passed", "")], "p.es.md": [("passed", "")]}  # both ran

    (figures / "f.es.png").write_bytes(english)  # the translation's own image is checked
    message = _judged_figures(tmp_path, FIGURE_PAGE, FIGURE_PAGE, device=str(device))["p.es.md"][0][
        1
    ]
    assert "figures/f.es.png no longer matches what the code draws" in message


def test_a_translation_with_an_image_of_its_own_is_not_vouched_for_by_its_original(
    tmp_path, monkeypatch, device
):
    """The update draws the images on the CPU (where shared outputs are written); the checks
    run on the run's device."""
    monkeypatch.delenv("CI", raising=False)
    same = FIGURE_PAGE.replace("WORD", "one")
    figures = tmp_path / "docs" / "figures"
    _judged_figures(tmp_path, same, FIGURE_PAGE.replace("WORD", "uno"), update=True)
    # the same code as the original, but an image of its own that the code does not draw
    found = _judged_figures(tmp_path, same, same, device=str(device))
    assert found["p.md"] == [("passed", "")]
    assert found["p.es.md"][0][0] == "failed", found  # run, not skipped as its original's twin
    assert "figures/f.es.png no longer matches" in found["p.es.md"][0][1]
    (figures / "f.es.png").unlink()
    assert _judged_figures(tmp_path, same, same, device=str(device))["p.es.md"][0][0] == "skipped"
