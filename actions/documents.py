"""Documents as a bureau prints them (GB/T 9704-2012, 党政机关公文格式), and text
made safe for Markdown.

Every DOCX aidcal writes is A4 with the standard's margins (top 37, bottom 35,
left 28, right 26 mm), body 3号 仿宋_GB2312, and page numbers "— 1 —" in 4号
宋体, odd pages right, even pages left. Font names are those Word expects;
LibreOffice maps them to the CJK fonts it has.
"""
from __future__ import annotations

# Markup characters as their full-width forms: never markup in any Markdown a robot or a
# viewer renders (a backslash escape is not understood by every robot), and read the same.
_FULL_WIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "*_[]`<>#|~&"})

TITLE_FONT = "方正小标宋简体"  # 标题, 发文机关标志
BODY_FONT = "仿宋_GB2312"  # 正文
HEADING_FONT = "黑体"  # 附件 label, first-level headings
PAGE_FONT = "宋体"  # page numbers
SIZES = {"2号": 22, "3号": 16, "4号": 14, "5号": 10.5, "小初": 36}
RED = "E60012"  # 发文机关标志 and the red line beneath the 版头


def markdown_text(value) -> str:
    """A name or title as Markdown shows it, never as markup: a school named
    "**停办**" or "[点此](http://…)" in a notice or a robot message stays its name."""
    return str(value).translate(_FULL_WIDTH)


def chinese_date(iso: str) -> str:
    """2026-01-30 → 2026年1月30日 (the 成文日期 of GB/T 9704: Arabic numerals, no leading zeros)."""
    year, month, day = (int(x) for x in iso.split("-"))
    return f"{year}年{month}月{day}日"


def set_font(run_or_style, east_asian: str, size_pt: float | None = None, latin: str = "Times New Roman",
             bold: bool | None = None, color: str | None = None) -> None:
    """Fonts on a run or a style: Word reads the East Asian font from its own attribute."""
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    font = run_or_style.font
    font.name = latin  # creates the run properties the next line needs
    element = run_or_style.element
    element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)
    if size_pt:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold
    if color:
        font.color.rgb = RGBColor.from_string(color)


def _page_number(paragraph) -> None:
    """"— N —" with a PAGE field, in 4号 宋体."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def run(text=None, field=None):
        r = paragraph.add_run(text or "")
        set_font(r, PAGE_FONT, SIZES["4号"], latin="宋体")
        if field:
            for kind, instr in (("begin", None), (None, field), ("end", None)):
                if kind:
                    node = OxmlElement("w:fldChar")
                    node.set(qn("w:fldCharType"), kind)
                else:
                    node = OxmlElement("w:instrText")
                    node.set(qn("xml:space"), "preserve")
                    node.text = instr
                r._r.append(node)
    run("— ")
    run(field=" PAGE ")
    run(" —")


def official_document():
    """A python-docx Document on the page of GB/T 9704-2012: A4, its margins, body 3号
    仿宋_GB2312, page numbers in the footer (odd pages right, even pages left)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    doc = Document()
    set_font(doc.styles["Normal"], BODY_FONT, SIZES["3号"])
    doc.styles["Normal"].paragraph_format.space_after = 0
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28) - Mm(7)  # the page number sits 7 mm below the text block
    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        _page_number(paragraph)
    return doc


def text_width_mm() -> float:
    """The width of the text block on the standard's page: 210 − 28 − 26 mm."""
    return 156.0
