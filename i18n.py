"""Every text a person reads, in Chinese first and in English on request (gettext).

Message ids are the English texts; `locale/zh_CN/LC_MESSAGES/aidcal.mo`, compiled with
Babel from `aidcal.po` (`make messages`), gives the Chinese. The shell chooses the language
once per process: `--lang`, else AIDCAL_LANG, else Chinese. The locale (LANG) is ignored,
so a server or CI with an English locale stays Chinese. Machine contracts never pass
through here: command and option names, JSON keys and values, CSV/XLSX column keys.
Documents and messages sent to schools are written in Chinese and are not translated.
"""
from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")
DOMAIN = "aidcal"
# A context variable, not a global: the server answers each request in its asker's language.
_speaking: ContextVar[str | None] = ContextVar("aidcal_language", default=None)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    with (resources.files("aidcal") / "locale" / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as f:
        return gettext.GNUTranslations(f)


def use(language: str) -> None:
    """Speak `language` (zh or en) from now on, in this process (or this request)."""
    if language not in LANGUAGES:
        raise ValueError(f"language '{language}' is not one of {', '.join(LANGUAGES)}")
    _speaking.set(language)


def language() -> str:
    return _speaking.get() or "zh"


def _(message: str) -> str:
    """`message` in the language in use."""
    return _catalog(language()).gettext(message)


def in_chinese(message: str) -> str:
    """`message` as the bureau's records keep it, whatever language the reader speaks (the audit log)."""
    return _catalog("zh").gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalog where it is translated later, where it is shown."""
    return message
