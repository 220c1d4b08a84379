"""The package's top level: every public name comes from its module on first use."""

from __future__ import annotations

import subprocess
import sys

import convdocs


def test_every_public_name_has_a_home_and_resolves():
    assert sorted(convdocs.__all__) == sorted(convdocs._HOME_OF)
    for name in convdocs.__all__:
        module = __import__(f"convdocs.{convdocs._HOME_OF[name]}", fromlist=[name])
        assert getattr(convdocs, name) is getattr(module, name)


def test_importing_the_checker_imports_no_torch():
    """The pytest plugin loads ``convdocs.verify``; the maths (and torch) wait for first use."""
    code = (
        "import sys, convdocs.verify.pytest_plugin, convdocs.verify.config\n"
        "print(sorted(m for m in ('torch', 'numpy', 'IPython') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error():
    try:
        convdocs.corr3d  # noqa: B018
    except AttributeError as error:
        assert "corr3d" in str(error)
    else:
        raise AssertionError("convdocs.corr3d resolved")
