"""Word documents that print Chinese correctly, and text made safe for Markdown."""
from __future__ import annotations

# Markup characters as their full-width forms: never markup in any Markdown a robot or a
# viewer renders (a backslash escape is not understood by every robot), and read the same.
_FULL_WIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "*_[]`<>#|~&"})


def markdown_text(value) -> str:
    """A name or title as Markdown shows it, never as markup: a school named
    "**停办**" or "[点此](http://…)" in a notice or a robot message stays its name."""
    return str(value).translate(_FULL_WIDTH)


def chinese_document():
    """A python-docx Document whose body font is 宋体: Word takes the East Asian
    font from its own attribute, which python-docx does not set by itself."""
    from docx import Document
    from docx.oxml.ns import qn

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"  # creates the run properties the next line needs
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    return doc
