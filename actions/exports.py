"""Writing rows out as the user's tools expect them: JSON for scripts, CSV with
a BOM (Excel shows Chinese only then), XLSX with every number-like code kept
as text so Excel cannot drop digits."""
from __future__ import annotations

import csv
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from operator import itemgetter
from pathlib import Path

from aidcal.engine.errors import InputError
from aidcal.i18n import _


@contextmanager
def replacing(output: str | Path) -> Iterator[Path]:
    """A temporary file beside `output` that replaces it only once fully written:
    an export that fails half-way leaves no truncated file for someone to send on.
    The file is readable by its owner only: exports carry personal data."""
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(_("{file}: the folder {folder} does not exist; create it or write elsewhere").format(file=path, folder=folder))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write(rows: list[dict], columns: list[str], headers: dict[str, str], fmt: str, output: str | None,
          title: str | None = None) -> None:
    """Rows as JSON, CSV (with the BOM Excel needs when written to a file) or XLSX; `title`
    names the workbook's sheet and heads it."""
    if fmt == "json":
        _with_stream(output, "w", lambda f: write_json(rows, f))
    elif fmt == "csv":
        _with_stream(output, "w", lambda f: write_csv(rows, columns, headers, f, bom=output is not None))
    elif fmt == "xlsx":
        with replacing(output) as path:
            write_xlsx(rows, columns, headers, path, title)
    else:
        raise ValueError(fmt)


def _with_stream(output, mode, fn):
    if output is None:
        fn(sys.stdout)
    else:
        with replacing(output) as path, open(path, mode, encoding="utf-8", newline="") as f:
            fn(f)


def write_json(rows: list[dict], stream) -> None:
    """A top-level array in one call of the C encoder: per-row calls cost ~10 µs
    each, a second per 100,000 rows."""
    stream.write(json.dumps(rows, ensure_ascii=False))
    stream.write("\n")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may take for a formula


def inert(value):
    """A text cell that a spreadsheet cannot run: a leading apostrophe where the
    text begins like a formula (a school named "=HYPERLINK(…)" stays a name).
    Numbers and dates are never touched: a negative amount stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: list[dict], columns: list[str], headers: dict[str, str], stream, bom: bool) -> None:
    if bom:
        stream.write("\ufeff")
    out = csv.writer(stream)
    out.writerow([inert(headers.get(c, c)) for c in columns])
    pick = itemgetter(*columns)
    for row in rows:
        values = pick(row) if len(columns) > 1 else (pick(row),)
        out.writerow([inert(v) for v in values])


MONEY_COLUMNS = {"amount", "paid", "recovered"}  # yuan: numbers with two decimals, shown as ¥
MONEY_FORMAT = '"¥"#,##0.00'
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def write_xlsx(rows: list[dict], columns: list[str], headers: dict[str, str], path: Path, title: str | None = None) -> None:
    """A workbook a bureau can send on: a sheet named for its content, a title row, columns
    wide enough for Chinese text, the header frozen and filtered, dates as dates, money as
    exact numbers in ¥ with two decimals. Every text is a string cell, never a formula
    (openpyxl takes any text beginning with "=" for one); codes stay text, so Excel keeps
    their digits."""
    from decimal import Decimal, InvalidOperation

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from rich.cells import cell_len

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME_BAD.sub("", title or "数据")[:31] or "数据")
    width = {c: cell_len(headers.get(c, c)) for c in columns}
    for r in rows[:2000]:  # a sample sets the widths: a province's sheet is not measured twice
        for c in columns:
            width[c] = max(width[c], cell_len(str(r[c])) if r[c] is not None else 0)
    for k, c in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(k)].width = min(width[c] + 2, 60)
    first = 2 if title else 1
    sheet.freeze_panes = f"A{first + 1}"
    sheet.auto_filter.ref = f"A{first}:{get_column_letter(len(columns))}{first + len(rows)}"

    def cell(value, column):
        if isinstance(value, str):
            if column in MONEY_COLUMNS:
                try:
                    value = Decimal(value)
                except InvalidOperation:
                    pass
            elif DATE_RE.match(value):
                day = WriteOnlyCell(sheet, date.fromisoformat(value))
                day.number_format = "yyyy-mm-dd"
                return day
        if column in MONEY_COLUMNS and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            money = WriteOnlyCell(sheet, Decimal(str(value)).quantize(Decimal("0.01")))
            money.number_format = MONEY_FORMAT
            return money
        if isinstance(value, str) and value.startswith("="):
            text = WriteOnlyCell(sheet, value)
            text.data_type = "s"
            return text
        return value

    if title:
        heading = WriteOnlyCell(sheet, title)
        heading.font = Font(bold=True, size=14)
        sheet.append([heading])
    bold = Font(bold=True)
    header_cells = []
    for c in columns:
        header = WriteOnlyCell(sheet, headers.get(c, c))
        header.data_type, header.font = "s", bold  # a header is text, whatever it begins with
        header_cells.append(header)
    sheet.append(header_cells)
    for r in rows:
        sheet.append([cell(r[c], c) for c in columns])
    book.save(path)


def write_files(files: list[tuple[str, bytes]], folder: str) -> list[str]:
    """Write (name, content) pairs into `folder`, each under its own base name only
    (a stored name can never reach outside the folder), readable by the owner only
    (evidence such as a 发放花名册 carries ID and card numbers). A file already
    there is never overwritten: the new one gets a numbered name. Returns the names written."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files:
        base = Path(name).name or "evidence"
        path, k = target / base, 1
        while True:
            try:
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                k += 1
                path = target / f"{Path(base).stem} ({k}){Path(base).suffix}"
        with os.fdopen(handle, "wb") as f:
            f.write(content)
        written.append(path.name)
    return written
