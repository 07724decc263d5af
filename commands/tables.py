"""Rows as people read them in a terminal, or as JSON for scripts.

A table fits the terminal: at 80 columns it gives up details, codes beside their names, then
dates (NARROW_DROPS), never what its reader types next (a school's task key and period), and
says what it left out; Chinese folds by character. Its
title, headers and the machine words in its cells (status, rung, state…) are in the
language in use; moments read as Beijing time to the minute. JSON carries the rows as
the engine gave them, in every language.
"""
from __future__ import annotations

import os
import re
import sys
from datetime import datetime

from aidcal.i18n import N_, _

from .shell import TZ

# Columns a narrow terminal gives up first, in this order: counts and details, then codes beside their
# names, then dates; the names (school, task title, student) stay and wrap by character. The audit
# log gives up its rows written and its summary before its moments: who did what when stays.
NARROW_DROPS = (("rows", None), ("workdays_overdue", None), ("town", None), ("type", None), ("done_at", None),
                ("evidence_files", None), ("task", "title"), ("unit", "unit_name"), ("period", None), ("id_number", "name"),
                ("term", None), ("drafted_on", None), ("due_on", None), ("rectified_on", None), ("summary", None), ("at", None),
                ("by", None), ("term_from", None), ("counts", None), ("finished", None), ("source", None), ("loaded_at", None),
                ("parent", None), ("started", None))
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[0-9A-Za-z])|(?<=[0-9A-Za-z]) (?=[\u3000-\u9fff\uff00-\uffef])")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")

# The words machines exchange, as people read them in tables (JSON keeps the words themselves).
WORDS = (N_("open"), N_("overdue"), N_("done"), N_("done_late"), N_("cancelled"), N_("waived"), N_("pending"), N_("sent"),
         N_("failed"), N_("superseded"), N_("heads_up"), N_("reminder"), N_("notice"), N_("escalate"), N_("draft"),
         N_("issued"), N_("discarded"), N_("rectified"), N_("rectified_late"), N_("escalated"), N_("dropped"), N_("running"),
         N_("ok"), N_("error"), N_("import"), N_("reopen"), N_("extend"), N_("waive"), N_("cancel"), N_("close"),
         N_("eligibility"), N_("publicity"), N_("review"), N_("approval"), N_("payout"), N_("callback"), N_("archive"),
         N_("stopped"), N_("recovered"), N_("withdrawn"), N_("terminated"), N_("nomination"),
         N_("application"), N_("first_review"), N_("award"), N_("certified"), N_("contracted"), N_("disbursed"),
         N_("publish"), N_("object"), N_("dismiss"), N_("uphold"), N_("approve"), N_("pay"), N_("call_back"),
         N_("withdraw"), N_("terminate"), N_("stop"), N_("recover"), N_("transfer"), N_("bank_failed"), N_("screen"),
         N_("certify"), N_("contract"), N_("disburse"), N_("notices"), N_("messages"), N_("refused"))
WORD_COLUMNS = {"status", "rung", "outcome", "kind", "state", "from_state", "to_state", "trigger", "role"}
# Free text a person wrote (a reason, a summary): it asks for no more than FOLDED_WIDTH when the
# terminal is short of room, and folds, rather than push the codes and dates off the table.
FREE_TEXT = {"note", "reason", "detail", "error", "last_error", "summary", "object"}
FOLDED_WIDTH = 24
# Long Chinese text folds (names and free text); codes, dates and numbers never do.
WRAPPING = {"title", "unit_name", "source", "counts"} | FREE_TEXT
NUMERIC = {"items", "units", "overdue", "max_days_overdue", "days_overdue", "workdays_overdue", "tasks", "evidence_files"}
# A column's header as people read it (translated when shown); a command names what these do not.
HEADERS = {
    "unit": N_("School code"), "unit_name": N_("School"), "town": N_("Town"), "type": N_("School type"), "task": N_("Task"),
    "title": N_("Work"), "period": N_("Period"), "due": N_("Due"), "days_overdue": N_("Days overdue"),
    "workdays_overdue": N_("Working days overdue"), "units": N_("Units late"), "overdue": N_("Tasks overdue"),
    "max_days_overdue": N_("Most days overdue"), "status": N_("Status"), "done_at": N_("Done on"), "evidence_files": N_("Evidence"),
    "rung": N_("Step"), "due_on": N_("Due on"), "notice": N_("Notice"), "rectify_by": N_("Rectify by"),
    "rectified_on": N_("Rectified on"), "case": N_("Case"), "name": N_("Name"), "id_number": N_("ID number"),
    "programme": N_("Programme"), "term": N_("Term"), "level": N_("Level"), "amount": N_("Amount"), "state": N_("State"),
    "term_from": N_("From term"), "note": N_("Note"), "authority": N_("Authority"), "authority_name": N_("Bureau"),
    "plan": N_("Plan of"), "id": N_("No."), "number": N_("Document number"), "drafted_on": N_("Drafted on"),
    "issued_on": N_("Issued on"), "signed_by": N_("Signed by"), "items": N_("Items"), "kind": N_("Action"), "on": N_("Date"),
    "at": N_("Recorded at"), "by": N_("By"), "detail": N_("Detail"), "failed_messages": N_("Failed messages"),
    "started": N_("Started"), "finished": N_("Finished"), "outcome": N_("Outcome"), "counts": N_("Steps by rung"),
    "error": N_("Error"), "as_of": N_("As of"), "year": N_("Year"), "source": N_("File"), "loaded_at": N_("Loaded at"),
    "loaded_by": N_("Loaded by"), "run": N_("Run"), "channel": N_("Channel"), "recipient": N_("Recipient"),
    "attempts": N_("Attempts"), "next_attempt_at": N_("Next attempt"), "last_error": N_("Last error"), "trigger": N_("Action"),
    "from_state": N_("From"), "to_state": N_("To"), "reason": N_("Reason"),
    "code": N_("School code"), "parent": N_("Parent unit"), "contact": N_("Contact"), "phone": N_("Phone (masked)"),
}
# The files' headers are a contract, Chinese in every language (the imports read them back).
# The roster: the import's own headers, but the masked phone under a header the import does not
# accept, so a list re-imported can never overwrite real numbers.
UNIT_HEADERS = {"code": "学校代码", "name": "学校名称", "type": "学校类型", "town": "乡镇", "parent": "上级单位",
                "authority": "主管教育局", "contact": "责任人", "phone": "联系电话（已脱敏）", "email": "电子邮箱",
                "active_from": "启用日期", "closed_on": "停用日期"}
