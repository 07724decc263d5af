"""Personal numbers as outputs and logs may show them (DOMAIN.md, PIPL): ID
340621********123X (first 6 + last 4), phone 139****5678 (a landline keeps its
area code), bank card first 6 + last 4; nothing is shown in full."""
from __future__ import annotations

import re

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def normalise_phone(raw: str) -> str | None:
    """A mobile (11 digits, +86 stripped) or a landline (area code + number);
    None when it is neither."""
    if len(raw) == 11 and raw.isdigit():  # the common case: a clean mobile number
        return raw if MOBILE_RE.match(raw) else None
    value = re.sub(r"[\s()（）]", "", raw)
    value = re.sub(r"^(\+86|0086|86(?=1\d{10}$))", "", value)
    if MOBILE_RE.match(value.replace("-", "")):
        return value.replace("-", "")
    if LANDLINE_RE.match(value):
        return value
    return None


def mask_phone(value: str) -> str:
    if len(value) == 11 and MOBILE_RE.match(value):  # a mobile as stored: nothing to strip
        return f"{value[:3]}****{value[-4:]}"
    digits = re.sub(r"\D", "", value)
    if MOBILE_RE.match(digits):
        return f"{digits[:3]}****{digits[-4:]}"
    if "-" in value:
        area, _, rest = value.partition("-")
        return f"{area}-{'*' * max(len(rest) - 2, 0)}{rest[-2:]}"
    return "*" * max(len(value) - 2, 0) + value[-2:]


PERSONAL_RE = re.compile(r"(?<![\dA-Za-z])\d{11,19}[\dXx]?(?![\dA-Za-z])")


def mask_personal(text: str) -> str:
    """Every run of 11 or more digits in a message (an ID number, a phone or a bank
    card typed where a case number, unit code or task belongs) masked: errors echo
    what the user gave, and that must never be a person's number in full."""
    return PERSONAL_RE.sub(_masked, text)


def _masked(match) -> str:
    value = match.group(0)
    return mask_phone(value) if len(value) == 11 else mask_number(value)


def mask_number(value: str) -> str:
    """An ID or bank-card number: the first 6 and last 4 characters only."""
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}" if len(value) > 10 else "*" * len(value)
