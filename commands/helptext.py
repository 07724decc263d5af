"""Help that fits the terminal in Chinese as in English.

click measures and wraps help by len() and breaks lines only at spaces: a Chinese
character takes two columns and a Chinese sentence has no spaces, so Chinese help
ran past 80 columns and wrapped nowhere. `use()` makes click measure by display
width, break between Chinese characters (never before a closing mark such as ，。）
nor after an opening one such as （), join a docstring's lines without a space
between two Chinese characters, and write its headings, usage prefix and
[default; required] marks in the catalog's punctuation.
"""
from __future__ import annotations

import re
import unicodedata

import click
from click import _textwrap, formatting
from click import core as click_core

from aidcal.i18n import N_, _

CLOSING = set("，。、；：？！）》」』】〕…％,.;:!?)]")  # never starts a line
OPENING = set("（《「『【〔([")  # never ends one
_UNITS = re.compile(r"[\x00-\x7f]+|.", re.S)  # an ASCII run stays whole; anything else breaks anywhere
_CJK_LINE_BREAK = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\n[ \t]*(?=[\u3000-\u9fff\uff00-\uffef])")
_EXTRAS = re.compile(r"^(?P<help>.*?) {2}\[(?P<extras>[^\[\]]*)\]$", re.S)
# click's own words that it never marks for translation, so extraction would miss them.
CLICK_WORDS = (N_("required"),)


def cells(text: str) -> int:
    """Columns `text` takes on a terminal: two for a wide (CJK) character, none for a combining one or an ANSI escape."""
    from click._compat import strip_ansi
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in strip_ansi(text))


class Wrapper(_textwrap.TextWrapper):
    """click's wrapper, breaking Chinese between characters and keeping punctuation with its word."""

    def _split(self, text: str) -> list[str]:
        units = []
        for chunk in super()._split(text):
            units += [chunk] if chunk.isascii() else _UNITS.findall(chunk)
        out: list[str] = []
        for unit in units:
            if out and not out[-1].isspace() and not unit.isspace() and (unit[0] in CLOSING or out[-1][-1] in OPENING):
                out[-1] += unit
            else:
                out.append(unit)
        return out

    def _handle_long_word(self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int) -> None:
        if not self.break_long_words:
            if not cur_line:
                cur_line.append(reversed_chunks.pop())
            return
        word, room, k = reversed_chunks[-1], max(width - cur_len, 1), 0
        while k < len(word) and cells(word[:k + 1]) <= room:
            k += 1
        k = k or (0 if cur_line else 1)  # a word wider than the line: at least one character per line
        cur_line.append(word[:k])
        reversed_chunks[-1] = word[k:]


class Formatter(click.HelpFormatter):
    """Headings, the usage prefix and the extras after an option's help, in the catalog's punctuation."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("{usage} ").format(usage=_("Usage:")) if prefix is None else prefix)

    def write_text(self, text: str) -> None:
        super().write_text(_CJK_LINE_BREAK.sub("", text))  # click joins a paragraph's lines with a space

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}" + _("{heading}:").format(heading=heading) + "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, _extras(text)) for term, text in rows], col_max, col_spacing)


def _extras(text: str) -> str:
    """`help  [default: x; required]` as the catalog writes it (（默认：x；必填） in Chinese)."""
    found = _EXTRAS.match(text)
    if found is None:
        return text
    items = found["extras"].split("; ")
    return found["help"] + _("  [{extras}]").format(extras=_("; ").join(items))


def _short_help(help: str, max_length: int = 45) -> str:
    """A command's line in its group's list: its first sentence, which in Chinese ends at 。 (click
    looks for ". " and cuts by characters, which in Chinese kept whole paragraphs or left only "...")."""
    first = help.partition("\n\n")[0]
    if first.isascii():
        return _original_short_help(help, max_length)
    sentence, end, _rest = " ".join(_CJK_LINE_BREAK.sub("", first).split()).partition("。")
    return sentence + end  # the list wraps it by columns


_original_short_help = click_core._make_default_short_help


def punctuated(message: str) -> str:
    """A click usage error in Chinese punctuation: click ends some sentences with a '.' of its own
    and puts a space before the next ("缺少选项 '--unit'." , "不存在命令 'lis'。 （…）")."""
    if message.isascii():
        return message
    return re.sub(r"(?<=[。，；：！？）])\s+", "", re.sub(r"\.(?=\s|$)", "。", message))


def use() -> None:
    """Measure and wrap click's help by display width (idempotent: the same patch every time)."""
    formatting.term_len = _textwrap.term_len = cells
    _textwrap.TextWrapper = Wrapper
    click.Context.formatter_class = Formatter
    click_core._make_default_short_help = _short_help
