def answer():
    """The answer.

    >>> answer()
    42
    """
    return 6 * 7
