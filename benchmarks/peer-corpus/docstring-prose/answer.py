def answer():
    """The answer, as a session with prose between its examples.

    >>> answer()
    42

    One more:

    >>> answer() + 1
    43
    """
    return 6 * 7
