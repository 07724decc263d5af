"""Spreadsheets as supervisors send them: CSV in UTF-8, UTF-8 with BOM or
GB18030 (what Chinese Excel saves), or XLSX. Rows keep the number Excel shows
(the header is row 1), so every error can point at the row to fix.
"""
from __future__ import annotations

import codecs
import csv
import re
import stat
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from aidcal.i18n import _, language

from .errors import InputError

CODE_RE = re.compile(r"^[0-9A-Za-z-]{1,20}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0 and C1: nothing a name needs, much a header or a message can be forged with
NOTE_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # a note or reason may hold line breaks
LIMITS = {"code": 20, "name": 60, "note": 500}
FORMULA_STARTS = ("=", "+", "-", "@")


def column_title(field: str, aliases: dict[str, str]) -> str:
    """A column as an error names it: in Chinese by the sheet contract's own Chinese header
    (学校名称 in a roster, 姓名 in a case file: one key, two words), in English by its key."""
    if language() == "en":
        return field
    return next((header for header, key in aliases.items() if key == field and not header.isascii()), field)


def field_problem(field: str, value: str, kind: str, aliases: dict[str, str]) -> str | None:
    """Why a text field from a school's file is not acceptable, or None, naming the column
    as `column_title` does. `kind`:
    code (1–20 digits, ASCII letters and '-'), name (at most 60 characters, no
    control characters; '·' and characters outside the BMP are fine), person (a name
    that must not begin like a formula: it goes to the bank unaltered) or note (at
    most 500, line breaks allowed). The value is never echoed: it may be anything."""
    if kind == "code":
        return None if CODE_RE.match(value) else _("{field} must be 1–20 digits, ASCII letters or '-'").format(
            field=column_title(field, aliases))
    if kind == "person":  # a student's name goes to the bank as it is: it must match the account holder
        if value[:1] in FORMULA_STARTS:
            return _("{field} must not begin with =, +, - or @ (a spreadsheet would take it for a formula)").format(
                field=column_title(field, aliases))
        kind = "name"
    if value.isprintable() and len(value) <= LIMITS[kind]:  # the common case, at C speed for a million rows
        return None
    if (NOTE_CONTROL_RE if kind == "note" else CONTROL_RE).search(value):
        return (_("{field} contains a control character (a line break is allowed only in notes)") if kind == "name"
                else _("{field} contains a control character")).format(field=column_title(field, aliases))
    if len(value) > LIMITS[kind]:
        return _("{field} is longer than {limit} characters ({length})").format(
            field=column_title(field, aliases), limit=LIMITS[kind], length=len(value))
    return None


@dataclass
class Sheet:
    name: str
    columns: list[str]  # canonical column names, in file order
    rows: list[tuple[int, dict]]  # (Excel row number, {column: text or value})


def read(path: str | Path, aliases: dict[str, str], required: list[str]) -> Sheet:
    """Read a sheet whose header uses the canonical names or their Chinese aliases."""
    name, columns, rows = stream(path, aliases, required)
    return Sheet(name, columns, list(rows))


def stream(path: str | Path, aliases: dict[str, str], required: list[str]):
    """(file name, columns, rows) with rows a generator of (Excel row number, {column: value}):
    a million-row file is never held in memory."""
    path = Path(path)
    if not path.is_file():
        raise InputError(_("{file}: no such file").format(file=path))
    raw = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else csv.reader(_lines(path))
    header_cells = next(iter(raw), None)
    if header_cells is None:
        raise InputError(_("{file}: empty file; expected a header row: {header}").format(file=path.name, header=",".join(required)))
    header = [aliases.get(str(h).strip().lstrip("\ufeff"), str(h).strip()) if h is not None else "" for h in header_cells]
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h and h not in aliases.values()]
    if missing or unknown:
        what = []
        if missing:
            what.append(_("missing {columns}").format(columns=_(", ").join(missing)))
        if unknown:
            what.append(_("unknown {columns}").format(columns=_(", ").join(unknown)))
        raise InputError(_("{file}:1: header {problems} (expected {header}, in English or Chinese)").format(
            file=path.name, problems=_("; ").join(what), header=",".join(required)))
    named = [(k, col) for k, col in enumerate(header) if col]

    def rows():
        for number, cells in enumerate(raw, start=2):
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            width = len(cells)
            if width > len(header) and any(c is not None and str(c).strip() for c in cells[len(header):]):
                raise InputError(_("{file}: row {row}: {problem}").format(file=path.name, row=number, problem=_(
                    "{cells} cells, more than the header's {columns} columns; data outside the columns is refused, not dropped")
                    .format(cells=width, columns=len(header))))
            yield number, {col: (cells[k].strip() if cells[k].__class__ is str else cells[k]) if k < width else None
                           for k, col in named}
    return path.name, header, rows()


