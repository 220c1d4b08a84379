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
    in_docs = sorted(
        p.relative_to(ROOT / "docs").as_posix()
        for p in (ROOT / "docs").rglob("*")
        if p.suffix in (".md", ".ipynb")
    )
    assert sorted(pages) == in_docs  # every page is in the navigation, once
    for page in pages:
        stem = page.rsplit(".", 1)[0]
        html = "index.html" if stem == "index" else f"{stem}/index.html"
        assert (built_site / html).is_file(), f"{page} was not built"


def test_math_is_rendered_from_the_bundled_mathjax(built_site):
    html = (built_site / "cross-correlation" / "index.html").read_text()
    assert 'class="arithmatex"' in html
    assert "assets/mathjax/tex-mml-chtml.js" in html
    assert "cdn." not in html and "fonts.googleapis" not in html
    assert (
        built_site / "assets/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff"
    ).is_file()


def test_notebook_page_has_a_download_button_and_its_file(built_site):
    html = (built_site / "notebook" / "index.html").read_text()
    assert 'href="notebook.ipynb" download' in html
    assert (built_site / "notebook" / "notebook.ipynb").is_file()


def _expected_stamp(root, documents):
    """What the stamp must say, derived from the record and the documents' fingerprints."""
    from convdocs.verify import record
    from convdocs.verify.config import load_project
    from convdocs.verify.documents import read_source

    project = load_project(root)
    assert project is not None
    context = {"rtol": project.rtol, "atol": project.atol}
    record_data = record.load(root)
    count = sum(read_source(root / d).example_count for d in documents)
    parts = [f"{count} example{'s' if count != 1 else ''}"]
    for kind, name in (("cpu", "CPU"), ("cuda", "GPU")):
        runs = [record.valid_runs(record_data, root, d, context).get(kind) for d in documents]
        found = [r for r in runs if r is not None]
        if len(found) == len(runs) and len({r["torch"] for r in found}) == 1:
            oldest = min(found, key=lambda r: r["date"])
            parts.append(
                f"verified on {name} ({oldest['device_name']}) with torch {oldest['torch']} on {oldest['date']}"
            )
        else:
            parts.append(f"{name}: not yet verified for this version of the page")
    return " · ".join(parts)


def test_every_page_has_the_stamp_its_record_gives(built_site):
    import html as html_module

    from convdocs.verify.mkdocs_hooks import documents_of
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    for page in _nav_pages(config["nav"]):
        stem = page.rsplit(".", 1)[0]
        html = (
            built_site / ("index.html" if stem == "index" else f"{stem}/index.html")
        ).read_text()
        documents = documents_of(ROOT, page)
        assert documents, f"{page} shows no verified examples"
        stamp = html_module.unescape(html.split("data-convdocs-stamp>", 1)[1].split("</p>", 1)[0])
        assert stamp == _expected_stamp(ROOT, documents), page


def test_api_page_names_the_public_functions(built_site):
    html = (built_site / "api" / "index.html").read_text()
    for name in (
        "corr2d",
        "Conv2D",
        "detect_edges",
        "learn_kernel",
        "default_device",
        "compare_outputs",
    ):
        assert f'id="convdocs.{name}"' in html or f'id="convdocs.verify.{name}"' in html, name
