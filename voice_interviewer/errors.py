"""The one exception type a user should ever see, as a single line."""


class UserError(Exception):
    """A problem with the user's input or machine, not a bug.

    The CLI prints ``str(error)`` on one line of stderr and exits with
    ``exit_code``: 1 for bad input or environment, 2 for bad usage or an
    invalid file (``scenarios check``).
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code