def _lines(path: Path):
    """The file's lines in UTF-8 (with or without BOM) or GB18030, whichever
    decodes the whole file; checked incrementally, never held in memory."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return _read_lines(path, encoding)
    raise InputError(_("{file}: neither UTF-8 nor GB18030 text; save it as CSV UTF-8 or as XLSX").format(file=path.name))


def _read_lines(path: Path, encoding: str):
    with open(path, encoding=encoding, newline="") as f:
        yield from f


def _xlsx_rows(path: Path):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(_("{file}: not a readable XLSX workbook ({reason})").format(file=path.name, reason=type(exc).__name__)) from None
    return book.worksheets[0].iter_rows(values_only=True)


def text(value) -> str:
    """A cell as text. Numbers typed into Excel come back as int/float: 1001.0 → '1001'."""
    if value.__class__ is str:  # the common case, already stripped by stream()
        return value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def parse_date(value) -> date | None:
    """A date cell: an XLSX date, or text as YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    if not raw:
        return None
    cleaned = raw.replace("/", "-").replace("年", "-").replace("月", "-").replace("日", "").replace(".", "-")
    try:
        y, m, d = (int(x) for x in cleaned.split("-"))
        return date(y, m, d)
    except ValueError:
        raise ValueError(_("'{value}' is not a date (use YYYY-MM-DD)").format(value=raw)) from None


EVIDENCE_MAX_MB = 50  # the default; the shell may pass AIDCAL_EVIDENCE_MAX_MB


def evidence(name: str, folder: Path | None, max_mb: int = EVIDENCE_MAX_MB) -> tuple[str, bytes]:
    """(file name, content) of one evidence file, checked before a byte is read:
    named in a sheet, it is a file in the sheet's own folder or below it (no
    absolute path, no '..', no link leading outside); it is a regular file (no
    FIFO, device or folder), not empty, and at most `max_mb` MB. Raises ValueError
    with what is wrong, for the caller to place (row number or option)."""
    path = Path(name)
    if folder is not None:
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(_("evidence '{name}' must be a file next to the sheet (no absolute path, no '..')").format(name=name))
        path = folder / path
        try:
            inside = path.resolve().is_relative_to(folder.resolve())
        except OSError:
            inside = False
        if not inside:
            raise ValueError(_("evidence '{name}' leads outside the sheet's folder").format(name=name))
    try:
        info = path.stat()
    except OSError:
        raise ValueError((_("evidence file '{name}' not found next to the sheet") if folder is not None
                          else _("evidence file '{name}' not found")).format(name=name)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(_("evidence '{name}' is not a regular file").format(name=name))
    if info.st_size == 0:
        raise ValueError(_("evidence file '{name}' is empty").format(name=name))
    if info.st_size > max_mb * 1024 * 1024:
        raise ValueError(_("evidence file '{name}' is {size:.0f} MB, more than the {limit} MB allowed").format(
            name=name, size=info.st_size / 1024 / 1024, limit=max_mb))
    with open(path, "rb") as f:
        content = f.read(max_mb * 1024 * 1024 + 1)  # never more than the limit, even if the file grew meanwhile
    if len(content) > max_mb * 1024 * 1024:
        raise ValueError(_("evidence file '{name}' grew past the {limit} MB allowed while it was read").format(name=name, limit=max_mb))
    return path.name, content
