"""The site builds strictly and contains every page of the navigation."""

from __future__ import annotations

import pytest
import yaml

from convdocs.verify.translations import translation_of
from tests.conftest import LANGUAGES, ROOT, address_of


def _nav_pages(nav):
    for entry in nav:
        for value in entry.values():
            if isinstance(value, list):
                yield from _nav_pages(value)
            else:
                yield value


def test_strict_build_has_every_page(built_site):
    from convdocs.verify.translations import original_of
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = list(_nav_pages(config["nav"]))
    in_docs = sorted(
        p.relative_to(ROOT / "docs").as_posix()
        for p in (ROOT / "docs").rglob("*")
        if p.suffix in (".md", ".ipynb") and original_of(p) is None
    )
    assert sorted(pages) == in_docs  # every page is in the navigation, once
    for page in pages:
        for language in (None, *LANGUAGES):
            html = built_site / address_of(ROOT / "docs" / page, language) / "index.html"
            assert html.is_file(), f"{page} ({language})"
        translated = (built_site / address_of(ROOT / "docs" / page, "zh") / "index.html").read_text(
            encoding="utf-8"
        )
        assert '<html lang="zh"' in translated, page


def test_math_is_rendered_from_the_bundled_mathjax(built_site):
    html = (built_site / "cross-correlation" / "index.html").read_text()
    assert 'class="arithmatex"' in html
    assert "assets/mathjax/tex-mml-chtml.js" in html
    assert "cdn." not in html and "fonts.googleapis" not in html
    assert (
        built_site / "assets/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff"
    ).is_file()


def test_notebook_page_has_a_download_button_and_its_file(built_site):
    """The lecture notebook's page links its notebook as every page does (site_hooks/notebooks.py):
    the committed one under notebooks/, which installs convdocs where it is missing."""
    html = (built_site / "notebook" / "index.html").read_text()
    assert 'href="../notebooks/notebook.ipynb" download' in html
    assert (built_site / "notebooks" / "notebook.ipynb").is_file()


@pytest.mark.parametrize("language", [None, *LANGUAGES])
def test_every_page_has_the_stamp_the_hook_makes_from_the_record(built_site, language):
    """Each page of each edition carries the stamp of its own documents (a Chinese page's are
    its own file's, checked on their own), in the words of its edition."""
    import html as html_module

    from mkdocs.utils import get_relative_url

    from site_hooks.verification import documents_of, stamp_html
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    prefix = f"{language}/" if language else ""
    for page in _nav_pages(config["nav"]):
        stem = page.rsplit(".", 1)[0]
        source = page
        if language and translation_of(ROOT / "docs" / page, language).is_file():
            source = translation_of(page, language).as_posix()
        where = built_site / address_of(ROOT / "docs" / page, language) / "index.html"
        html = where.read_text(encoding="utf-8")
        documents = documents_of(ROOT, ROOT / "docs", source)
        assert documents, f"{source} shows no verified examples"
        built = html.split('<p class="convdocs-stamp"', 1)[1].split("data-convdocs-tolerance>", 1)
        url = prefix + ("" if stem == "index" else f"{stem}/")
        guide_url = f"{prefix}verification/"
        guide = None if url == guide_url else get_relative_url(guide_url, url)
        expected = (
            stamp_html(ROOT, documents, guide, language or "en")
            .split('<p class="convdocs-stamp"', 1)[1]
            .split("data-convdocs-tolerance>", 1)
        )
        assert html_module.unescape(built[0]) == html_module.unescape(expected[0]), source
        assert built[1].startswith(expected[1].split("</p>")[0]), source
        if language == "zh":
            assert "验证" in built[0], source


def test_the_committed_record_vouches_for_every_document_on_the_cpu():
    """The record in the repository is current: every document with examples passed on the CPU
    as it is now, or is a translation that runs the same code as its original, which did (run the
    suite and commit verification-record.json after changing a page)."""
    from convdocs.verify import record
    from convdocs.verify.config import load_project
    from convdocs.verify.documents import SUFFIXES, read_source
    from tests.conftest import ROOT

    project = load_project(ROOT)
    assert project is not None
    documents = sorted(
        path.relative_to(ROOT).as_posix()
        for base in project.paths
        for path in ([base] if base.is_file() else base.rglob("*"))
        if path.suffix in SUFFIXES and read_source(path).example_count
    )
    stored = record.load(ROOT / "verification-record.json")
    assert set(stored["documents"]) <= set(documents), "the record names documents that are gone"
    for document in documents:
        runs = record.valid_runs(
            stored, project, document
        )  # a faithful translation: its original's
        assert "cpu" in runs, f"{document}: no CPU run in the record vouches for it as it is now"


def test_api_page_documents_every_public_name(built_site):
    import convdocs

    html = (built_site / "api" / "index.html").read_text()
    names = [*convdocs.__all__, "verify.compare_outputs", "verify.Comparison"]
    missing = [name for name in names if f'id="convdocs.{name}"' not in html]
    assert not missing, f"public names without an entry on the API page: {missing}"


@pytest.mark.parametrize("language", [None, *LANGUAGES])
def test_every_chapter_page_links_its_section_of_d2l(built_site, language):
    """Each page of the chapter links its section of the book: d2l.ai on English pages,
    zh.d2l.ai (d2l-zh's numbering) on Chinese ones."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    sections = config["extra"]["d2l"]
    assert len(sections) >= 13
    host = "https://zh.d2l.ai/" if language == "zh" else "https://d2l.ai/"
    for stem, (file, en, zh) in sections.items():
        html = (
            built_site / address_of(ROOT / "docs" / f"{stem}.md", language) / "index.html"
        ).read_text()
        link = f'href="{host}chapter_convolutional-neural-networks/{file}.html"'
        assert link in html, f"{stem} ({language or 'en'}) does not link {file}"
        assert (zh if language == "zh" else en) in html.split(link, 1)[1].split("</a>", 1)[0]