OVERDUE_HEADERS = {"unit": "学校代码", "unit_name": "学校名称", "town": "乡镇", "type": "学校类型", "task": "任务",
                   "title": "任务内容", "period": "期次", "due": "截止日期", "days_overdue": "逾期天数",
                   "workdays_overdue": "逾期工作日", "authority": "主管教育局", "plan": "计划发文单位"}


def console(stderr=False):
    """A terminal's own width; in a pipe or a file, wide enough that Chinese names never wrap.
    Text is shown as written: a school's note reading "[/bold]" or ":warning:" is words, not
    markup that would restyle a supervisor's table or stop it with an error."""
    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 200
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, width=width)


def moment(text: str | None) -> str:
    """A stored moment (2021-03-01T09:30:00+08:00) as people read it: Beijing time to the minute."""
    if not text or not _MOMENT.match(text):
        return text or ""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (when.astimezone(TZ) if when.tzinfo else when).strftime("%Y-%m-%d %H:%M")


def cell(value, tight: bool = True) -> str:
    """A value as a table shows it: lists joined (by 、 in Chinese), a moment to the minute, and
    (`tight`: not in free text, which is shown as written) no ASCII space between Chinese and a
    number (每月 20 日 → 每月20日), so a title wraps by character, never at that space."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    text = _(", ").join(value) if isinstance(value, list) else moment(str(value))
    if "|" in text and not text.isascii():
        text = text.replace("|", "、")  # 初中|高中 as a roster writes it, 初中、高中 as people read it
    return _CJK_SPACE.sub("", text) if tight and " " in text else text


def fitting(rows: list[list[str]], columns: list[str], headers: dict[str, str], width: int,
            keep: tuple[str, ...] = ()) -> list[str]:
    """The columns to show at `width`: all where they fit (free text folding at FOLDED_WIDTH), else
    without the first of NARROW_DROPS (a code only where its name is shown) until the rest fits or
    only names are left; the columns in `keep` stay whatever the width (what a reader must type)."""
    from rich.cells import cell_len

    def natural(c):
        k = columns.index(c)
        widest = max([*(cell_len(r[k]) for r in rows), 0])
        return max(cell_len(headers.get(c, c)), min(widest, FOLDED_WIDTH) if c in FREE_TEXT else widest) + 3

    shown = list(columns)
    for column, beside in NARROW_DROPS:
        if sum(natural(c) for c in shown) + 1 <= width:
            break
        if column in shown and column not in keep and (beside is None or beside in shown) and len(shown) > 1:
            shown.remove(column)
    return shown


def print_table(title: str, rows: list[dict], columns: list[str], headers: dict[str, str] | None = None,
                keep: tuple[str, ...] = (), limited: bool = False) -> None:
    """`title` on its own line, then the rows (none: a line saying so, never an empty frame;
    `limited`: none because none were asked for, which its title says, as `--limit 0`);
    `headers` names what HEADERS does not, as catalog messages; `keep`: columns never left out."""
    from rich.table import Table
    shown_headers = {c: _(text) for c, text in {**HEADERS, **(headers or {})}.items() if c in columns}
    out = console()
    out.print(title)  # its own line: a table title would wrap at the table's width
    if not rows:
        if not limited:
            out.print(_("(none)"), style="dim")
        return
    cells = [[_(cell(r[c])) if c in WORD_COLUMNS and r[c] else cell(r[c], c not in FREE_TEXT) for c in columns]
             for r in rows]
    shown = fitting(cells, columns, shown_headers, out.width, keep)
    table = Table(show_lines=False)
    for c in shown:
        table.add_column(shown_headers.get(c, c), overflow="fold", no_wrap=c not in WRAPPING,
                         justify="right" if c in NUMERIC else "left")
    keep = [columns.index(c) for c in shown]
    for row in cells:
        table.add_row(*(row[k] for k in keep))
    out.print(table)
    if len(shown) < len(columns):
        left_out = _(", ").join(shown_headers.get(c, c) for c in columns if c not in shown)
        out.print(_("(left out at this width: {columns}; --format json shows them all)").format(columns=left_out), style="dim")


def render(fmt: str, title: str, rows: list[dict], columns: list[str], headers: dict[str, str] | None = None,
           keep: tuple[str, ...] = ()) -> None:
    """Rows as a table for people or a JSON array for scripts."""
    if fmt == "json":
        print_json(rows)
    else:
        print_table(title, rows, columns, headers, keep)


def print_json(rows) -> None:
    from aidcal.actions.exports import write_json
    write_json(rows, sys.stdout)
