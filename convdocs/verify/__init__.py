"""The verification machinery: read cells from pages, run them, compare and rewrite outputs.

Modules, one verb each: ``cells`` reads, ``execute`` runs, ``compare`` compares,
``rewrite`` writes (update mode), ``evaluate`` ties them to sybil, ``collect`` builds
the sybil collection and ``pytest_plugin`` adds the command-line options.
"""

from convdocs.verify.compare import Comparison, compare_outputs

__all__ = ["Comparison", "compare_outputs"]
