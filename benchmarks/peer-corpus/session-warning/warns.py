"""A docstring whose session warns: the warning goes to stderr, which doctest does not compare.

>>> import warnings
>>> warnings.warn("an old way of doing it")
>>> 6 * 7
42
"""
