"""The base of every error caused by user input (files, options, names).

The CLI prints these as a message and exits with status 2; anything else is a
bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad user input; the message names the file/field/row and the value."""
