"""The one error type a user sees: bad input, reported in full before any write."""


class InputError(Exception):
    """Input that cannot be accepted. Carries every problem found, one line each,
    so a user fixes a file in one pass; the CLI prints them and exits 2."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def one_line(exc: BaseException) -> str:
    """An exception as one short line: the driver's message, never the SQL or its parameters
    (they may hold personal data)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"[:300]


class DeliveryError(Exception):
    """A channel refused a message or could not be reached: the message is retried later."""
