"""A notice (通报) as a 公文 a bureau signs and sends (GB/T 9704-2012): DOCX, or
Markdown with the same content. Rendered at export time from what the engine
recorded and calendar.yaml's `notices:` head; nothing is decided here.

版头: the masthead (发文机关标志) in red 方正小标宋简体, the document number (发文字号,
e.g. 教助〔2021〕3号) and a red line; 主体: the title in 2号 方正小标宋简体, the
addressee (主送机关), the body in 3号 仿宋_GB2312, the late work as a table (or, when
long, as an attachment, 附件), the authority's name and the date written 2021年4月30日.
"""
from __future__ import annotations

from pathlib import Path

from aidcal.engine.vocabulary import document_number as number_as_written

from .documents import BODY_FONT, HEADING_FONT, RED, SIZES, TITLE_FONT, chinese_date, markdown_text, official_document, set_font
from .exports import replacing

HEAD = ["学校代码", "学校名称", "乡镇", "逾期工作", "期次", "截止日期", "整改期限"]
WIDTHS_MM = [24, 26, 16, 27, 17, 23, 23]  # sum 156: 10-digit codes and dates (五号 Times New Roman) never break
ATTACHED_AFTER = 15  # a longer list goes into the attachment (附件)
ATTACHMENT_TITLE = "学生资助工作滞后单位名单"


def document_number(notice: dict) -> str:
    """A notice's 发文字号 (engine/vocabulary.py), empty for a draft."""
    return number_as_written(notice["number"], notice["style"])


def _masthead(notice: dict, authority_name: str) -> str:
    return notice["style"].get("masthead", f"{authority_name}文件")


def _title(authority_name: str) -> str:
    return f"{authority_name}关于学生资助工作滞后单位的通报"


def _addressee(notice: dict) -> str:
    return notice["style"].get("addressee", "各学校、幼儿园：")


def _rows(notice: dict) -> list[list[str]]:
    return [[x["unit"], x["unit_name"], x["town"], x["title"], x["period"], x["due"], x["rectify_by"] or "签发后确定"]
            for x in notice["items"]]


def _body(notice: dict, attached: bool) -> list[str]:
    units = len({x["unit"] for x in notice["items"]})
    listed = f"《{ATTACHMENT_TITLE}》（见附件）" if attached else "下表"
    deadlines = {x["rectify_by"] for x in notice["items"]}
    by = f"于{chinese_date(deadlines.pop())}前" if len(deadlines) == 1 and None not in deadlines else "于整改期限前"
    return [f"经查，截至{chinese_date(notice['drafted_on'])}，{units}个单位未按时间节点完成学生资助月度工作任务，"
            f"具体情况见{listed}。现予以通报。",
            f"请相关单位高度重视，{by}完成整改并上传佐证材料。逾期未整改的，将约谈单位负责人并在年度考核中扣分。"]


def _date(notice: dict) -> str:
    return chinese_date(notice["issued_on"] or notice["drafted_on"])


def _status(notice: dict) -> str:
    return "" if notice["number"] else "（草稿，未签发）"


def write_markdown(notice: dict, authority_name: str, path: Path) -> None:
    attached = len(notice["items"]) > ATTACHED_AFTER
    table = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    table += ["| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in _rows(notice)]
    lines = [f"**{markdown_text(_masthead(notice, authority_name))}**", "", document_number(notice) or _status(notice), "",
             "---", "", f"# {markdown_text(_title(authority_name))}", "", markdown_text(_addressee(notice)), "",
             *(p for text in _body(notice, attached) for p in (markdown_text(text), ""))]
    if attached:
        lines += [f"附件：{ATTACHMENT_TITLE}", ""]
    else:
        lines += [*table, ""]
    lines += [markdown_text(authority_name), _date(notice), ""]
    if attached:
        lines += ["附件", "", f"## {ATTACHMENT_TITLE}", "", *table, ""]
    with replacing(path) as temporary:
        temporary.write_text("\n".join(lines), encoding="utf-8")


def _paragraph(doc, text: str, font: str = BODY_FONT, size: str = "3号", align=None, indent: bool = False,
               color: str | None = None, bold: bool | None = None):
    from docx.shared import Pt

    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(SIZES[size] * 2)  # 首行缩进二字
    paragraph.paragraph_format.line_spacing = Pt(28)  # 每面 22 行
    set_font(paragraph.add_run(text), font, SIZES[size], color=color, bold=bold)
    return paragraph


def _title_paragraph(doc, title: str) -> None:
    """The title in 2号 小标宋, centred; a title longer than a line breaks after 关于, so the
    lines stand as the standard asks (梯形或菱形), never leaving one character alone."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    head, sep, rest = title.partition("关于")
    lines = [head + sep, rest] if sep and len(title) > 19 else [title]
    paragraph = _paragraph(doc, lines[0], TITLE_FONT, "2号", WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.line_spacing = None
    for line in lines[1:]:
        run = paragraph.add_run()
        run.add_break()
        set_font(run, TITLE_FONT, SIZES["2号"])
        run.add_text(line)


def _red_line(paragraph) -> None:
    """The 版头's red separator: a bottom border on the paragraph of the document number."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "8"), ("w:color", RED)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _keep_row(row, header: bool) -> None:
    """A row never splits across pages; the header row repeats on every page."""
    from docx.oxml import OxmlElement

    properties = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", *(("w:tblHeader",) if header else ())):
        properties.append(OxmlElement(tag))


def _table(doc, rows: list[list[str]]) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Mm

    table = doc.add_table(rows=1, cols=len(HEAD))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for row in ([HEAD] + rows):
        line = table.rows[0] if row is HEAD else table.add_row()
        _keep_row(line, header=row is HEAD)
        cells = line.cells
        for cell, text, width in zip(cells, row, WIDTHS_MM):
            cell.width = Mm(width)
            cell.paragraphs[0].text = ""
            set_font(cell.paragraphs[0].add_run(text), HEADING_FONT if row is HEAD else BODY_FONT, SIZES["5号"])
    for column, width in zip(table.columns, WIDTHS_MM):
        column.width = Mm(width)


def write_docx(notice: dict, authority_name: str, path: Path) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    attached = len(notice["items"]) > ATTACHED_AFTER
    doc = official_document()
    _paragraph(doc, _masthead(notice, authority_name), TITLE_FONT, "小初", center, color=RED)
    _paragraph(doc, "")
    _red_line(_paragraph(doc, document_number(notice) or _status(notice), align=center))
    _paragraph(doc, "")
    _title_paragraph(doc, _title(authority_name))
    _paragraph(doc, "")
    _paragraph(doc, _addressee(notice))
    for text in _body(notice, attached):
        _paragraph(doc, text, indent=True)
    if attached:
        _paragraph(doc, "")
        _paragraph(doc, f"附件：{ATTACHMENT_TITLE}", indent=True)
    else:
        _table(doc, _rows(notice))
    _paragraph(doc, "")
    _paragraph(doc, authority_name + "　　　　", align=right)
    _paragraph(doc, _date(notice) + "　　　　", align=right)  # 成文日期右空四字
    if attached:
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _paragraph(doc, "附件", HEADING_FONT)
        _paragraph(doc, ATTACHMENT_TITLE, TITLE_FONT, "2号", center)
        _table(doc, _rows(notice))
    with replacing(path) as temporary:
        doc.save(temporary)
