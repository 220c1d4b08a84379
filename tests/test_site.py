"""The site builds strictly and contains every page of the navigation."""

from __future__ import annotations

import yaml


def _nav_pages(nav):
    for entry in nav:
        for value in entry.values():
            if isinstance(value, list):
                yield from _nav_pages(value)
            else:
                yield value


def test_strict_build_has_every_page(built_site):
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = list(_nav_pages(config["nav"]))
    assert len(pages) >= 6
    for page in pages:
        stem = page.rsplit(".", 1)[0]
        html = "index.html" if stem == "index" else f"{stem}/index.html"
        assert (built_site / html).is_file(), f"{page} was not built"


def test_math_is_rendered_from_the_bundled_mathjax(built_site):
    html = (built_site / "cross-correlation" / "index.html").read_text()
    assert 'class="arithmatex"' in html
    assert "assets/mathjax/tex-mml-chtml.js" in html
    assert "cdn." not in html and "fonts.googleapis" not in html
    assert (built_site / "assets/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()


def test_notebook_page_has_a_download_button_and_its_file(built_site):
    html = (built_site / "notebook" / "index.html").read_text()
    assert 'href="notebook.ipynb" download' in html
    assert (built_site / "notebook" / "notebook.ipynb").is_file()


def test_every_page_has_its_stamp(built_site):
    from convdocs.verify.mkdocs_hooks import documents_of
    from convdocs.verify.record import example_count
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    for page in _nav_pages(config["nav"]):
        stem = page.rsplit(".", 1)[0]
        html = (built_site / ("index.html" if stem == "index" else f"{stem}/index.html")).read_text()
        count = sum(example_count(ROOT / d) for d in documents_of(ROOT, page))
        assert count > 0, f"{page} shows no verified examples"
        stamp = html.split("data-convdocs-stamp>", 1)[1].split("</p>", 1)[0]
        assert stamp.startswith(f"{count} example"), (page, stamp)
        assert "CPU" in stamp and "GPU" in stamp, (page, stamp)


def test_api_page_names_the_public_functions(built_site):
    html = (built_site / "api" / "index.html").read_text()
    for name in ("corr2d", "Conv2D", "detect_edges", "learn_kernel", "default_device", "compare_outputs"):
        assert f'id="convdocs.{name}"' in html or f'id="convdocs.verify.{name}"' in html, name
