"""calendar.yaml checked into the specs of engine/calendar.py.

Validation collects every problem with file:line, the task and the field, so a
typo never silently drops a task: unknown keys are errors, and a file is fixed
in one pass.
"""
from __future__ import annotations

import calendar as _stdcal
import re
from datetime import date, datetime

from aidcal.i18n import _

from . import located
from .calendar import (
    AUTHORITY_KEYS,
    COMPLETES_KEYS,
    KEY_RE,
    LADDER_KEYS,
    MMDD_RE,
    NOTICE_KEYS,
    NUMBER_FIELDS,
    TASK_KEYS,
    TIMEZONE,
    TOP_KEYS,
    WORKDAY_KEYS,
    Ladder,
    PlanSpec,
    TaskSpec,
)
from .errors import InputError
from .unit_types import BUREAU, TYPES, allowed
from .workdays import ROLL_POLICIES


class Validator:
    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[str] = []

    def error(self, line: int, message: str) -> None:
        self.problems.append(_("{file}:{line}: {problem}").format(file=self.filename, line=line, problem=message))

    def unknown_keys(self, mapping, allowed, where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.error(located.line_of(mapping, key), where + _("unknown key '{key}' (allowed: {allowed})").format(
                    key=key, allowed=_(", ").join(allowed)))

    def plan(self, doc, year_override: int | None, default_year: int | None) -> PlanSpec:
        if not isinstance(doc, dict):
            raise InputError(_("{file}:1: the plan must be a mapping of {keys}").format(file=self.filename, keys=_(", ").join(TOP_KEYS)))
        self.unknown_keys(doc, TOP_KEYS, "")
        if doc.get("version", 1) != 1:
            self.error(located.line_of(doc, "version"),
                       _("version {version!r} is not supported (allowed: 1)").format(version=doc.get("version")))
        year = year_override if year_override is not None else doc.get("year")
        if year is not None and (not isinstance(year, int) or not 2000 <= year <= 2100):
            self.error(located.line_of(doc, "year"), _("year {year!r} is not a year (allowed: 2000..2100)").format(year=year))
            year = None
        check_year = year or default_year
        if check_year is None:
            raise InputError(_("{file}:1: year: the plan names no year; give year:, --year or --as-of").format(file=self.filename))
        timezone = doc.get("timezone", TIMEZONE)
        if timezone != TIMEZONE:  # the key is kept for files that have it; a bureau's days are Beijing time
            self.error(located.line_of(doc, "timezone"), _("timezone '{timezone}' is not allowed: aidcal's dates are "
                                                           "{zone} (北京时间); remove the key or write {zone}").format(
                timezone=timezone, zone=TIMEZONE))
        roll = doc.get("roll", "forward")
        if roll not in ROLL_POLICIES:
            self.error(located.line_of(doc, "roll"), _("roll '{roll}' is not allowed (allowed: {allowed})").format(
                roll=roll, allowed=_(", ").join(ROLL_POLICIES)))
        code, name, phone = self.authority(doc)
        holidays, workdays = self.overrides(doc.get("workdays"), doc)
        ladder = self.ladder(doc.get("ladder"), Ladder(), doc, "ladder", _("ladder: "))
        sign_off, notice_style = self.notices(doc)
        evidence_max_mb = self.evidence(doc)
        tasks = self.tasks(doc, check_year, ladder)
        if self.problems:
            raise InputError(self.problems)
        return PlanSpec(self.filename, code, name, year, str(timezone), roll, holidays, workdays, sign_off, tasks,
                        evidence_max_mb, phone, notice_style)

    def evidence(self, doc) -> int | None:
        """`evidence: {max_mb: N}`: the largest evidence file accepted, 1..2048 MB."""
        node = doc.get("evidence")
        if node is None:
            return None
        if not isinstance(node, dict):
            self.error(located.line_of(doc, "evidence"), _("evidence: must be a mapping with max_mb: N"))
            return None
        self.unknown_keys(node, ("max_mb",), _("evidence: "))
        value = node.get("max_mb")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2048:
            self.error(located.line_of(node, "max_mb"),
                       _("evidence: max_mb {value!r} is not allowed (1..2048 MB)").format(value=value))
            return None
        return value

    def ladder(self, node, base: Ladder, parent, field: str, where: str) -> Ladder:
        """A ladder mapping over `base`: only the rungs given change."""
        if node is None:
            return base
        if not isinstance(node, dict):
            self.error(located.line_of(parent, field), where + _("must be a mapping of {keys}").format(keys=_(", ").join(LADDER_KEYS)))
            return base
        self.unknown_keys(node, LADDER_KEYS, where)
        values = base.as_dict()
        for key in LADDER_KEYS:
            if key not in node:
                continue
            value = node[key]
            if key == "start":
                if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                    self.error(located.line_of(node, key), where + _("start {value!r} is not a date (YYYY-MM-DD)").format(value=value))
                else:
                    values[key] = value
                continue
            lowest = 1 if key in ("heads_up", "escalate") else 0
            if (value is None and key == "heads_up") or (isinstance(value, int) and not isinstance(value, bool)
                                                          and lowest <= value <= 60):
                values[key] = value
            else:
                allowed = (_("{lowest}..60 working days, or null for none") if key == "heads_up"
                           else _("{lowest}..60 working days")).format(lowest=lowest)
                self.error(located.line_of(node, key), where + _("{key} {value!r} is not allowed ({allowed})").format(
                    key=key, value=value, allowed=allowed))
        if values["notice"] < values["reminder"]:
            self.error(located.line_of(node), where + _("notice ({notice}) comes before reminder ({reminder})").format(
                notice=values["notice"], reminder=values["reminder"]))
        return Ladder(**values)

    def notices(self, doc) -> tuple[bool, dict]:
        """`notices:` sign_off, and how the 公文 is headed: number_format (e.g. 教助〔{year}〕{n}号),
        masthead (发文机关标志, default: the authority's name + 文件), addressee (主送机关)."""
        node = doc.get("notices")
        if node is None:
            return True, {}
        if not isinstance(node, dict):
            self.error(located.line_of(doc, "notices"), _("notices: must be a mapping with sign_off: true|false"))
            return True, {}
        self.unknown_keys(node, NOTICE_KEYS, _("notices: "))
        value = node.get("sign_off", True)
        if not isinstance(value, bool):
            self.error(located.line_of(node, "sign_off"),
                       _("notices: sign_off {value!r} is not allowed (allowed: true, false)").format(value=value))
        style = {}
        for key, limit in (("number_format", 40), ("masthead", 30), ("addressee", 80)):
            if key not in node:
                continue
            text = node[key]
            if not isinstance(text, str) or not text.strip() or len(text) > limit or not text.isprintable():
                self.error(located.line_of(node, key),
                           _("notices: {key} must be text of at most {limit} characters").format(key=key, limit=limit))
                continue
            style[key] = text.strip()
        number = style.get("number_format")
        if number is not None:
            fields = set(re.findall(r"{([^{}]*)}", number))
            if "n" not in fields or fields - NUMBER_FIELDS or number.count("{") != number.count("}"):
                self.error(located.line_of(node, "number_format"), _("notices: number_format must hold {n} (the notice's "
                           "number in its year) and may hold {year}, e.g. 教助〔{year}〕{n}号"))
                style.pop("number_format")
        return value is not False, style

    def authority(self, doc) -> tuple[str, str, str]:
        auth = doc.get("authority")
        if not isinstance(auth, dict):
            self.error(located.line_of(doc, "authority" if "authority" in doc else None),
                       _("authority: required, a mapping with code (administrative code) and name"))
            return "", "", ""
        self.unknown_keys(auth, AUTHORITY_KEYS, _("authority: "))
        for key in AUTHORITY_KEYS:
            if key in auth and not isinstance(auth[key], str | int) or isinstance(auth.get(key), bool):
                self.error(located.line_of(auth, key), _("authority: {key} must be text, not {kind}").format(key=key, kind=located.kind(auth[key])))
        code, name = str(auth.get("code", "")).strip(), str(auth.get("name", "")).strip()
        phone = str(auth.get("phone", "")).strip()
        if phone and not re.fullmatch(r"[0-9-]{7,20}", phone):
            self.error(located.line_of(auth, "phone"), _("authority: phone must be a phone number, e.g. 0561-6012345 "
                                                         "(the county's supervision phone on publicity lists)"))

        if not re.fullmatch(r"\d{6}", code):
            self.error(located.line_of(auth, "code"),
                       _("authority: code '{code}' is not a 6-digit administrative code").format(code=code))
        if not name:
            self.error(located.line_of(auth, "name"), _("authority: name is required (e.g. 濉溪县教育局)"))
        return code, name, phone

    def overrides(self, node, doc) -> tuple[frozenset, frozenset]:
        if node is None:
            return frozenset(), frozenset()
        if not isinstance(node, dict):
            self.error(located.line_of(doc, "workdays"), _("workdays: must be a mapping with holidays and workdays lists"))
            return frozenset(), frozenset()
        self.unknown_keys(node, WORKDAY_KEYS, _("workdays: "))
        sets = []
        for field in WORKDAY_KEYS:
            items = node.get(field) or []
            if not isinstance(items, list):
                self.error(located.line_of(node, field),
                           _("workdays: {field} must be a list of dates (YYYY-MM-DD)").format(field=field))
                items = []
            good = set()
            for i, item in enumerate(items):
                if isinstance(item, date):
                    good.add(item)
                else:
                    self.error(items.item_lines[i],
                               _("workdays: {field}: '{item}' is not a date (YYYY-MM-DD)").format(field=field, item=item))
            sets.append(frozenset(good))
        for day in sorted(sets[0] & sets[1]):
            self.error(located.line_of(node), _("workdays: {day} is listed both as a holiday and as a workday").format(day=day))
        return sets[0], sets[1]

    def tasks(self, doc, year: int, ladder: Ladder) -> tuple[TaskSpec, ...]:
        items = doc.get("tasks")
        if not isinstance(items, list) or not items:
            self.error(located.line_of(doc, "tasks" if "tasks" in doc else None), _("tasks: required, a non-empty list of tasks"))
            return ()
        seen: dict[str, int] = {}
        out = []
        for i, item in enumerate(items):
            line = items.item_lines[i]
            if not isinstance(item, dict):
                self.error(line, _("tasks: each item must be a mapping with key, title, who and a schedule"))
                continue
            task = self.task(item, line, year, ladder)
            if task is None:
                continue
            if task.key in seen:
                self.error(line, _("task {task}: key is already used by the task at line {line}").format(task=task.key, line=seen[task.key]))
            seen.setdefault(task.key, line)
            out.append(task)
        return tuple(out)

    def task(self, item, line: int, year: int, default_ladder: Ladder) -> TaskSpec | None:
        key = item.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            self.error(located.line_of(item, "key" if "key" in item else None),
                       _("task #{line}: key {key!r} must be lowercase letters, digits and '-' (e.g. spring-payout)").format(line=line, key=key))
            key = f"#{line}"
        where = _("task {task}: ").format(task=key)
        before = len(self.problems)
        self.unknown_keys(item, TASK_KEYS, where)
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            self.error(located.line_of(item, "title" if "title" in item else None),
                       where + _("title is required (the plan's own words)"))
        elif re.search(r"\{(?!year\})", title):
            self.error(located.line_of(item, "title"), where + _("title may use only the placeholder {year}"))
        who = self.who(item, where)
        months, day = self.schedule(item, where, year)
        evidence = item.get("evidence")
        if evidence is not None and (not isinstance(evidence, str) or not evidence.strip()):
            self.error(located.line_of(item, "evidence"), where + _("evidence must describe what to attach (e.g. 签字发放花名册)"))
        roll = item.get("roll")
        if roll is not None and roll not in ROLL_POLICIES:
            self.error(located.line_of(item, "roll"), where + _("roll '{roll}' is not allowed (allowed: {allowed})").format(
                roll=roll, allowed=_(", ").join(ROLL_POLICIES)))
        ladder = self.ladder(item.get("ladder"), default_ladder, item, "ladder", where + _("ladder: "))
        completes = self.completes_from(item, where)
        if len(self.problems) > before:
            return None
        return TaskSpec(key, title.strip(), who, months, day, evidence, roll, ladder, completes, line)

    def completes_from(self, item, where: str) -> dict | None:
        """A task done by the cases: every approved case of the programmes in the
        plan year's term has reached the state (e.g. payout)."""
        node = item.get("completes_from")
        if node is None:
            return None
        line = located.line_of(item, "completes_from")
        if not isinstance(node, dict):
            self.error(line, where + _("completes_from must be a mapping of {keys}").format(keys=_(", ").join(COMPLETES_KEYS)))
            return None
        self.unknown_keys(node, COMPLETES_KEYS, where + _("completes_from: "))
        programmes, term, state = node.get("programmes"), node.get("term"), node.get("state")
        if not isinstance(programmes, list) or not programmes or not all(isinstance(p, str) for p in programmes):
            self.error(line, where + _("completes_from: programmes must list programme keys (programmes.yaml)"))
        if term not in ("spring", "autumn"):
            self.error(line, where + _("completes_from: term {term!r} is not allowed (spring, autumn)").format(term=term))
        if not isinstance(state, str):
            self.error(line, where + _("completes_from: state must name a case state (e.g. payout)"))
        return {"programmes": programmes, "term": term, "state": state}

    def who(self, item, where: str) -> tuple[str, ...]:
        value = item.get("who")
        line = located.line_of(item, "who" if "who" in item else None)
        choices = _("allowed: bureau, all, or a list of unit types ({types}), with bureau for the bureau's own share").format(types=allowed())
        if value is None:
            self.error(line, where + _("who is required ({allowed})").format(allowed=choices))
            return ()
        if value == BUREAU:
            return (BUREAU,)
        if value == "all":
            return tuple(TYPES)
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in TYPES and v not in ("all", BUREAU)]
        if bad or not values:
            self.error(line, where + _("who {value!r} is not allowed ({allowed})").format(value=bad[0] if bad else value, allowed=choices))
            return ()
        expanded = [t for v in values for t in (TYPES if v == "all" else (v,))]
        return tuple(dict.fromkeys(expanded))

    def schedule(self, item, where: str, year: int) -> tuple[tuple[int, ...], int | str]:
        if "due" in item:
            for field in ("months", "day"):
                if field in item:
                    self.error(located.line_of(item, field),
                               where + _("{field} cannot be used with due (due is one date; months/day repeat)").format(field=field))
            return self.due(item, where, year)
        if "months" not in item:
            self.error(located.line_of(item), where + _("a schedule is required: due: MM-DD, or months: [..] with day: N|end"))
            return (), "end"
        months = item["months"]
        line = located.line_of(item, "months")
        if months == "all":
            months = list(range(1, 13))
        if not isinstance(months, list) or not months or any(not isinstance(m, int) or not 1 <= m <= 12 for m in months):
            self.error(line, where + _("months {months!r} is not allowed (allowed: all, or a list of 1..12)").format(months=months))
            return (), "end"
        if len(set(months)) != len(months):
            self.error(line, where + _("months lists a month twice"))
        day = item.get("day", "end")
        line = located.line_of(item, "day")
        if day != "end":
            if not isinstance(day, int) or not 1 <= day <= 31:
                self.error(line, where + _("day {day!r} is not allowed (allowed: 1..31 or end)").format(day=day))
                return (), "end"
            for month in months:
                if day > _stdcal.monthrange(year, month)[1]:
                    self.error(line, where + _("day {day} is not a date in {year}-{month:02d} (use end for the month's last day)")
                               .format(day=day, year=year, month=month))
                    break
        return tuple(sorted(months)), day

    def due(self, item, where: str, year: int) -> tuple[tuple[int, ...], int | str]:
        due = item["due"]
        line = located.line_of(item, "due")
        match = MMDD_RE.match(due) if isinstance(due, str) else None
        if match is None:
            self.error(line, where + _("due {due!r} is not allowed (allowed: MM-DD, e.g. 05-25; the year comes from year:, "
                                       "--year or --as-of)").format(due=str(due)))
            return (), "end"
        month, day = int(match[1]), int(match[2])
        try:
            date(year, month, day)
        except ValueError:
            self.error(line, where + _("due '{due}' is not a date in {year}").format(due=due, year=year))
            return (), "end"
        return (month,), day
