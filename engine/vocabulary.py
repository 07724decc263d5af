"""The words machines exchange: statuses, rungs, outcomes. Defined once; the
queries that derive them, the command options that filter by them and the JSON
that carries them all use these tuples. A plain module (the standard library alone), so the
command line can build its options without loading the database layer."""
import re

TASK_STATUSES = ("open", "overdue", "done", "done_late", "cancelled", "waived")
MESSAGE_STATUSES = ("pending", "sent", "failed", "superseded")
RUNGS = ("heads_up", "reminder", "notice", "escalate")
ALERT = "!alert"  # the outbox recipient of a failed run's alert to the bureau's own channel
RUNG_TITLES = {"heads_up": "预提醒", "reminder": "催办提醒", "notice": "通报", "escalate": "约谈/考核扣分"}
# A completion sheet's columns and their Chinese headers: the client reads a sheet's evidence
# column with them before sending it, without the database layer (engine/completions.py reads the rest).
COMPLETION_COLUMNS = ("unit", "task", "period", "done_at", "note", "evidence", "plan")
COMPLETION_ALIASES = {**{c: c for c in COMPLETION_COLUMNS}, "学校代码": "unit", "任务": "task", "期次": "period",
                      "完成日期": "done_at", "备注": "note", "佐证材料": "evidence", "计划发文单位": "plan"}
DEFAULT_NUMBER = "〔{year}〕{n}号"  # a notice's 发文字号 where calendar.yaml's notices: number_format names none


def document_number(number: str | None, style: dict) -> str:
    """The 发文字号 of an issued notice from its internal number YYYY-N, as the plan's number_format
    writes it (e.g. 教助〔2021〕3号); empty for a draft."""
    if not number:
        return ""
    year, n = number.split("-")
    return style.get("number_format", DEFAULT_NUMBER).format(year=year, n=n)


_PERIOD = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})", re.ASCII)


def period_of(text: str) -> str | None:
    """A task's period as a plan names it (YYYY-MM) from what a person types or a sheet holds:
    2021/5, 2021.5 and 2021-5 read as 2021-05; None where it is no period."""
    match = _PERIOD.fullmatch(text.strip())
    return f"{match[1]}-{int(match[2]):02d}" if match and 1 <= int(match[2]) <= 12 else None
