"""Word documents that print Chinese correctly."""
from __future__ import annotations


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
