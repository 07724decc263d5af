"""The message catalog, kept with Babel: extract every text a person reads, merge it into
locale/zh_CN/LC_MESSAGES/aidcal.po (translations kept), compile aidcal.mo.

    .venv/bin/python tools/messages.py        # or: make messages

Extracted: the `_()`, `ngettext()` and `N_()` calls in aidcal's code; the help of every
command and option (walked from the click tree, so docstrings need no marker); click's
own texts (Usage:, Options:, its usage errors), which the shell translates too.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_CN" / "LC_MESSAGES" / "aidcal.po"
MO = PO.with_suffix(".mo")
SOURCES = ["cli.py", "daemon.py", "i18n.py", "client.py", "server.py", "commands", "engine", "actions"]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def help_texts():
    """(text, where) for every command's and option's help."""
    import click

    import aidcal.cli as aidcal_cli

    def walk(command, path):
        for text in (command.help, command.short_help):
            if text:
                yield text, f"aidcal {path}".strip()
        for param in command.params:
            if isinstance(param, click.Option) and param.help:
                yield param.help, f"aidcal {path} {param.opts[0]}".strip()
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}".strip())
    yield from walk(aidcal_cli.cli, "")


def extract():
    """A Babel catalog of every message id, with where it comes from."""
    import click
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir, extract_from_file

    catalog = Catalog(project="aidcal", domain="aidcal", charset="utf-8")
    for source in SOURCES:
        path = ROOT / source
        found = extract_from_dir(path, keywords=KEYWORDS, comment_tags=()) if path.is_dir() else (
            (path.name, *m) for m in extract_from_file("python", path, keywords=KEYWORDS))
        for filename, lineno, message, _, _ in found:
            if "/migrations/" not in f"{source}/{filename}":
                catalog.add(message, locations=[(f"{source}/{filename}" if path.is_dir() else filename, lineno)])
    for text, where in help_texts():
        catalog.add(text, locations=[(where, 0)])
    click_dir = Path(click.__file__).parent
    for filename, lineno, message, _, _ in extract_from_dir(click_dir, keywords={"_": None, "ngettext": (1, 2)}):
        if not filename.startswith("_"):
            catalog.add(message, locations=[(f"click/{filename}", lineno)])
    return catalog


def merged():
    """The extracted catalog with the translations aidcal.po already has."""
    from babel.messages.pofile import read_po

    catalog = extract()
    if PO.exists():
        with open(PO, "rb") as f:
            old = read_po(f, locale="zh_CN")
        catalog.locale = old.locale
        for message in catalog:
            if message.id and (known := old.get(message.id)) is not None:
                message.string = known.string
    else:
        from babel import Locale
        catalog.locale = Locale.parse("zh_CN")
    return catalog


def untranslated(catalog) -> list:
    """The message ids with no Chinese (a plural needs every form)."""
    return [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else m.string and all(m.string))]


def main() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import write_po

    catalog = merged()
    PO.parent.mkdir(parents=True, exist_ok=True)
    with open(PO, "wb") as f:
        write_po(f, catalog, width=120, sort_output=False, include_previous=False)
    with open(MO, "wb") as f:
        write_mo(f, catalog)
    missing = untranslated(catalog)
    print(f"{PO.relative_to(ROOT)}: {len(catalog)} messages, {len(missing)} without a translation")
    sys.exit(0)


if __name__ == "__main__":
    main()
