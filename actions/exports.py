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


def write_csv(rows: list[dict], columns: list[str], headers: dict[str, str], stream, bom: bool) -> None:
    if bom:
        stream.write("\ufeff")
    out = csv.writer(stream)
    out.writerow([headers.get(c, c) for c in columns])
    out.writerows(map(itemgetter(*columns), rows))


def write_xlsx(rows: list[dict], columns: list[str], headers: dict[str, str], path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([headers.get(c, c) for c in columns])
    for r in rows:
        sheet.append([r[c] for c in columns])  # codes are str already: stored as text, never as numbers
    book.save(path)


def write_files(files: list[tuple[str, bytes]], folder: str) -> list[str]:
    """Write (name, content) pairs into `folder`, each under its own base name only
    (a stored name can never reach outside the folder); a name met twice gets a
    numbered copy. Returns the names written."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files:
        base = Path(name).name or "evidence"
        path, k = target / base, 1
        while path.exists() and path.name in written:
            k += 1
            path = target / f"{Path(base).stem} ({k}){Path(base).suffix}"
        path.write_bytes(content)
        written.append(path.name)
    return written
