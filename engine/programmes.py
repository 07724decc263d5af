"""Aid programmes and their standards (programmes.yaml), validated like calendar.yaml.

Standards change by term, so each rate carries the term it takes effect from
and a case takes the rate in force in its term: half the annual standard for
its level (the whole of it for a programme awarded once a school year), times
the non-boarder share where the programme has one. Who is eligible is policy
too: whether an identification (认定) is required, which categories qualify
without a level, which non-boarders qualify, which grades a rate covers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from aidcal.i18n import _

from . import located
from .errors import InputError
from .unit_types import BUREAU, BUREAU_MASK, TYPES, mask_of

LEVELS = {"special": "特别困难", "hard": "困难", "general": "一般困难"}
LEVEL_KEYS = {**{k: k for k in LEVELS}, **{zh: k for k, zh in LEVELS.items()}}
NO_LEVEL = "不分等级"
TERM_RE = re.compile(r"^(\d{4})-(spring|autumn)$")
PROGRAMME_KEYS = ("key", "title", "unit_types", "workflow", "rates", "identification", "hardship_level",
                  "categories_without_level", "agricultural_without_level", "non_boarder_share",
                  "non_boarder_categories", "once_a_year", "supervision_phone", "by_category")
RATE_KEYS = ("from", "amounts", "grades")
AMOUNT_KEYS = (*LEVELS, "any", "without_level")
GRADE_RE = re.compile(r"([一二三1-3])\s*年级|^([一二三1-3])$|^高([一二三])$")
GRADE_NUMBERS = {"一": 1, "二": 2, "三": 3, "1": 1, "2": 2, "3": 3}


def level_title(key: str) -> str:
    return LEVELS.get(key, NO_LEVEL)


def term_order(term: str) -> tuple[int, int]:
    match = TERM_RE.match(term)
    if not match:
        raise InputError(_("term '{term}' is not YYYY-spring or YYYY-autumn").format(term=term))
    return int(match[1]), 0 if match[2] == "spring" else 1


def school_year(term: str) -> int:
    """The school year a term belongs to, named by the autumn it starts in:
    2021-autumn and 2022-spring are the school year 2021."""
    year, half = term_order(term)
    return year if half else year - 1


def grade_number(grade: str) -> int | None:
    """一年级 / 1年级 / 高一 / 1 → 1; None when the text names no grade 1–3."""
    match = GRADE_RE.search(grade.strip())
    return GRADE_NUMBERS[next(g for g in match.groups() if g)] if match else None


@dataclass(frozen=True)
class Rate:
    term_from: str
    amounts: dict  # level, "any" or "without_level" → annual yuan
    grades: tuple[int, ...] | None = None  # the grades it covers (None: every grade)


@dataclass(frozen=True)
class Programme:
    key: str
    title: str
    type_mask: int
    non_boarder_share: float | None
    workflow: str
    rates: tuple[Rate, ...]  # oldest first
    identification: bool = False  # a case needs the student's identification for the school year
    hardship_level: bool = True  # False: merit-based, no hardship level at all
    categories_without_level: tuple[str, ...] = ()  # categories that make a student eligible without a level
    agricultural_without_level: bool = False  # 涉农专业 students are covered without a level
    non_boarder_categories: tuple[str, ...] = ()  # non-boarders qualify only with one of these (empty: all)
    once_a_year: bool = False  # the whole annual standard, once a school year, in its autumn term
    supervision_phone: str | None = None  # the donor's phone for objections, shown on the publicity list
    by_category: bool = False  # eligibility goes by category: one of categories_without_level is required

    def rate(self, term: str) -> Rate | None:
        """The rate in force in `term`."""
        order = term_order(term)
        current = [r for r in self.rates if term_order(r.term_from) <= order]
        return current[-1] if current else None

    def amount_fen(self, term: str, level: str, boarding: bool) -> int:
        """A case's standard for one term, in fen: half the annual standard (all of it
        for a once-a-year award); a student without a level takes `without_level` or `any`."""
        rate = self.rate(term)
        if rate is None:
            raise InputError(_("programme {programme} has no rate for {term} (its first rate is from {first})").format(
                programme=self.key, term=term, first=self.rates[0].term_from))
        amounts = rate.amounts
        annual = amounts.get(level) if level else amounts.get("without_level")
        annual = annual if annual is not None else amounts.get("any", 0)
        share = 1.0 if boarding or self.non_boarder_share is None else self.non_boarder_share
        return round(annual * 100 * share / (1 if self.once_a_year else 2))

    def unlevelled_amount(self, term: str) -> bool:
        """Whether a student without a level has an amount in `term`."""
        rate = self.rate(term)
        return rate is not None and ("any" in rate.amounts or "without_level" in rate.amounts)


def parse(text: str, filename: str) -> dict[str, Programme]:
    from .identification import CATEGORIES  # the fixed list a programme's categories come from

    doc = located.load(text, filename)
    problems, out = [], {}

    def error(line, message):
        problems.append(_("{file}:{line}: {problem}").format(file=filename, line=line, problem=message))

    def categories(item, field, where):
        value = item.get(field) or []
        bad = [v for v in value if v not in CATEGORIES] if isinstance(value, list) else [value]
        if bad:
            error(located.line_of(item, field), where + _("{field}: '{category}' is not a category ({allowed})").format(
                field=field, category=bad[0], allowed=_(", ").join(CATEGORIES)))
        return tuple(v for v in value if v in CATEGORIES) if isinstance(value, list) else ()

    items = doc.get("programmes") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(_("{file}:1: programmes: required, a list of programmes").format(file=filename))
    for k, item in enumerate(items):
        line = items.item_lines[k]
        key = item.get("key") if isinstance(item, dict) else None
        where = _("programme {programme}: ").format(programme=key)
        if not isinstance(key, str) or key in out:
            error(line, where + _("key is required and must be unique"))
            continue
        for field in item:
            if field not in PROGRAMME_KEYS:
                error(located.line_of(item, field), where + _("unknown key '{key}' (allowed: {allowed})").format(
                    key=field, allowed=_(", ").join(PROGRAMME_KEYS)))
        types = item.get("unit_types") or []
        if not types or any(t not in TYPES and t != BUREAU for t in types):
            error(located.line_of(item, "unit_types"), where + _("unit_types must list unit types ({types}) or bureau").format(
                types=_(", ").join(TYPES)))
        share = item.get("non_boarder_share")
        if share is not None and not (isinstance(share, (int, float)) and 0 < share <= 1):
            error(located.line_of(item, "non_boarder_share"), where + _("non_boarder_share must be a fraction in (0, 1]"))
        ident = item.get("identification", "none")
        if ident not in ("required", "none"):
            error(located.line_of(item, "identification"), where + _("identification '{value}' is not allowed (required, none)").format(
                value=ident))
        for flag in ("hardship_level", "agricultural_without_level", "once_a_year", "by_category"):
            if flag in item and not isinstance(item[flag], bool):
                error(located.line_of(item, flag), where + _("{key} must be true or false").format(key=flag))
        phone = item.get("supervision_phone")
        if phone is not None and not (isinstance(phone, str) and re.match(r"^[0-9-]{7,20}$", phone)):
            error(located.line_of(item, "supervision_phone"), where + _("supervision_phone must be a phone number, e.g. 0913-2123456"))
        rates = []
        for j, rate in enumerate(item.get("rates") or []):
            rline = item["rates"].item_lines[j]
            if not isinstance(rate, dict):
                error(rline, where + _("a rate is a mapping of from, amounts and grades"))
                continue
            for field in rate:
                if field not in RATE_KEYS:
                    error(rline, where + _("rate: unknown key '{key}' (allowed: {allowed})").format(key=field, allowed=_(", ").join(RATE_KEYS)))
            term, amounts, grades = str(rate.get("from", "")), rate.get("amounts"), rate.get("grades")
            if not TERM_RE.match(term):
                error(rline, where + _("rate from '{term}' is not YYYY-spring or YYYY-autumn").format(term=term))
                continue
            if not isinstance(amounts, dict) or not amounts or any(
                    lv not in AMOUNT_KEYS or not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0
                    for lv, v in amounts.items()):
                error(rline, where + _("amounts must map {keys} to yuan per year").format(keys=_(", ").join(AMOUNT_KEYS)))
                continue
            if "any" not in amounts and not set(LEVELS) <= set(amounts):
                error(rline, where + _("amounts must give every level ({levels}) or any").format(levels=_(", ").join(LEVELS)))
                continue
            if grades is not None and not (isinstance(grades, list) and grades and all(g in (1, 2, 3) for g in grades)):
                error(rline, where + _("grades must list grades 1, 2 or 3"))
                continue
            rates.append(Rate(term, dict(amounts), tuple(grades) if grades else None))
        if not rates:
            error(line, where + _("rates: at least one rate is required"))
        rates.sort(key=lambda r: term_order(r.term_from))
        mask = mask_of(t for t in types if t in TYPES) | (BUREAU_MASK if BUREAU in types else 0)
        out[key] = Programme(
            key, str(item.get("title", key)), mask, share, str(item.get("workflow", "student_aid")), tuple(rates),
            identification=ident == "required", hardship_level=item.get("hardship_level", True) is not False,
            categories_without_level=categories(item, "categories_without_level", where),
            agricultural_without_level=item.get("agricultural_without_level") is True,
            non_boarder_categories=categories(item, "non_boarder_categories", where),
            once_a_year=item.get("once_a_year") is True, supervision_phone=phone, by_category=item.get("by_category") is True)
    if problems:
        raise InputError(problems)
    return out
