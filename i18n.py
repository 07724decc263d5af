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
from importlib import resources

LANGUAGES = ("zh", "en")
DOMAIN = "aidcal"
_state: dict = {"language": None, "catalog": None}


def use(language: str) -> None:
    """Speak `language` (zh or en) from now on, in this process."""
    if language not in LANGUAGES:
        raise ValueError(f"language '{language}' is not one of {', '.join(LANGUAGES)}")
    if language == "en":
        catalog = gettext.NullTranslations()
    else:
        with (resources.files("aidcal") / "locale" / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as f:
            catalog = gettext.GNUTranslations(f)
    _state.update(language=language, catalog=catalog)


def language() -> str:
    if _state["language"] is None:
        use("zh")
    return _state["language"]


def _(message: str) -> str:
    """`message` in the language in use."""
    if _state["catalog"] is None:
        use("zh")
    return _state["catalog"].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if _state["catalog"] is None:
        use("zh")
    return _state["catalog"].ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalog where it is translated later, where it is shown."""
    return message
