"""Files between a command and an act (engine/acts/): an uploaded sheet and the evidence it names,
read and checked here as the engine checks them, sent as base64; files an act hands back, written
into the folder asked for only. The same on the bureau's database and through the server."""
from __future__ import annotations

import os

from aidcal.i18n import _


def jsonable(params: dict) -> dict:
    """A request's parameters: files (evidence, a sheet) as a name with base64 content."""
    import base64

    def encoded(upload):
        name, content = upload
        return {"name": name, "content": base64.b64encode(content).decode()}
    out = dict(params)
    for key in ("files", "evidence"):
        if key in out:
            out[key] = [encoded(upload) for upload in out[key]]
    if "sheet" in out:
        out["sheet"] = encoded(out["sheet"])
    return out


def sheet_upload(obj, path: str, aliases: dict, required: list[str]):
    """A sheet as (name, bytes) and the evidence files its `evidence` column names, each as (its name in
    the sheet, bytes), checked here as the engine checks them (beside the sheet, regular, within the limit):
    the same act then reads it on the bureau's database or on the server. A file that is not there is not
    sent: the act reports it with its row (or the name's own fault, as '..'), among every other problem
    of the sheet at once. A file there that fails the check is reported with its row, and nothing is sent."""
    from pathlib import Path, PurePath

    from aidcal.engine import sheets
    from aidcal.engine.errors import InputError, at_row, rows_listed
    name, columns, rows = sheets.stream(path, aliases, required)
    folder, limit = Path(path).parent, evidence_max_mb(obj)
    files, problems, seen = [], [], set()
    for row_no, raw in rows if "evidence" in columns else ():
        named = sheets.text(raw.get("evidence"))
        if not named or named in seen:
            continue
        seen.add(named)
        if not (folder / named).exists():
            continue
        try:
            files.append((PurePath(named).as_posix(), sheets.evidence(named, folder, limit)[1]))
        except ValueError as exc:
            problems.append((row_no, at_row(name, row_no) + str(exc)))
    if problems:
        raise InputError(rows_listed(problems))
    return (name, Path(path).read_bytes()), files


def sheet_file(path: str) -> tuple[str, bytes]:
    """A sheet as (name, bytes), checked by the act that reads it, on the bureau's database or on the server alike."""
    from pathlib import Path

    from aidcal.engine.errors import InputError
    if not Path(path).is_file():
        raise InputError(_("{file}: no such file").format(file=path))
    return Path(path).name, Path(path).read_bytes()


def write_produced(files: list[dict], folder: str) -> list[str]:
    """Files an act handed back (`{"name", "content": base64}`), written into `folder` only."""
    import base64

    from aidcal.actions.exports import write_files
    return write_files([(f["name"], base64.b64decode(f["content"])) for f in files], folder)


def evidence_max_mb(obj) -> int:
    """The evidence size limit: AIDCAL_EVIDENCE_MAX_MB, else calendar.yaml's evidence: {max_mb}, else 50 MB."""
    from aidcal.engine.errors import InputError
    from aidcal.engine.sheets import EVIDENCE_MAX_MB
    value = os.environ.get("AIDCAL_EVIDENCE_MAX_MB", "")
    if not value and obj.remote is not None:
        return EVIDENCE_MAX_MB  # the server checks its own limit again
    if not value:
        from aidcal.engine import plan, store
        with store.reading(obj.engine) as conn:
            return plan.evidence_max_mb(conn) or EVIDENCE_MAX_MB
    if not value.isdigit() or not 1 <= int(value) <= 2048:
        raise InputError(_("AIDCAL_EVIDENCE_MAX_MB '{value}' is not a size in MB (1–2048)").format(value=value))
    return int(value)


def evidence_file(obj, path: str) -> tuple[str, bytes]:
    """An --evidence FILE, checked like a sheet's evidence (regular, not empty, within the limit)."""
    from aidcal.engine.errors import InputError
    from aidcal.engine.sheets import evidence
    try:
        return evidence(path, None, evidence_max_mb(obj))
    except ValueError as exc:
        raise InputError(_("--evidence: {problem}").format(problem=exc)) from None
