"""The one error type a user sees: bad input, reported in full before any write."""


class InputError(Exception):
    """Input that cannot be accepted. Carries every problem found, one line each,
    so a user fixes a file in one pass; the CLI prints them and exits 2."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class Refused(Exception):
    """An act the actor may not do (engine/access.py): one line naming what and why;
    the CLI exits 3, the server answers 403, and the refusal is audited (`recorded`: in Chinese,
    as the record is whatever language the refused reader speaks)."""

    def __init__(self, shown: str, recorded: str | None = None):
        super().__init__(shown)
        self.recorded = recorded or shown


def refusal(message: str, terms: dict[str, str] | None = None, **values) -> Refused:
    """A Refused saying `message` (marked N_) in the language in use, recorded in Chinese;
    `terms` are values that are words of the catalog themselves (a role)."""
    from aidcal.i18n import _, in_chinese
    shown = _(message).format(**values, **{k: _(v) for k, v in (terms or {}).items()})
    return Refused(shown, in_chinese(message).format(**values, **{k: in_chinese(v) for k, v in (terms or {}).items()}))


ROWS_LISTED = 200  # a sheet with thousands of bad rows lists the first ones, then says how many more


def rows_listed(problems: list[tuple[int, str]]) -> list[str]:
    """A sheet's problems in row order, each "FILE: row N: …", at most ROWS_LISTED rows."""
    ordered = sorted(problems, key=lambda p: p[0])  # stable: a row's own problems keep their order
    rows = sorted({row for row, _ in problems})
    shown = set(rows[:ROWS_LISTED])
    kept = [text for row, text in ordered if row in shown]
    return kept + ([_more(len(rows) - ROWS_LISTED)] if len(rows) > ROWS_LISTED else [])


def _more(rows: int) -> str:
    from aidcal.i18n import _
    return _("…and {n} more rows with problems").format(n=rows)


def at_row(name: str, row_no: int) -> str:
    """The start of a sheet row's problem: "FILE: row N: " (第 N 行 in Chinese)."""
    from aidcal.i18n import _
    return _("{file}: row {row}: ").format(file=name, row=row_no)


class RowProblems:
    """A streamed sheet's bad rows as they pass: the problems of the first ROWS_LISTED rows
    (each row comes once, so a count, not a set rebuilt per row), then how many more."""

    def __init__(self, name: str):
        self.name, self.problems, self.listed, self.more = name, [], 0, 0

    def add(self, row_no: int, errors: list[str]) -> None:
        if not errors:
            return
        if self.listed < ROWS_LISTED:
            self.problems += [(row_no, at_row(self.name, row_no) + m) for m in errors]
            self.listed += 1
        else:
            self.more += 1

    def check(self) -> None:
        """Raise every problem kept, and the count of the rest, if any row was bad."""
        if self.problems:
            raise InputError(rows_listed(self.problems) + ([_more(self.more)] if self.more else []))


def one_line(exc: BaseException) -> str:
    """An exception as one short line: the driver's message, never the SQL or its parameters
    (they may hold personal data)."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"[:300]


class DeliveryError(Exception):
    """A channel refused a message or could not be reached: the message is retried later.
    `unreachable`: the channel did not answer (down, or hanging past the timeout), so
    the rest of this round's messages for it wait too, and the other channels go on."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable
