"""Aid programmes and their standards (programmes.yaml), validated like calendar.yaml.

Standards change by term, so each rate carries the term it takes effect from
and a case takes the rate in force in its term: half the annual standard for
its level, times the non-boarder share where the programme has one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import located
from .errors import InputError
from .unit_types import TYPES, mask_of

LEVELS = {"special": "特别困难", "hard": "困难", "general": "一般困难"}
LEVEL_KEYS = {**{k: k for k in LEVELS}, **{zh: k for k, zh in LEVELS.items()}}
TERM_RE = re.compile(r"^(\d{4})-(spring|autumn)$")
PROGRAMME_KEYS = ("key", "title", "unit_types", "non_boarder_share", "workflow", "rates")


def term_order(term: str) -> tuple[int, int]:
    match = TERM_RE.match(term)
    if not match:
        raise InputError(f"term '{term}' is not YYYY-spring or YYYY-autumn")
    return int(match[1]), 0 if match[2] == "spring" else 1


@dataclass(frozen=True)
class Programme:
    key: str
    title: str
    type_mask: int
    non_boarder_share: float | None
    workflow: str
    rates: tuple[tuple[str, dict], ...]  # (term_from, {level or "any": annual yuan}), oldest first

    def rate(self, term: str) -> tuple[str, dict] | None:
        """The rate in force in `term`."""
        order = term_order(term)
        current = [r for r in self.rates if term_order(r[0]) <= order]
        return current[-1] if current else None

    def amount_fen(self, term: str, level: str, boarding: bool) -> int:
        """A case's standard for one term, in fen: half the annual standard."""
        rate = self.rate(term)
        if rate is None:
            raise InputError(f"programme {self.key} has no rate for {term} (its first rate is from {self.rates[0][0]})")
        amounts = rate[1]
        annual = amounts.get(level, amounts.get("any"))
        share = 1.0 if boarding or self.non_boarder_share is None else self.non_boarder_share
        return round(annual * 100 / 2 * share)


def parse(text: str, filename: str) -> dict[str, Programme]:
    doc = located.load(text, filename)
    problems, out = [], {}

    def error(line, message):
        problems.append(f"{filename}:{line}: {message}")

    items = doc.get("programmes") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError(f"{filename}:1: programmes: required, a list of programmes")
    for k, item in enumerate(items):
        line = items.item_lines[k]
        key = item.get("key") if isinstance(item, dict) else None
        where = f"programme {key}: "
        if not isinstance(key, str) or key in out:
            error(line, where + "key is required and must be unique")
            continue
        for field in item:
            if field not in PROGRAMME_KEYS:
                error(located.line_of(item, field), where + f"unknown key '{field}' (allowed: {', '.join(PROGRAMME_KEYS)})")
        types = item.get("unit_types") or []
        if not types or any(t not in TYPES for t in types):
            error(located.line_of(item, "unit_types"), where + f"unit_types must list unit types ({', '.join(TYPES)})")
        share = item.get("non_boarder_share")
        if share is not None and not (isinstance(share, (int, float)) and 0 < share <= 1):
            error(located.line_of(item, "non_boarder_share"), where + "non_boarder_share must be a fraction in (0, 1]")
        rates = []
        for j, rate in enumerate(item.get("rates") or []):
            rline = item["rates"].item_lines[j]
            term, amounts = str(rate.get("from", "")), rate.get("amounts")
            if not TERM_RE.match(term):
                error(rline, where + f"rate from '{term}' is not YYYY-spring or YYYY-autumn")
                continue
            if not isinstance(amounts, dict) or not amounts or any(
                    lv not in (*LEVELS, "any") or not isinstance(v, (int, float)) or v <= 0 for lv, v in amounts.items()):
                error(rline, where + "amounts must map levels (special, hard, general or any) to yuan per year")
                continue
            if "any" not in amounts and set(amounts) != set(LEVELS):
                error(rline, where + f"amounts must give every level ({', '.join(LEVELS)}) or any")
                continue
            rates.append((term, dict(amounts)))
        if not rates:
            error(line, where + "rates: at least one rate is required")
        rates.sort(key=lambda r: term_order(r[0]))
        out[key] = Programme(key, str(item.get("title", key)), mask_of(t for t in types if t in TYPES),
                             share, str(item.get("workflow", "student_aid")), tuple(rates))
    if problems:
        raise InputError(problems)
    return out
