"""Writing rows out as the user's tools expect them: JSON for scripts, CSV with
a BOM (Excel shows Chinese only then), XLSX with every number-like code kept
as text so Excel cannot drop digits."""
from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

from aidcal.engine.errors import InputError


@contextmanager
def replacing(output: str | Path) -> Iterator[Path]:
    """A temporary file beside `output` that replaces it only once fully written:
    an export that fails half-way leaves no truncated file for someone to send on.
    The file is readable by its owner only: exports carry personal data."""
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder {folder} does not exist; create it or write elsewhere")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write(rows: list[dict], columns: list[str], headers: dict[str, str], fmt: str, output: str | None) -> None:
    if fmt == "json":
        _with_stream(output, "w", lambda f: write_json(rows, f))
    elif fmt == "csv":
        _with_stream(output, "w", lambda f: write_csv(rows, columns, headers, f, bom=output is not None))
    elif fmt == "xlsx":
        with replacing(output) as path:
            write_xlsx(rows, columns, headers, path)
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


def write_xlsx(rows: list[dict], columns: list[str], headers: dict[str, str], path: Path) -> None:
    """Every text is written as a string cell, never a formula (openpyxl takes any
    text beginning with "=" for one); codes are str already, so Excel keeps their digits."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def cell(value):
        if isinstance(value, str) and value.startswith("="):
            text = WriteOnlyCell(sheet, value)
            text.data_type = "s"
            return text
        return value

    sheet.append([cell(headers.get(c, c)) for c in columns])
    for r in rows:
        sheet.append([cell(r[c]) for c in columns])
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
